package commands

import (
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

// offerHarness has request 1 offered to the alumnus as offer 5.
func offerHarness(t *testing.T) *harness {
	h := newHarness(t)
	h.store.requests[1] = referral.Request{ID: 1, StudentID: testStudent, State: referral.Offered, ReferrerID: testAlumnus,
		Company: referral.Company{Name: "Amazon"}}
	h.store.offers[5] = &fakeOffer{requestID: 1, referrerID: testAlumnus}
	return h
}

func TestOfferButtons(t *testing.T) {
	tests := []struct {
		name      string
		presser   string
		customID  string
		prepare   func(*fakeStore)
		wantType  discordgo.InteractionResponseType
		wantText  string
		wantBtns  string
		wantState referral.State
	}{
		{name: "accept", presser: testAlumnus, customID: offerAcceptID(5),
			wantType: discordgo.InteractionResponseUpdateMessage, wantText: "You accepted", wantBtns: "Referral submitted", wantState: referral.Accepted},
		{name: "decline", presser: testAlumnus, customID: offerDeclineID(5),
			wantType: discordgo.InteractionResponseUpdateMessage, wantText: "You declined", wantState: referral.Offered},
		{name: "wrong presser", presser: "999", customID: offerAcceptID(5),
			wantType: discordgo.InteractionResponseChannelMessageWithSource, wantText: "another referrer", wantState: referral.Offered},
		{name: "late accept", presser: testAlumnus, customID: offerAcceptID(5),
			prepare:  func(s *fakeStore) { s.offers[5].movedOn = true },
			wantType: discordgo.InteractionResponseChannelMessageWithSource, wantText: "this request has moved on", wantState: referral.Offered},
		{name: "second press", presser: testAlumnus, customID: offerAcceptID(5),
			prepare:  func(s *fakeStore) { s.offers[5].answered = true },
			wantType: discordgo.InteractionResponseChannelMessageWithSource, wantText: "Already done", wantState: referral.Offered},
		{name: "unknown offer", presser: testAlumnus, customID: offerAcceptID(6),
			wantType: discordgo.InteractionResponseChannelMessageWithSource, wantText: "moved on", wantState: referral.Offered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := offerHarness(t)
			if tt.prepare != nil {
				tt.prepare(h.store)
			}
			resp := h.do(dmButton(tt.presser, tt.customID))
			if resp.Type != tt.wantType {
				t.Fatalf("type = %d; want %d", resp.Type, tt.wantType)
			}
			if tt.wantType == discordgo.InteractionResponseChannelMessageWithSource {
				mustEphemeral(t, resp)
			} else {
				mustNotPing(t, resp.Data.AllowedMentions)
				if len(resp.Data.Embeds) != 1 || resp.Data.Embeds[0].Title != "kept" {
					t.Errorf("update dropped the offer embed: %+v", resp.Data.Embeds)
				}
			}
			if !strings.Contains(resp.Data.Content, tt.wantText) {
				t.Errorf("reply %q lacks %q", resp.Data.Content, tt.wantText)
			}
			if got := buttonLabels(resp.Data.Components); got != tt.wantBtns {
				t.Errorf("buttons = %q; want %q", got, tt.wantBtns)
			}
			if got := h.store.requests[1].State; got != tt.wantState {
				t.Errorf("state = %s; want %s", got, tt.wantState)
			}
		})
	}
}

func TestReferralSubmittedButton(t *testing.T) {
	h := offerHarness(t)
	h.do(dmButton(testAlumnus, offerAcceptID(5)))

	if resp := h.do(dmButton(testStudent, submittedID(1))); resp.Type != discordgo.InteractionResponseChannelMessageWithSource {
		t.Errorf("the student pressing Referral submitted got type %d; want an ephemeral refusal", resp.Type)
	}
	resp := h.do(dmButton(testAlumnus, submittedID(1)))
	if resp.Type != discordgo.InteractionResponseUpdateMessage {
		t.Fatalf("type = %d; want update", resp.Type)
	}
	if bs := buttons(resp.Data.Components); len(bs) != 1 || !bs[0].Disabled {
		t.Errorf("buttons after submitting = %+v; want one disabled", bs)
	}
	if h.store.requests[1].State != referral.Submitted {
		t.Errorf("state = %s; want submitted", h.store.requests[1].State)
	}
	again := h.do(dmButton(testAlumnus, submittedID(1)))
	mustEphemeral(t, again)
	if !strings.Contains(again.Data.Content, "Already done") {
		t.Errorf("second press = %q; want already done", again.Data.Content)
	}
}

