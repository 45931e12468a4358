package commands

import (
	"strings"
	"testing"

	"github.com/referralbot/referralbot/referral"
)

func TestParseCustomID(t *testing.T) {
	long := strings.Repeat("é", 60)
	tests := []struct {
		in   string
		want customID
		ok   bool
	}{
		{"offer/accept/12", customID{Route: routeOfferAccept, ID: 12}, true},
		{"offer/decline/9223372036854775807", customID{Route: routeOfferDecline, ID: 9223372036854775807}, true},
		{"req/submitted/3", customID{Route: routeReqSubmitted, ID: 3}, true},
		{"req/outcome/3/interview", customID{Route: routeReqOutcome, ID: 3, Outcome: referral.OutcomeInterview}, true},
		{"req/nonews/3", customID{Route: routeReqNoNews, ID: 3}, true},
		{"req/keep/3", customID{Route: routeReqKeep, ID: 3}, true},
		{"draft/edit/44", customID{Route: routeDraftEdit, ID: 44}, true},
		{"modal/request/draft/44", customID{Route: routeModalDraft, ID: 44}, true},
		{"modal/request/new/AT/T Inc", customID{Route: routeModalNew, Company: "AT/T Inc"}, true},
		{"forget/confirm", customID{Route: routeForgetConfirm}, true},
		{"forget/cancel", customID{Route: routeForgetCancel}, true},
		{"", customID{}, false},
		{"offer/accept/", customID{}, false},
		{"offer/accept/0", customID{}, false},
		{"offer/accept/-1", customID{}, false},
		{"offer/accept/+1", customID{}, false},
		{"offer/accept/01", customID{}, false},
		{"offer/accept/1/2", customID{}, false},
		{"offer/accept/9223372036854775808", customID{}, false},
		{"req/outcome/3/no_response", customID{}, false},
		{"req/outcome/3", customID{}, false},
		{"req/outcome/3/offer/x", customID{}, false},
		{"modal/request/new/", customID{}, false},
		{"modal/request/new/   ", customID{}, false},
		{"forget/confirm/1", customID{}, false},
		{"offer/accept/1\x00", customID{}, false},
		{"modal/request/new/" + long, customID{}, false}, // over 100 bytes
	}
	for _, tt := range tests {
		got, err := parseCustomID(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseCustomID(%q) = %+v, %v; want %+v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestCustomIDsFit(t *testing.T) {
	long := strings.Repeat("日本", 60)
	id := modalNewID(long)
	if len(id) > maxCustomIDLen {
		t.Fatalf("modalNewID(long) has %d bytes; want <= %d", len(id), maxCustomIDLen)
	}
	got, err := parseCustomID(id)
	if err != nil || !strings.HasPrefix(long, got.Company) {
		t.Errorf("parseCustomID(%q) = %+v, %v; want a prefix of the company", id, got, err)
	}
}

func FuzzParseCustomID(f *testing.F) {
	for _, s := range []string{
		offerAcceptID(1), offerDeclineID(42), submittedID(7), outcomeButtonID(7, referral.OutcomeRejected),
		noNewsID(7), keepInMindID(7), draftEditID(3), modalNewID("Amazon"), modalDraftID(3),
		"forget/confirm", "forget/cancel", "offer/accept/01", "req/outcome/1/", "modal/request/new/a/b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCustomID(s)
		if err != nil {
			return
		}
		// Only canonical ids parse, so formatting gives the input back.
		if got := c.String(); got != s {
			t.Errorf("parseCustomID(%q).String() = %q", s, got)
		}
		if len(s) > maxCustomIDLen {
			t.Errorf("parseCustomID accepted %d bytes", len(s))
		}
		if _, ok := componentRoutes[c.Route]; !ok {
			t.Errorf("parseCustomID(%q) gave route %q that has no handler", s, c.Route)
		}
	})
}
