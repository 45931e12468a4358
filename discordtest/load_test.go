package discordtest

import (
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

func TestTimingsEventsSinceAndForgetBefore(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	answer(dg, func(*discordgo.InteractionCreate) *discordgo.InteractionResponse { return ephemeral("ok") })
	openSession(t, s, dg)
	register(t, s, dg)
	ctx := ctxT(t)
	dm, err := dg.UserChannelCreate(aliceID)
	if err != nil {
		t.Fatal(err)
	}
	approve := Command{GuildID: guildID, ChannelID: generalID, UserID: bobID,
		Name: "referral-admin", Subcommand: "approve", Options: []Option{{Name: "user", Value: aliceID}}}
	// roundTrip runs the command and sends alice a DM.
	roundTrip := func(text string) *Interaction {
		t.Helper()
		in, err := s.RunCommand(ctx, approve)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := in.Response(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := dg.ChannelMessageSend(dm.ID, text); err != nil {
			t.Fatal(err)
		}
		return in
	}

	old := roundTrip("old")
	tm := s.Timings([]*Interaction{old})[0]
	if !tm.Known || tm.Delivered.IsZero() || tm.Answered.Before(tm.Delivered) || tm.Latency() <= 0 ||
		tm.Type != discordgo.InteractionResponseChannelMessageWithSource {
		t.Fatalf("Timings(answered) = %+v; want known, delivered, answered after delivery with type 4", tm)
	}
	dms, cursor := s.EventsSince(0, "dm")
	if len(dms) != 1 || dms[0].Message.Content != "old" {
		t.Fatalf("EventsSince(0, dm) = %v; want the one DM \"old\"", dms)
	}

	cut := time.Now()
	time.Sleep(2 * time.Millisecond) // IDs have millisecond resolution: what follows is after cut
	kept := roundTrip("new")
	s.ForgetBefore(cut)

	got := s.Timings([]*Interaction{old, kept})
	if got[0].Known || !got[1].Known || got[1].Answered.IsZero() {
		t.Errorf("Timings after ForgetBefore = %+v; want the old one forgotten, the new one answered", got)
	}
	if _, err := old.Response(ctx); err == nil {
		t.Error("Response of a forgotten interaction succeeded; want an error")
	}
	dms, _ = s.EventsSince(cursor, "dm")
	if len(dms) != 1 || dms[0].Message.Content != "new" {
		t.Errorf("EventsSince(cursor, dm) after ForgetBefore = %v; want only the DM \"new\"", dms)
	}
	if msgs := s.DMs(aliceID); len(msgs) != 1 || msgs[0].Content != "new" {
		t.Errorf("DMs after ForgetBefore = %d messages; want only \"new\"", len(msgs))
	}
	for _, e := range s.Events() {
		if e.At.Before(cut) {
			t.Errorf("event %v kept; want everything before the cut dropped", e)
		}
	}
	for _, r := range s.Requests() {
		if r.At.Before(cut) {
			t.Errorf("request log %+v kept; want everything before the cut dropped", r)
		}
	}
}
