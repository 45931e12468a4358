package commands

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

// editRecorder is an AnswerEditor that keeps what it was asked to send.
type editRecorder struct {
	mu        sync.Mutex
	edits     []*discordgo.WebhookEdit
	followups []*discordgo.WebhookParams
}

func (e *editRecorder) EditOriginal(_ *discordgo.Interaction, edit *discordgo.WebhookEdit) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.edits = append(e.edits, edit)
	return nil
}

func (e *editRecorder) Followup(_ *discordgo.Interaction, p *discordgo.WebhookParams) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.followups = append(e.followups, p)
	return nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.responses)
}

// heldStore answers Stats and ReferrerOverview only once the interaction
// was deferred: a handler slower than DeferAfter, without timing luck.
type heldStore struct {
	Store
	rec *recorder
	t   *testing.T
}

func (s heldStore) waitDeferred() {
	deadline := time.Now().Add(10 * time.Second)
	for s.rec.count() == 0 {
		if time.Now().After(deadline) {
			s.t.Error("the interaction was not deferred within 10 s")
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func (s heldStore) Stats(ctx context.Context, guildID string, now time.Time) (referral.Stats, error) {
	s.waitDeferred()
	return s.Store.Stats(ctx, guildID, now)
}

func (s heldStore) ReferrerOverview(ctx context.Context, guildID string) (referral.TrustOverview, error) {
	s.waitDeferred()
	return s.Store.ReferrerOverview(ctx, guildID)
}

func deferringHarness(t *testing.T, after time.Duration) (*harness, *recorder, *editRecorder) {
	h := newHarness(t)
	rec, ed := &recorder{}, &editRecorder{}
	h.router.Editor, h.router.DeferAfter = ed, after
	h.router.Store = heldStore{Store: h.store, rec: rec, t: t}
	return h, rec, ed
}

// A command slower than DeferAfter is deferred as an ephemeral "thinking"
// reply, which its answer then replaces.
func TestSlowCommandIsDeferredThenEdited(t *testing.T) {
	h, rec, ed := deferringHarness(t, 20*time.Millisecond)
	h.router.Handle(context.Background(), rec, adminCall(discordgo.PermissionManageGuild, "stats"))
	if len(rec.responses) != 1 || rec.responses[0].Type != discordgo.InteractionResponseDeferredChannelMessageWithSource ||
		rec.responses[0].Data.Flags&discordgo.MessageFlagsEphemeral == 0 {
		t.Fatalf("callbacks = %+v; want one ephemeral deferral (type 5)", rec.responses)
	}
	if len(ed.edits) != 1 || len(ed.followups) != 0 {
		t.Fatalf("%d edits, %d followups; want the answer as one edit of the deferred reply", len(ed.edits), len(ed.followups))
	}
	if e := ed.edits[0]; e.Content == nil || e.Embeds == nil || len(*e.Embeds) == 0 || e.AllowedMentions == nil {
		t.Errorf("edit = %+v; want the stats embed with allowed mentions set", e)
	}
	if got := h.lastResult(); got != "referral-admin stats ok" {
		t.Errorf("observed %q; want referral-admin stats ok", got)
	}
}

// A button whose answer is slow is acknowledged without changing its
// message; the update then edits that message.
func TestSlowButtonUpdateEditsItsMessage(t *testing.T) {
	h, rec, ed := deferringHarness(t, 20*time.Millisecond)
	i := guildButton(testAdmin, pageID(2))
	i.Member.Permissions = discordgo.PermissionManageGuild
	h.router.Handle(context.Background(), rec, i)
	if len(rec.responses) != 1 || rec.responses[0].Type != discordgo.InteractionResponseDeferredMessageUpdate {
		t.Fatalf("callbacks = %+v; want one deferred update (type 6)", rec.responses)
	}
	if len(ed.edits) != 1 || len(ed.followups) != 0 || ed.edits[0].Content == nil || !strings.Contains(*ed.edits[0].Content, "referrers") {
		t.Fatalf("edits %+v, followups %+v; want the page as an edit of the button's message", ed.edits, ed.followups)
	}
}

// The export defers before it reads anything, and its file rides on the
// edit.
func TestExportDefersFirst(t *testing.T) {
	h := newHarness(t)
	h.join(testAlumnus, true, "Amazon")
	h.request(testStudent, "https://amazon.jobs/en/jobs/1")
	rec, ed := &recorder{}, &editRecorder{}
	h.router.Editor, h.router.DeferAfter = ed, -1 // no timer: only "slow" defers
	h.router.Handle(context.Background(), rec, adminCall(discordgo.PermissionManageGuild, "export"))
	if len(rec.responses) != 1 || rec.responses[0].Type != discordgo.InteractionResponseDeferredChannelMessageWithSource {
		t.Fatalf("callbacks = %+v; want the deferral first", rec.responses)
	}
	if len(ed.edits) != 1 || len(ed.edits[0].Files) != 1 || !strings.Contains(*ed.edits[0].Content, "1 request") {
		t.Fatalf("edits = %+v; want one edit carrying the CSV", ed.edits)
	}
}

// A quick answer is the callback itself, editor or not.
func TestQuickAnswerIsNotDeferred(t *testing.T) {
	h := newHarness(t)
	rec, ed := &recorder{}, &editRecorder{}
	h.router.Editor = ed // DeferAfter 0: the default, far above this
	h.router.Handle(context.Background(), rec, slash(testStudent, "referral", "status"))
	if len(rec.responses) != 1 || rec.responses[0].Type != discordgo.InteractionResponseChannelMessageWithSource || len(ed.edits)+len(ed.followups) != 0 {
		t.Fatalf("callbacks %+v, edits %d, followups %d; want one plain reply", rec.responses, len(ed.edits), len(ed.followups))
	}
}

// What a deferral can't become: a form (Discord opens one only as the
// first answer) turns into a "try again"; a button's own reply becomes a
// followup, since the deferral left the button's message as it was.
func TestDeferredAnswerShapes(t *testing.T) {
	modal := &discordgo.InteractionResponse{Type: discordgo.InteractionResponseModal, Data: &discordgo.InteractionResponseData{CustomID: "x", Title: "Form"}}
	ed := &editRecorder{}
	a := &answerer{i: slash(testStudent, "referral", "request"), editor: ed}
	if err := a.follow(modal); err != nil || len(ed.edits) != 1 || *ed.edits[0].Content != tooSlowForForm {
		t.Fatalf("deferred form: edits %+v, err %v; want the try-again text", ed.edits, err)
	}
	ed = &editRecorder{}
	a = &answerer{i: dmButton(testStudent, "x"), editor: ed}
	if err := a.follow(ephemeral("done")); err != nil || len(ed.followups) != 1 || ed.followups[0].Content != "done" ||
		ed.followups[0].Flags&discordgo.MessageFlagsEphemeral == 0 || len(ed.edits) != 0 {
		t.Fatalf("deferred button reply: followups %+v, edits %+v, err %v; want one ephemeral followup", ed.followups, ed.edits, err)
	}
}
