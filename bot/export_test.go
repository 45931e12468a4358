package bot

import (
	"context"

	"github.com/referralbot/referralbot/storage"
)

// SweepNow runs one sweep at once, as the cron job does, so a test knows
// that every step due by the bot's clock has run when it returns.
func (b *Bot) SweepNow(ctx context.Context) { b.sweep(ctx) }

// Counts reads the outbox and step gauges at the bot's clock.
func (b *Bot) Counts(ctx context.Context) (storage.OutboxCounts, error) {
	return b.store.Counts(ctx, b.now())
}
