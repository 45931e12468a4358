package bot_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/referralbot/referralbot/bot"
	"github.com/referralbot/referralbot/config"
	"github.com/referralbot/referralbot/discordtest"
)

// A token Discord does not accept stops the bot at start with what to do,
// not a raw "HTTP 401".
func TestRunRefusedToken(t *testing.T) {
	dc, err := discordtest.New()
	if err != nil {
		t.Fatalf("discordtest.New: %v", err)
	}
	t.Cleanup(dc.Close)
	dc.Token = "the-current-token" // before URL, as discordtest asks

	cfg := config.Default()
	cfg.Discord.Token = "a-token-that-was-reset"
	cfg.Discord.APIURL = dc.URL()
	cfg.Database.Path = filepath.Join(t.TempDir(), "referralbot.db")
	cfg.HTTP.Listen = ""
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	b, err := bot.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("bot.New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		t.Fatal("bot.Run with a refused token still running after 15s; want it to stop with an error")
	}
	if err == nil {
		t.Fatal("bot.Run with a refused token = nil; want an error")
	}
	for _, w := range []string{"refused the bot token", "discord.token", "Developer Portal", "Reset Token"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("bot.Run with a refused token = %v; want it to mention %q", err, w)
		}
	}
	if strings.Contains(err.Error(), cfg.Discord.Token) {
		t.Errorf("bot.Run error = %v; shows the token", err)
	}
}