func TestFollowUpButtons(t *testing.T) {
	tests := []struct {
		customID string
		wantBtns string
		enabled  string
	}{
		{outcomeButtonID(1, referral.OutcomeScreen), "Recruiter screen,Interviewing,Offer,Rejected,No news yet", ""},
		{outcomeButtonID(1, referral.OutcomeRejected), "Recruiter screen,Interviewing,Offer,Rejected,No news yet,Keep me in mind", "Keep me in mind"},
		{noNewsID(1), "Recruiter screen,Interviewing,Offer,Rejected,No news yet", ""},
	}
	for _, tt := range tests {
		t.Run(tt.customID, func(t *testing.T) {
			h := newHarness(t)
			h.store.requests[1] = referral.Request{ID: 1, StudentID: testStudent, State: referral.Submitted, ReferrerID: testAlumnus}

			refused := h.do(dmButton(testAlumnus, tt.customID))
			mustEphemeral(t, refused)
			if h.store.requests[1].State != referral.Submitted {
				t.Fatalf("someone else's press changed the request")
			}

			resp := h.do(dmButton(testStudent, tt.customID))
			if resp.Type != discordgo.InteractionResponseUpdateMessage {
				t.Fatalf("type = %d; want update", resp.Type)
			}
			if got := buttonLabels(resp.Data.Components); got != tt.wantBtns {
				t.Errorf("buttons = %q; want %q", got, tt.wantBtns)
			}
			for _, b := range buttons(resp.Data.Components) {
				if b.Disabled == (b.Label == tt.enabled) {
					t.Errorf("button %q disabled = %v", b.Label, b.Disabled)
				}
			}
		})
	}
}

func TestKeepInMindAndOutcomeCommand(t *testing.T) {
	h := newHarness(t)
	h.store.requests[1] = referral.Request{ID: 1, StudentID: testStudent, State: referral.Submitted, ReferrerID: testAlumnus}
	resp := h.do(slash(testStudent, "referral", "outcome", num("request", 1), str("result", "rejected")))
	mustEphemeral(t, resp)
	bs := buttons(resp.Data.Components)
	if len(bs) != 1 || bs[0].Label != "Keep me in mind" || bs[0].CustomID != "req/keep/1" {
		t.Fatalf("buttons = %+v; want Keep me in mind req/keep/1", bs)
	}
	keep := h.do(guildButton(testStudent, bs[0].CustomID))
	if keep.Type != discordgo.InteractionResponseUpdateMessage || !strings.Contains(keep.Data.Content, "keep you in mind") {
		t.Errorf("keep answer = %d %q", keep.Type, keep.Data.Content)
	}
	if h.store.calls[len(h.store.calls)-1] != "KeepInMind" {
		t.Errorf("store calls = %v; want KeepInMind last", h.store.calls)
	}

	other := h.do(slash(testStudent, "referral", "outcome", num("request", 99), str("result", "offer")))
	mustEphemeral(t, other)
	if !strings.Contains(other.Data.Content, "#99") {
		t.Errorf("unknown request reply = %q", other.Data.Content)
	}
}

func TestWithdraw(t *testing.T) {
	h := newHarness(t)
	h.store.requests[1] = referral.Request{ID: 1, StudentID: testStudent, State: referral.Waiting, Company: referral.Company{Name: "Amazon"}}
	h.store.requests[2] = referral.Request{ID: 2, StudentID: "other", State: referral.Waiting}
	tests := []struct {
		id   float64
		want string
	}{
		{1, "is withdrawn"},
		{1, "can't be withdrawn"},
		{2, "You have no request #2"},
		{3, "You have no request #3"},
	}
	for _, tt := range tests {
		resp := h.do(slash(testStudent, "referral", "withdraw", num("request", tt.id)))
		mustEphemeral(t, resp)
		if !strings.Contains(resp.Data.Content, tt.want) {
			t.Errorf("withdraw %v = %q; want %q", tt.id, resp.Data.Content, tt.want)
		}
	}
	if h.store.requests[2].State != referral.Waiting {
		t.Errorf("someone else's request was withdrawn")
	}
}

func TestForgetMe(t *testing.T) {
	h := newHarness(t)
	h.store.requests[1] = referral.Request{ID: 1, StudentID: testStudent}
	resp := h.do(slash(testStudent, "referral", "forget-me"))
	mustEphemeral(t, resp)
	if got := buttonLabels(resp.Data.Components); got != "Delete my data,Cancel" {
		t.Fatalf("buttons = %q", got)
	}
	if h.store.callCount() != 0 {
		t.Fatalf("asking deleted something: %v", h.store.calls)
	}
	cancel := h.do(guildButton(testStudent, "forget/cancel"))
	if cancel.Type != discordgo.InteractionResponseUpdateMessage || h.store.callCount() != 0 {
		t.Errorf("cancel = type %d, store calls %v", cancel.Type, h.store.calls)
	}
	done := h.do(guildButton(testStudent, "forget/confirm"))
	if done.Type != discordgo.InteractionResponseUpdateMessage || !strings.Contains(done.Data.Content, "1 request") {
		t.Errorf("confirm = type %d %q", done.Type, done.Data.Content)
	}
	if len(buttons(done.Data.Components)) != 0 {
		t.Errorf("the confirm buttons stay after deleting")
	}
	again := h.do(guildButton(testStudent, "forget/confirm"))
	if !strings.Contains(again.Data.Content, "nothing") {
		t.Errorf("second confirm = %q; want nothing to delete", again.Data.Content)
	}
}
