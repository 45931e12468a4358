package bot_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/referralbot/referralbot/bot"
	"github.com/referralbot/referralbot/discordtest"
)

// BenchmarkInteractionRoundTrip measures one slash command end to end: the
// fake gateway dispatches it, discordgo decodes it, the router reads SQLite
// and the answer goes back over HTTP. It is the latency a user feels,
// without Discord's own network.
func BenchmarkInteractionRoundTrip(b *testing.B) {
	dc := newWorld(b)
	cfg := testConfig(b, dc)
	cfg.HTTP.Listen = ""
	cfg.Limits.Interactions = 0 // one member sends them all: no per-member limit
	ctx, cancel := context.WithCancel(context.Background())
	bt, err := bot.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- bt.Run(ctx) }()
	defer func() { cancel(); <-done }()
	select {
	case <-bt.Ready():
	case err := <-done:
		b.Fatalf("bot stopped: %v", err)
	case <-time.After(15 * time.Second):
		b.Fatal("bot not ready")
	}
	cmd := discordtest.Command{GuildID: guildID, ChannelID: generalID, UserID: sam, Name: "referral", Subcommand: "status"}
	b.ReportAllocs()
	for b.Loop() {
		in, err := dc.RunCommand(ctx, cmd)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := in.Response(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
