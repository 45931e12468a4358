package bot

import (
	"context"

	"github.com/referralbot/referralbot/storage"
)

// SweepNow runs one sweep at once, as the cron job does, so a test knows
// that every step due by the bot's clock has run when it returns.
func (b *Bot) SweepNow(ctx context.Context) { b.sweep(ctx) }

// DigestNow runs the digest job once, as cron fires it: a test knows that
// whatever digest is due by the bot's clock is queued when it returns.
func (b *Bot) DigestNow(ctx context.Context) { b.postDigests(ctx) }

// Counts reads the outbox and step gauges at the bot's clock.
func (b *Bot) Counts(ctx context.Context) (storage.OutboxCounts, error) {
	return b.store.Counts(ctx, b.now())
}

// WaitMails waits until every verification mail handed to the mailer has
// been delivered or refused. Handlers hand a mail over before they answer,
// so after an answer it covers the mail that answer started, if any.
func (b *Bot) WaitMails() {
	if b.mailer != nil {
		b.mailer.wg.Wait()
	}
}

// RateLimitBuckets is how many rate-limit buckets the session holds.
func (b *Bot) RateLimitBuckets() int { return rateLimitBuckets(b.session) }
