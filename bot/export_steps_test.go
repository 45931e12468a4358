package bot

import "context"

// SweepNow runs one sweep at once, as the cron job does, so a test knows
// that every step due by the bot's clock has run when it returns.
func (b *Bot) SweepNow(ctx context.Context) { b.sweep(ctx) }
