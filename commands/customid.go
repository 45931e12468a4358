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

// A pattern is a custom_id with placeholders, like a path: literal
// segments, {outcome} (a follow-up button's outcome), {company} (a
// normalized company key), {reason} (a decline reason), and {name} for any
// other name, a positive id.
// The name says what the id is; {request} ids are named in refusals.
type pattern string

// The buttons and modals of the bot. A custom_id in a message already sent
// must keep meaning the same, so literal segments never change.
const (
	offerAccept   pattern = "offer/accept/{offer}"
	offerDecline  pattern = "offer/decline/{offer}"
	offerReason   pattern = "offer/reason/{offer}/{reason}"
	offerPause    pattern = "offer/pause/{offer}"
	reqEdit       pattern = "req/edit/{request}"
	reqSubmitted  pattern = "req/submitted/{request}"
	reqOutcome    pattern = "req/outcome/{request}/{outcome}"
	reqNoNews     pattern = "req/nonews/{request}"
	reqKeep       pattern = "req/keep/{request}"
	draftEdit     pattern = "draft/edit/{draft}"
	modalNew      pattern = "modal/request/new/{company}"
	modalDraft    pattern = "modal/request/draft/{draft}"
	forgetConfirm pattern = "forget/confirm"
	forgetCancel  pattern = "forget/cancel"
	referrersPage pattern = "admin/referrers/{page}"
	reportAsk     pattern = "report/ask/{request}"
	reportConfirm pattern = "report/confirm/{request}"
	reportCancel  pattern = "report/cancel/{request}"
	verifyEnter   pattern = "verify/enter/{code}"
	verifyModal   pattern = "verify/modal/{code}"
)

// componentRoute is one button or modal: its pattern, its handler, the
// refusals' wording, and the label for Observe ("" = the literal segments).
type componentRoute struct {
	pattern pattern
	handle  handler
	topic   topic
	label   string
}

// componentRoutes route every button and modal; parsing, formatting and
// dispatch all derive from this table.
var componentRoutes = []componentRoute{
	{pattern: offerAccept, handle: (*Router).offerAccept, topic: aboutOffer},
	{pattern: offerDecline, handle: (*Router).offerDecline, topic: aboutOffer},
	{pattern: offerReason, handle: (*Router).offerReasonButton, topic: aboutReason},
	{pattern: offerPause, handle: (*Router).offerPauseButton, topic: aboutReason},
	{pattern: reqEdit, handle: (*Router).editRequestButton, topic: aboutEdit},
	{pattern: reqSubmitted, handle: (*Router).referralSubmitted, topic: aboutSubmitted},
	{pattern: reqOutcome, handle: (*Router).outcomeButton, topic: aboutOutcome},
	{pattern: reqNoNews, handle: (*Router).noNewsButton, topic: aboutOutcome},
	{pattern: reqKeep, handle: (*Router).keepInMindButton, topic: aboutKeep},
	{pattern: draftEdit, handle: (*Router).editDraftButton, topic: aboutDraft},
	{pattern: modalNew, handle: (*Router).requestModalSubmit, topic: aboutDraft, label: "request"},
	{pattern: modalDraft, handle: (*Router).requestModalSubmit, topic: aboutDraft, label: "request"},
	{pattern: forgetConfirm, handle: (*Router).forgetConfirm},
	{pattern: forgetCancel, handle: (*Router).forgetCancel},
	{pattern: referrersPage, handle: adminOnly((*Router).adminReferrersPage)},
	{pattern: reportAsk, handle: (*Router).reportAsk, topic: aboutReport},
	{pattern: reportConfirm, handle: (*Router).reportConfirm, topic: aboutReport},
	{pattern: reportCancel, handle: (*Router).reportCancel, topic: aboutReport},
	{pattern: verifyEnter, handle: (*Router).verifyEnter, topic: aboutCode},
	{pattern: verifyModal, handle: (*Router).verifyModalSubmit, topic: aboutCode},
}

