package commands

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/referralbot/referralbot/referral"
)

// maxCustomIDLen is Discord's limit for a component or modal custom_id.
const maxCustomIDLen = 100

// Routes of buttons and modals. A custom_id is a path: the route, then an
// id, then for some routes one more segment (see customID.String).
const (
	routeOfferAccept   = "offer/accept"        // offer/accept/{offerID}
	routeOfferDecline  = "offer/decline"       // offer/decline/{offerID}
	routeReqSubmitted  = "req/submitted"       // req/submitted/{requestID}
	routeReqOutcome    = "req/outcome"         // req/outcome/{requestID}/{outcome}
	routeReqNoNews     = "req/nonews"          // req/nonews/{requestID}
	routeReqKeep       = "req/keep"            // req/keep/{requestID}
	routeDraftEdit     = "draft/edit"          // draft/edit/{draftID}
	routeModalNew      = "modal/request/new"   // modal/request/new/{company name}
	routeModalDraft    = "modal/request/draft" // modal/request/draft/{draftID}
	routeForgetConfirm = "forget/confirm"
	routeForgetCancel  = "forget/cancel"
)

// idRoutes take exactly one positive id after the route.
var idRoutes = []string{
	routeOfferAccept, routeOfferDecline, routeReqSubmitted, routeReqNoNews,
	routeReqKeep, routeDraftEdit, routeModalDraft,
	routeAdminReferrers, routeReportAsk, routeReportConfirm, routeReportCancel, routeVerifyEnter, routeVerifyModal,
}

// buttonOutcomes are the outcomes a follow-up button may carry; "no
// response" is the student's own call, made with /referral outcome.
var buttonOutcomes = map[referral.Outcome]bool{
	referral.OutcomeScreen: true, referral.OutcomeInterview: true,
	referral.OutcomeOffer: true, referral.OutcomeRejected: true,
}

// customID is a parsed component or modal custom_id.
type customID struct {
	Route   string
	ID      int64            // offer, request or draft id; 0 for routes without one
	Outcome referral.Outcome // req/outcome only
	Company string           // modal/request/new only
}

var errBadCustomID = errors.New("unknown custom_id")

// parseCustomID reads a custom_id this package made. It accepts only the
// canonical form, so String of the result gives back the input.
func parseCustomID(s string) (customID, error) {
	if len(s) == 0 || len(s) > maxCustomIDLen || !utf8.ValidString(s) {
		return customID{}, errBadCustomID
	}
	switch s {
	case routeForgetConfirm, routeForgetCancel:
		return customID{Route: s}, nil
	}
	if company, ok := strings.CutPrefix(s, routeModalNew+"/"); ok {
		// The company name is free text and may itself contain slashes.
		if strings.TrimSpace(company) == "" {
			return customID{}, errBadCustomID
		}
		return customID{Route: routeModalNew, Company: company}, nil
	}
	if rest, ok := strings.CutPrefix(s, routeReqOutcome+"/"); ok {
		idText, outcome, ok := strings.Cut(rest, "/")
		id, okID := parseID(idText)
		if !ok || !okID || !buttonOutcomes[referral.Outcome(outcome)] {
			return customID{}, errBadCustomID
		}
		return customID{Route: routeReqOutcome, ID: id, Outcome: referral.Outcome(outcome)}, nil
	}
	for _, route := range idRoutes {
		if rest, ok := strings.CutPrefix(s, route+"/"); ok {
			id, ok := parseID(rest)
			if !ok {
				return customID{}, errBadCustomID
			}
			return customID{Route: route, ID: id}, nil
		}
	}
	return customID{}, errBadCustomID
}

// parseID accepts a positive decimal id without sign or leading zeros.
func parseID(s string) (int64, bool) {
	if s == "" || s[0] < '1' || s[0] > '9' {
		return 0, false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, false
	}
	return id, true
}

// String formats c as a custom_id of at most maxCustomIDLen bytes; a long
// company name is cut at a rune boundary.
func (c customID) String() string {
	switch c.Route {
	case routeForgetConfirm, routeForgetCancel:
		return c.Route
	case routeModalNew:
		return cutBytes(routeModalNew+"/"+c.Company, maxCustomIDLen)
	case routeReqOutcome:
		return c.Route + "/" + strconv.FormatInt(c.ID, 10) + "/" + string(c.Outcome)
	}
	return c.Route + "/" + strconv.FormatInt(c.ID, 10)
}

// cutBytes shortens s to at most n bytes without splitting a rune.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func offerAcceptID(offerID int64) string {
	return customID{Route: routeOfferAccept, ID: offerID}.String()
}

func offerDeclineID(offerID int64) string {
	return customID{Route: routeOfferDecline, ID: offerID}.String()
}

func submittedID(requestID int64) string {
	return customID{Route: routeReqSubmitted, ID: requestID}.String()
}

func outcomeButtonID(requestID int64, o referral.Outcome) string {
	return customID{Route: routeReqOutcome, ID: requestID, Outcome: o}.String()
}

func noNewsID(requestID int64) string {
	return customID{Route: routeReqNoNews, ID: requestID}.String()
}

func keepInMindID(requestID int64) string {
	return customID{Route: routeReqKeep, ID: requestID}.String()
}

func draftEditID(draftID int64) string {
	return customID{Route: routeDraftEdit, ID: draftID}.String()
}

func modalNewID(company string) string {
	return customID{Route: routeModalNew, Company: company}.String()
}

func modalDraftID(draftID int64) string {
	return customID{Route: routeModalDraft, ID: draftID}.String()
}
