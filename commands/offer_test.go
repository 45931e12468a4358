package commands

import (
	"context"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

func TestOfferButtons(t *testing.T) {
	tests := []struct {
		name      string
		presser   string
		press     func(accept, decline string) string // the custom_id pressed
		prepare   func(h *harness, accept, decline string)
		wantType  discordgo.InteractionResponseType
		wantText  string
		wantBtns  string
		wantState referral.State
	}{
		{name: "accept", presser: testAlumnus, press: func(a, _ string) string { return a },
			wantType: discordgo.InteractionResponseUpdateMessage, wantText: "You accepted", wantBtns: "Referral submitted", wantState: referral.Accepted},
		{name: "decline", presser: testAlumnus, press: func(_, d string) string { return d },
			wantType: discordgo.InteractionResponseUpdateMessage, wantText: "You declined", wantState: referral.Waiting,
			wantBtns: "No fitting opening on my side,The request needs more detail,I can't refer right now,Other,Skip"},
		{name: "wrong presser", presser: "999", press: func(a, _ string) string { return a },
			wantType: discordgo.InteractionResponseChannelMessageWithSource, wantText: "another referrer", wantState: referral.Offered},
		{name: "late accept", presser: testAlumnus, press: func(a, _ string) string { return a },
			prepare: func(h *harness, _, _ string) {
				h.clock.Add(testPolicy().OfferTimeout + 1)
				if _, err := h.store.RunDueSteps(context.Background(), 10); err != nil {
					h.t.Fatalf("RunDueSteps: %v", err)
				}
			},
			wantType: discordgo.InteractionResponseChannelMessageWithSource, wantText: "this request has moved on", wantState: referral.Waiting},
		{name: "second press", presser: testAlumnus, press: func(a, _ string) string { return a },
			prepare:  func(h *harness, a, _ string) { h.do(dmButton(testAlumnus, a)) },
			wantType: discordgo.InteractionResponseChannelMessageWithSource, wantText: "Already done", wantState: referral.Accepted},
		{name: "decline after accept", presser: testAlumnus, press: func(_, d string) string { return d },
			prepare:  func(h *harness, a, _ string) { h.do(dmButton(testAlumnus, a)) },
			wantType: discordgo.InteractionResponseChannelMessageWithSource, wantText: "Nothing changed", wantState: referral.Accepted},
		{name: "unknown offer", presser: testAlumnus, press: func(string, string) string { return offerAccept.with(999) },
			wantType: discordgo.InteractionResponseChannelMessageWithSource, wantText: "moved on", wantState: referral.Offered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			req, accept, decline := h.offered()
			if tt.prepare != nil {
				tt.prepare(h, accept, decline)
			}
			resp := h.do(dmButton(tt.presser, tt.press(accept, decline)))
			if resp.Type != tt.wantType {
				t.Fatalf("type = %d (%q); want %d", resp.Type, resp.Data.Content, tt.wantType)
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
			if got := h.find(testStudent, req.ID).State; got != tt.wantState {
				t.Errorf("state = %s; want %s", got, tt.wantState)
			}
		})
	}
}

func TestReferralSubmittedButton(t *testing.T) {
	h := newHarness(t)
	req := h.accepted()

	if resp := h.do(dmButton(testStudent, reqSubmitted.with(req.ID))); resp.Type != discordgo.InteractionResponseChannelMessageWithSource {
		t.Errorf("the student pressing Referral submitted got type %d; want an ephemeral refusal", resp.Type)
	}
	resp := h.do(dmButton(testAlumnus, reqSubmitted.with(req.ID)))
	if resp.Type != discordgo.InteractionResponseUpdateMessage {
		t.Fatalf("type = %d (%q); want update", resp.Type, resp.Data.Content)
	}
	if !strings.Contains(resp.Data.Content, "Wed 25 Nov 2026") {
		t.Errorf("reply %q lacks the day it was submitted", resp.Data.Content)
	}
	if bs := buttons(resp.Data.Components); len(bs) != 1 || !bs[0].Disabled {
		t.Errorf("buttons after submitting = %+v; want one disabled", bs)
	}
	if got := h.find(testStudent, req.ID).State; got != referral.Submitted {
		t.Errorf("state = %s; want submitted", got)
	}
	again := h.do(dmButton(testAlumnus, reqSubmitted.with(req.ID)))
	mustEphemeral(t, again)
	if !strings.Contains(again.Data.Content, "Already done") {
		t.Errorf("second press = %q; want already done", again.Data.Content)
	}
}

func TestFollowUpButtons(t *testing.T) {
	tests := []struct {
		name     string
		customID func(id int64) string
		wantBtns string
		enabled  string
		want     string
	}{
		{"screen", func(id int64) string { return outcomeID(id, referral.OutcomeScreen) },
			"Recruiter screen,Interviewing,Offer,Rejected,No news yet", "", "recruiter screen"},
		{"rejected", func(id int64) string { return outcomeID(id, referral.OutcomeRejected) },
			"Recruiter screen,Interviewing,Offer,Rejected,No news yet,Keep me in mind", "Keep me in mind", "keep you in mind"},
		{"no news", func(id int64) string { return reqNoNews.with(id) },
			"Recruiter screen,Interviewing,Offer,Rejected,No news yet", "", "check in again on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			req := h.submitted()
			id := tt.customID(req.ID)

			refused := h.do(dmButton(testAlumnus, id))
			mustEphemeral(t, refused)
			if !strings.Contains(refused.Data.Content, "isn't one of yours") {
				t.Errorf("the referrer's press = %q; want a refusal", refused.Data.Content)
			}
			if got := h.find(testStudent, req.ID); got.State != referral.Submitted || got.Outcome != "" {
				t.Fatalf("someone else's press changed the request: %s %q", got.State, got.Outcome)
			}

			resp := h.do(dmButton(testStudent, id))
			if resp.Type != discordgo.InteractionResponseUpdateMessage {
				t.Fatalf("type = %d (%q); want update", resp.Type, resp.Data.Content)
			}
			if !strings.Contains(resp.Data.Content, tt.want) {
				t.Errorf("reply %q lacks %q", resp.Data.Content, tt.want)
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
	req := h.submitted()
	resp := h.do(slash(testStudent, "referral", "outcome", num("request", float64(req.ID)), str("result", "rejected")))
	mustEphemeral(t, resp)
	bs := buttons(resp.Data.Components)
	if len(bs) != 1 || bs[0].Label != "Keep me in mind" || bs[0].CustomID != "req/keep/"+itoa(req.ID) {
		t.Fatalf("buttons = %+v; want Keep me in mind req/keep/%d", bs, req.ID)
	}
	if got := h.find(testStudent, req.ID).Outcome; got != referral.OutcomeRejected {
		t.Errorf("outcome = %q; want rejected", got)
	}
	keep := h.do(guildButton(testStudent, bs[0].CustomID))
	if keep.Type != discordgo.InteractionResponseUpdateMessage || !strings.Contains(keep.Data.Content, "keep you in mind") {
		t.Errorf("keep answer = %d %q", keep.Type, keep.Data.Content)
	}
	again := h.do(guildButton(testStudent, bs[0].CustomID))
	mustEphemeral(t, again)
	if !strings.Contains(again.Data.Content, "Already done: your referrer was asked") {
		t.Errorf("second keep = %q; want already done", again.Data.Content)
	}
	var asked int
	for _, m := range h.outbox() {
		if m.Outgoing.Notice.Kind == referral.NoticeKeepInMind && m.Outgoing.UserID == testAlumnus {
			asked++
		}
	}
	if asked != 1 {
		t.Errorf("the referrer was asked to keep the student in mind %d times; want 1", asked)
	}

	other := h.do(slash(testStudent, "referral", "outcome", num("request", 99), str("result", "offer")))
	mustEphemeral(t, other)
	if !strings.Contains(other.Data.Content, "#99") {
		t.Errorf("unknown request reply = %q", other.Data.Content)
	}
}

func TestWithdraw(t *testing.T) {
	h := newHarness(t)
	mine := h.request(testStudent, "https://amazon.jobs/en/jobs/1")
	theirs := h.request("other", "https://amazon.jobs/en/jobs/2")
	tests := []struct {
		id   int64
		want string
	}{
		{mine.ID, "is withdrawn"},
		{mine.ID, "is already withdrawn"},
		{theirs.ID, "You have no request #" + itoa(theirs.ID)},
		{99, "You have no request #99"},
	}
	for _, tt := range tests {
		resp := h.do(slash(testStudent, "referral", "withdraw", num("request", float64(tt.id))))
		mustEphemeral(t, resp)
		if !strings.Contains(resp.Data.Content, tt.want) {
			t.Errorf("withdraw %d = %q; want %q", tt.id, resp.Data.Content, tt.want)
		}
	}
	if got := h.find("other", theirs.ID).State; got != referral.Waiting {
		t.Errorf("someone else's request is %s; want waiting", got)
	}

	done := h.submitted()
	resp := h.do(slash(testStudent, "referral", "withdraw", num("request", float64(done.ID))))
	if !strings.Contains(resp.Data.Content, "can't be withdrawn any more") {
		t.Errorf("withdraw a submitted request = %q; want can't be withdrawn", resp.Data.Content)
	}
}

func TestForgetMe(t *testing.T) {
	h := newHarness(t)
	req := h.request(testStudent, "https://amazon.jobs/en/jobs/1")
	resp := h.do(slash(testStudent, "referral", "forget-me"))
	mustEphemeral(t, resp)
	if got := buttonLabels(resp.Data.Components); got != "Delete my data,Cancel" {
		t.Fatalf("buttons = %q", got)
	}
	if len(h.requests(testStudent)) != 1 {
		t.Fatalf("asking deleted something")
	}
	cancel := h.do(guildButton(testStudent, "forget/cancel"))
	if cancel.Type != discordgo.InteractionResponseUpdateMessage || h.find(testStudent, req.ID).Fields.Intro == "" {
		t.Errorf("cancel = type %d, or the request lost its text", cancel.Type)
	}
	done := h.do(guildButton(testStudent, "forget/confirm"))
	if done.Type != discordgo.InteractionResponseUpdateMessage || !strings.Contains(done.Data.Content, "1 request") {
		t.Errorf("confirm = type %d %q", done.Type, done.Data.Content)
	}
	if len(buttons(done.Data.Components)) != 0 {
		t.Errorf("the confirm buttons stay after deleting")
	}
	if left := h.requests(testStudent); len(left) != 0 {
		t.Errorf("after forget-me the student still has %d requests", len(left))
	}
	again := h.do(guildButton(testStudent, "forget/confirm"))
	if !strings.Contains(again.Data.Content, "nothing") {
		t.Errorf("second confirm = %q; want nothing to delete", again.Data.Content)
	}
}

// A referrer who left has only their id in past offers left: forget-me
// says it removed that, not that nothing was stored.
func TestForgetMeFormerReferrer(t *testing.T) {
	h := newHarness(t)
	h.submitted()
	if err := h.store.LeaveReferrer(context.Background(), testGuild, testAlumnus); err != nil {
		t.Fatal(err)
	}
	done := h.do(dmButton(testAlumnus, "forget/confirm"))
	if !strings.Contains(done.Data.Content, "removed your id from") {
		t.Errorf("confirm by a former referrer = %q; want their id removed from past offers", done.Data.Content)
	}
	again := h.do(dmButton(testAlumnus, "forget/confirm"))
	if !strings.Contains(again.Data.Content, "nothing") {
		t.Errorf("second confirm = %q; want nothing to delete", again.Data.Content)
	}
}