// buttonOutcomes are the outcomes a follow-up button may carry; "no
// response" is the student's own call, made with /referral outcome.
var buttonOutcomes = map[referral.Outcome]bool{
	referral.OutcomeScreen: true, referral.OutcomeInterview: true,
	referral.OutcomeOffer: true, referral.OutcomeRejected: true,
}

// customID is a parsed custom_id: its pattern and the placeholders' values.
type customID struct {
	Pattern pattern
	ID      int64            // the one numeric placeholder; 0 for patterns without one
	Outcome referral.Outcome // {outcome}
	Company string           // {company}: a referral.Company.Key
	Reason  referral.DeclineReason
}

var errBadCustomID = errors.New("unknown custom_id")

// parseCustomID reads a custom_id this package made and finds its route.
// It accepts only the canonical form, so String of the result gives back
// the input: no leading zeros or signs, no extra segments, no alias keys.
func parseCustomID(s string) (customID, *componentRoute, error) {
	if len(s) == 0 || len(s) > maxCustomIDLen || !utf8.ValidString(s) {
		return customID{}, nil, errBadCustomID
	}
	segs := strings.Split(s, "/")
	for k := range componentRoutes {
		rt := &componentRoutes[k]
		if c, ok := rt.pattern.match(segs); ok {
			return c, rt, nil
		}
	}
	return customID{}, nil, errBadCustomID
}

// match fills p's placeholders from the segments of a custom_id.
func (p pattern) match(segs []string) (customID, bool) {
	want := strings.Split(string(p), "/")
	if len(want) != len(segs) {
		return customID{}, false
	}
	c := customID{Pattern: p}
	for k, w := range want {
		seg := segs[k]
		switch {
		case w == "{outcome}":
			if !buttonOutcomes[referral.Outcome(seg)] {
				return customID{}, false
			}
			c.Outcome = referral.Outcome(seg)
		case w == "{company}":
			if seg == "" || referral.NormalizeCompany(seg).Key != seg {
				return customID{}, false
			}
			c.Company = seg
		case w == "{reason}":
			r, err := referral.ParseDeclineReason(seg)
			if err != nil {
				return customID{}, false
			}
			c.Reason = r
		case isPlaceholder(w):
			id, ok := parseID(seg)
			if !ok {
				return customID{}, false
			}
			c.ID = id
		case w != seg:
			return customID{}, false
		}
	}
	return c, true
}

func isPlaceholder(seg string) bool {
	return strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}")
}

// idName is the name of p's numeric placeholder ("request"), "" if none.
func (p pattern) idName() string {
	for seg := range strings.SplitSeq(string(p), "/") {
		if isPlaceholder(seg) && seg != "{outcome}" && seg != "{company}" && seg != "{reason}" {
			return strings.Trim(seg, "{}")
		}
	}
	return ""
}

// literal is p up to its first placeholder: "offer/accept".
func (p pattern) literal() string {
	var out []string
	for seg := range strings.SplitSeq(string(p), "/") {
		if isPlaceholder(seg) {
			break
		}
		out = append(out, seg)
	}
	return strings.Join(out, "/")
}

// with is the custom_id of a pattern whose only placeholder is an id.
func (p pattern) with(id int64) string {
	return customID{Pattern: p, ID: id}.String()
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

// String formats c by its pattern. Callers keep it within maxCustomIDLen:
// ids always fit, and a company key that does not is sent as a draft id
// instead (see requestCommand).
func (c customID) String() string {
	segs := strings.Split(string(c.Pattern), "/")
	for k, seg := range segs {
		switch {
		case seg == "{outcome}":
			segs[k] = string(c.Outcome)
		case seg == "{company}":
			segs[k] = c.Company
		case seg == "{reason}":
			segs[k] = string(c.Reason)
		case isPlaceholder(seg):
			segs[k] = strconv.FormatInt(c.ID, 10)
		}
	}
	return strings.Join(segs, "/")
}
