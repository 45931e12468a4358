package bot

import (
	"context"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/referralbot/referralbot/referral"
)

// sweepStore is what the sweep and the digest firing ask of the store.
type sweepStore interface {
	RunDueSteps(ctx context.Context, limit int) (int, error)
	MatchWaiting(ctx context.Context) (int, error)
	EraseOldTexts(ctx context.Context) (int64, error)
	// PostWeeklyDigests queues the week's digest for every server that has
	// none yet and returns those servers.
	PostWeeklyDigests(ctx context.Context, now, scheduledAt time.Time) ([]string, error)
}

// sweep runs every due step, offers waiting requests to referrers whose
// capacity freed up meanwhile, then erases texts past their retention.
// While the database cannot be written it does nothing: the write gate
// logged why, and the steps run once writes work again. A write refused
// during the sweep cancels ctx, so it stops there without an error of its
// own.
func (b *Bot) sweep(ctx context.Context) {
	ctx, cancel := b.writes.whileWritable(ctx)
	defer cancel()
	if ctx.Err() != nil {
		return
	}
	n, err := b.store.RunDueSteps(ctx, 1000)
	if n > 0 {
		b.metrics.stepsRun.Add(float64(n))
		b.logger.Info("timed steps run", "count", n)
	}
	if err != nil && ctx.Err() == nil {
		b.logger.Error("sweep failed", "err", err)
	}
	if offered, err := b.store.MatchWaiting(ctx); err != nil && ctx.Err() == nil {
		b.logger.Error("matching waiting requests failed", "err", err)
	} else if offered > 0 {
		b.logger.Info("waiting requests offered", "count", offered)
	}
	if erased, err := b.store.EraseOldTexts(ctx); err != nil && ctx.Err() == nil {
		b.logger.Error("retention erase failed", "err", err)
	} else if erased > 0 {
		b.logger.Info("erased texts past retention", "requests", erased)
	}
}

// postDigests posts this week's digest to every server that has none yet
// and had its digest channel by the schedule's latest firing so far this
// week: at that firing, or at start for a firing missed while the bot was
// down. A server set up mid-week gets its first digest at the next firing
// after setup, whatever the schedule; each gets at most one a week.
func (b *Bot) postDigests(ctx context.Context) {
	ctx, cancel := b.writes.whileWritable(ctx)
	defer cancel()
	if ctx.Err() != nil {
		return
	}
	now := b.now()
	firing := lastFiringThisWeek(b.digestSchedule, now, b.cfg.Location())
	if firing.IsZero() {
		return
	}
	posted, err := b.store.PostWeeklyDigests(ctx, now, firing)
	if err != nil && ctx.Err() == nil {
		b.logger.Error("weekly digest failed", "err", err)
	}
	if len(posted) > 0 {
		b.logger.Info("weekly digests queued", "servers", len(posted))
	}
}

// lastFiringThisWeek is the latest firing of sched at or before now in
// now's ISO week (in loc); zero before the week's first firing. An @every
// schedule counts its firings from the week's start.
func lastFiringThisWeek(sched cron.Schedule, now time.Time, loc *time.Location) time.Time {
	start := referral.WeekStart(now, loc)
	if every, ok := sched.(cron.ConstantDelaySchedule); ok && every.Delay > 0 {
		n := now.Sub(start) / every.Delay
		if n < 1 {
			return time.Time{}
		}
		return start.Add(n * every.Delay)
	}
	t := sched.Next(start.Add(-time.Nanosecond))
	if t.IsZero() || t.After(now) {
		return time.Time{}
	}
	// A standard spec fires at most once a minute: at most 10,080 steps.
	for {
		next := sched.Next(t)
		if next.IsZero() || next.After(now) {
			return t
		}
		t = next
	}
}
