package commands

import (
	"context"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

func TestInteractionUser(t *testing.T) {
	u := &discordgo.User{ID: "1"}
	tests := []struct {
		name string
		i    *discordgo.Interaction
		want string
	}{
		{"server", &discordgo.Interaction{Member: &discordgo.Member{User: u}}, "1"},
		{"dm", &discordgo.Interaction{User: u}, "1"},
		{"member without user", &discordgo.Interaction{Member: &discordgo.Member{}, User: u}, "1"},
		{"nobody", &discordgo.Interaction{}, ""},
	}
	for _, tt := range tests {
		got := ""
		if u := interactionUser(tt.i); u != nil {
			got = u.ID
		}
		if got != tt.want {
			t.Errorf("%s: interactionUser = %q; want %q", tt.name, got, tt.want)
		}
	}
}

// A store failure gets a kind apology without internals, and the log has
// ids but no token and no user text.
func TestStoreErrorAnswersAndLogsSafely(t *testing.T) {
	h := newHarness(t)
	h.router.Store = stubStore{Store: h.store, submitRequest: func(context.Context, referral.RequestForm) (referral.SubmitResult, error) {
		return referral.SubmitResult{}, errBoom
	}}
	bad := goodFields()
	bad.Intro = "secret intro text"
	resp := h.do(modalSubmit(testStudent, modalNewID("amazon"), bad))
	mustEphemeral(t, resp)
	if resp.Data.Content != apology || strings.Contains(resp.Data.Content, "database") {
		t.Errorf("reply = %q; want the apology", resp.Data.Content)
	}
	if got := h.lastResult(); got != "modal request error" {
		t.Errorf("observed %q; want %q", got, "modal request error")
	}
	log := h.log.String()
	for _, leak := range []string{"secret-token", "secret intro text"} {
		if strings.Contains(log, leak) {
			t.Errorf("log contains %q: %s", leak, log)
		}
	}
	for _, want := range []string{"interaction_id=i-modal", "user_id=" + testStudent, "database is locked"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q: %s", want, log)
		}
	}
}

func TestPanicStillAnswers(t *testing.T) {
	h := newHarness(t)
	h.router.Store = stubStore{Store: h.store, studentRequests: func(context.Context, string) ([]referral.Request, error) { panic("bug") }}
	resp := h.do(slash(testStudent, "referral", "status"))
	mustEphemeral(t, resp)
	if resp.Data.Content != apology {
		t.Errorf("reply = %q; want the apology", resp.Data.Content)
	}
	if got := h.lastResult(); got != "referral status error" {
		t.Errorf("observed %q; want %q", got, "referral status error")
	}
}

// Unknown interactions are refused without touching the store: noStore
// would panic, and the result would be "error".
func TestUnknownInteractionsAreAnswered(t *testing.T) {
	tests := []struct {
		name string
		i    *discordgo.Interaction
		want string
	}{
		{"unknown command", slash(testStudent, "nope", "x"), unknownCommand},
		{"unknown button", dmButton(testStudent, "old/button/1"), unknownButton},
		{"empty custom id", dmButton(testStudent, ""), unknownButton},
		{"request modal of an older version", modalSubmit(testStudent, "modal/request/new/Amazon", goodFields()), unknownModal},
		{"no user", &discordgo.Interaction{Type: discordgo.InteractionMessageComponent,
			Data: discordgo.MessageComponentInteractionData{CustomID: "forget/confirm"}}, "couldn't tell who you are"},
		{"no data", &discordgo.Interaction{Type: discordgo.InteractionApplicationCommand, User: &discordgo.User{ID: "1"}}, unknownCommand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.router.Store = noStore{}
			resp := h.do(tt.i)
			mustEphemeral(t, resp)
			if !strings.Contains(resp.Data.Content, tt.want) {
				t.Errorf("reply = %q; want %q", resp.Data.Content, tt.want)
			}
			if !strings.HasSuffix(h.lastResult(), " refused") {
				t.Errorf("observed %q; want refused", h.lastResult())
			}
		})
	}
}

func TestObserveLabels(t *testing.T) {
	h := newHarness(t)
	_, accept, _ := h.offered()
	h.do(slash(testStudent, "referral", "request", str("company", "Amazon")))
	h.do(dmButton(testAlumnus, accept))
	h.do(modalSubmit("202", modalNewID("amazon"), goodFields()))
	h.do(dmButton(testAlumnus, accept))
	want := []string{"referral request ok", "button offer/accept ok", "modal request ok", "button offer/accept refused"}
	if strings.Join(h.observed, "|") != strings.Join(want, "|") {
		t.Errorf("observed %q; want %q", h.observed, want)
	}
}

func TestNilObserveAndDefaults(t *testing.T) {
	h := newHarness(t)
	r := &Router{Store: h.store}
	rec := &recorder{}
	r.Handle(context.Background(), rec, slash(testStudent, "referral", "status"))
	if len(rec.responses) != 1 || !strings.Contains(rec.responses[0].Data.Content, "no requests") {
		t.Fatalf("got %d responses (%+v); want 1 saying there are no requests", len(rec.responses), rec.responses)
	}
}

// Each store refusal reads as the interaction's topic words it, with the
// request number or the member filled in.
func TestRefusalText(t *testing.T) {
	tests := []struct {
		err  error
		c    call
		want string
	}{
		{referral.ErrNotYours, call{topic: aboutOffer}, "sent to another referrer"},
		{referral.ErrAlreadyDone, call{topic: aboutOffer}, "you answered this before"},
		{referral.ErrAlreadyDone, call{topic: aboutSubmitted}, "marked as submitted"},
		{referral.ErrNotYours, call{topic: aboutSubmitted}, "sent to another referrer"},
		{referral.ErrTransition{From: referral.Waiting, To: referral.Submitted}, call{topic: aboutOffer}, movedOn},
		{referral.ErrAlreadyDone, call{topic: aboutKeep, request: 4}, "asked to keep you in mind"},
		{referral.ErrNotYours, call{topic: aboutKeep, request: 4}, "Request #4 isn't one of yours"},
		{referral.ErrWrongState, call{topic: aboutOutcome, request: 4}, "Request #4 can't take an outcome now"},
		{referral.ErrNotYours, call{topic: aboutWithdraw, request: 9}, "You have no request #9."},
		{referral.ErrNotFound, call{topic: aboutWithdraw, request: 9}, "You have no request #9."},
		{referral.ErrNotReferrer, call{topic: aboutApprove, target: "7"}, "<@7> has no referrer profile here; they need to run /referrer join first."},
		{referral.ErrAlreadyDone, call{topic: aboutApprove, target: "7"}, "<@7> is already approved."},
		{referral.ErrNotFound, call{topic: aboutRemove, target: "7"}, "<@7> has no referrer profile here, so there was nothing to remove."},
		{referral.ErrUnderReview, call{topic: aboutResume}, "only an admin can end this pause"},
		{referral.ErrAlreadyDone, call{topic: aboutResume}, "You're not paused"},
		{referral.ErrNotReferrer, call{topic: aboutReferrer}, noProfile},
		{referral.ErrAlreadyDone, call{}, "Already done; nothing changed."},
		{referral.ErrSelfReferral, call{topic: aboutOffer}, "You can't refer yourself."},
		{refusal("as written"), call{topic: aboutOffer}, "as written"},
		{errBoom, call{topic: aboutOffer}, ""},
	}
	for _, tt := range tests {
		got := refusalText(tt.err, &tt.c)
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("refusalText(%v, %s) = %q; want %q", tt.err, tt.c.topic, got, tt.want)
		}
	}
}
