package bot_test

import (
	"context"
	"io"
	"log/slog"
	"syscall"
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
	dc, ctx := startBenchBot(b)
	cmd := discordtest.Command{GuildID: guildID, ChannelID: generalID, UserID: sam, Name: "referral", Subcommand: "status"}
	b.ReportAllocs()
	defer reportCPU(b)()
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

// BenchmarkInteractionRoundTripParallel is the same with eight commands in
// flight at once, as under load: what a burst costs beyond one at a time
// (connections to the database and to Discord opened and closed again).
func BenchmarkInteractionRoundTripParallel(b *testing.B) {
	dc, ctx := startBenchBot(b)
	cmd := discordtest.Command{GuildID: guildID, ChannelID: generalID, UserID: sam, Name: "referral", Subcommand: "status"}
	b.ReportAllocs()
	defer reportCPU(b)()
	b.SetParallelism(4) // 4 x GOMAXPROCS (2 here) in flight
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			in, err := dc.RunCommand(ctx, cmd)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := in.Response(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// reportCPU reports the process's CPU time per operation (the fake's
// included) when the returned func runs: on a shared machine it moves far
// less than wall time.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() { b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op") }
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startBenchBot runs the bot against a fake until the benchmark ends.
func startBenchBot(b *testing.B) (*discordtest.Server, context.Context) {
	b.Helper()
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
	b.Cleanup(func() { cancel(); <-done })
	select {
	case <-bt.Ready():
	case err := <-done:
		b.Fatalf("bot stopped: %v", err)
	case <-time.After(15 * time.Second):
		b.Fatal("bot not ready")
	}
	return dc, ctx
}
