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
	h.store.fail["SaveDraft"] = errBoom
	bad := goodFields()
	bad.Intro = "secret intro text"
	resp := h.do(modalSubmit(testStudent, modalNewID("Amazon"), bad))
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

type panicStore struct{ Store }

func (panicStore) StudentRequests(context.Context, string) ([]referral.Request, error) {
	panic("bug")
}

func TestPanicStillAnswers(t *testing.T) {
	h := newHarness(t)
	h.router.Store = panicStore{h.store}
	resp := h.do(slash(testStudent, "referral", "status"))
	mustEphemeral(t, resp)
	if resp.Data.Content != apology {
		t.Errorf("reply = %q; want the apology", resp.Data.Content)
	}
	if got := h.lastResult(); got != "referral status error" {
		t.Errorf("observed %q; want %q", got, "referral status error")
	}
}

func TestUnknownInteractionsAreAnswered(t *testing.T) {
	tests := []struct {
		name string
		i    *discordgo.Interaction
	}{
		{"unknown command", slash(testStudent, "nope", "x")},
		{"unknown button", dmButton(testStudent, "old/button/1")},
		{"empty custom id", dmButton(testStudent, "")},
		{"no user", &discordgo.Interaction{Type: discordgo.InteractionMessageComponent,
			Data: discordgo.MessageComponentInteractionData{CustomID: "forget/confirm"}}},
		{"no data", &discordgo.Interaction{Type: discordgo.InteractionApplicationCommand, User: &discordgo.User{ID: "1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			mustEphemeral(t, h.do(tt.i))
			if h.store.callCount() != 0 {
				t.Errorf("store called: %v", h.store.calls)
			}
			if !strings.HasSuffix(h.lastResult(), " refused") {
				t.Errorf("observed %q; want refused", h.lastResult())
			}
		})
	}
}

func TestObserveLabels(t *testing.T) {
	h := newHarness(t)
	h.store.offers[5] = &fakeOffer{requestID: 1, referrerID: testAlumnus}
	h.store.requests[1] = referral.Request{ID: 1, StudentID: testStudent, State: referral.Offered}
	h.do(slash(testStudent, "referral", "request", str("company", "Amazon")))
	h.do(dmButton(testAlumnus, offerAcceptID(5)))
	h.do(modalSubmit(testStudent, modalNewID("Amazon"), goodFields()))
	want := []string{"referral request ok", "button offer/accept ok", "modal request ok"}
	if strings.Join(h.observed, "|") != strings.Join(want, "|") {
		t.Errorf("observed %q; want %q", h.observed, want)
	}
}

func TestNilObserveAndDefaults(t *testing.T) {
	r := &Router{Store: newFakeStore()}
	rec := &recorder{}
	r.Handle(context.Background(), rec, slash(testStudent, "referral", "status"))
	if len(rec.responses) != 1 {
		t.Fatalf("got %d responses; want 1", len(rec.responses))
	}
}
