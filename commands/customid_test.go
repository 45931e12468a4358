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
		{"offer/accept/12", customID{Pattern: offerAccept, ID: 12}, true},
		{"offer/decline/9223372036854775807", customID{Pattern: offerDecline, ID: 9223372036854775807}, true},
		{"req/submitted/3", customID{Pattern: reqSubmitted, ID: 3}, true},
		{"req/outcome/3/interview", customID{Pattern: reqOutcome, ID: 3, Outcome: referral.OutcomeInterview}, true},
		{"req/nonews/3", customID{Pattern: reqNoNews, ID: 3}, true},
		{"req/keep/3", customID{Pattern: reqKeep, ID: 3}, true},
		{"draft/edit/44", customID{Pattern: draftEdit, ID: 44}, true},
		{"modal/request/draft/44", customID{Pattern: modalDraft, ID: 44}, true},
		{"modal/request/new/amazon", customID{Pattern: modalNew, Company: "amazon"}, true},
		{"modal/request/new/sociétégénérale", customID{Pattern: modalNew, Company: "sociétégénérale"}, true},
		{"forget/confirm", customID{Pattern: forgetConfirm}, true},
		{"forget/cancel", customID{Pattern: forgetCancel}, true},
		{"admin/referrers/2", customID{Pattern: referrersPage, ID: 2}, true},
		{"report/ask/5", customID{Pattern: reportAsk, ID: 5}, true},
		{"report/confirm/5", customID{Pattern: reportConfirm, ID: 5}, true},
		{"report/cancel/5", customID{Pattern: reportCancel, ID: 5}, true},
		{"verify/enter/55", customID{Pattern: verifyEnter, ID: 55}, true},
		{"verify/modal/55", customID{Pattern: verifyModal, ID: 55}, true},
		{"", customID{}, false},
		{"offer/accept/", customID{}, false},
		{"offer/accept/0", customID{}, false},
		{"offer/accept/-1", customID{}, false},
		{"offer/accept/+1", customID{}, false},
		{"offer/accept/01", customID{}, false},
		{"offer/accept/1/2", customID{}, false},
		{"offer/accept/9223372036854775808", customID{}, false},
		{"offer/accept", customID{}, false},
		{"req/outcome/3/no_response", customID{}, false},
		{"req/outcome/3", customID{}, false},
		{"req/outcome/3/offer/x", customID{}, false},
		{"modal/request/new/", customID{}, false},
		{"modal/request/new/   ", customID{}, false},
		{"modal/request/new/Amazon", customID{}, false}, // a name, as ids before the key was used
		{"modal/request/new/aws", customID{}, false},    // an alias key: amazon is canonical
		{"modal/request/new/at/t", customID{}, false},
		{"modal/request/new/a b", customID{}, false},
		{"forget/confirm/1", customID{}, false},
		{"offer/accept/1\x00", customID{}, false},
		{"modal/request/new/" + long, customID{}, false}, // over 100 bytes
	}
	for _, tt := range tests {
		got, rt, err := parseCustomID(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseCustomID(%q) = %+v, %v; want %+v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if tt.ok && (rt == nil || rt.pattern != tt.want.Pattern) {
			t.Errorf("parseCustomID(%q) routed to %+v; want the %s route", tt.in, rt, tt.want.Pattern)
		}
	}
}

// Every route formats its largest values within Discord's limit and parses
// back to itself alone.
func TestRoutesFormatAndParseBack(t *testing.T) {
	seen := map[pattern]bool{}
	for _, rt := range componentRoutes {
		if seen[rt.pattern] {
			t.Errorf("pattern %s is routed twice", rt.pattern)
		}
		seen[rt.pattern] = true
		c := customID{Pattern: rt.pattern}
		if rt.pattern.idName() != "" {
			c.ID = 9223372036854775807
		}
		if strings.Contains(string(rt.pattern), "{outcome}") {
			c.Outcome = referral.OutcomeInterview
		}
		if strings.Contains(string(rt.pattern), "{company}") {
			c.Company = "jpmorganchase"
		}
		if strings.Contains(string(rt.pattern), "{reason}") {
			c.Reason = referral.DeclineNeedsDetail
		}
		s := c.String()
		if len(s) > maxCustomIDLen {
			t.Errorf("%s formats to %d bytes; want <= %d", rt.pattern, len(s), maxCustomIDLen)
		}
		got, back, err := parseCustomID(s)
		if err != nil || got != c || back.pattern != rt.pattern {
			t.Errorf("parseCustomID(%q) = %+v, %v; want %+v", s, got, err, c)
		}
		if rt.handle == nil {
			t.Errorf("%s has no handler", rt.pattern)
		}
	}
}

func TestPatternParts(t *testing.T) {
	tests := []struct {
		p               pattern
		literal, idName string
	}{
		{offerAccept, "offer/accept", "offer"},
		{reqOutcome, "req/outcome", "request"},
		{modalNew, "modal/request/new", ""},
		{forgetConfirm, "forget/confirm", ""},
	}
	for _, tt := range tests {
		if got := tt.p.literal(); got != tt.literal {
			t.Errorf("%s.literal() = %q; want %q", tt.p, got, tt.literal)
		}
		if got := tt.p.idName(); got != tt.idName {
			t.Errorf("%s.idName() = %q; want %q", tt.p, got, tt.idName)
		}
	}
}

func FuzzParseCustomID(f *testing.F) {
	for _, s := range []string{
		offerAccept.with(1), offerDecline.with(42), reqSubmitted.with(7), outcomeID(7, referral.OutcomeRejected),
		reqNoNews.with(7), reqKeep.with(7), draftEdit.with(3), customID{Pattern: modalNew, Company: "amazon"}.String(), modalDraft.with(3),
		"forget/confirm", "forget/cancel", "offer/accept/01", "req/outcome/1/", "modal/request/new/a/b",
		referrersPage.with(2), reportAsk.with(5), reportConfirm.with(5), reportCancel.with(5), verifyEnter.with(55), verifyModal.with(55),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, rt, err := parseCustomID(s)
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
		if rt == nil || rt.handle == nil || rt.pattern != c.Pattern {
			t.Errorf("parseCustomID(%q) gave pattern %q without its route", s, c.Pattern)
		}
	})
}
