package bot

import (
	"context"
	"time"

	"github.com/robfig/cron/v3"
)

// sweep runs every due step, then erases texts past their retention.
func (b *Bot) sweep(ctx context.Context) {
	n, err := b.store.RunDueSteps(ctx, 1000)
	if n > 0 {
		b.metrics.stepsRun.Add(float64(n))
		b.logger.Info("timed steps run", "count", n)
		b.sender.poke()
	}
	if err != nil && ctx.Err() == nil {
		b.logger.Error("sweep failed", "err", err)
	}
	if erased, err := b.store.EraseOldTexts(ctx); err != nil && ctx.Err() == nil {
		b.logger.Error("retention erase failed", "err", err)
	} else if erased > 0 {
		b.logger.Info("erased texts past retention", "requests", erased)
	}
}

// postDigests posts this week's digest to every server that has none yet,
// once the week's scheduled time has passed: on the schedule, and at start
// for a week missed while the bot was down.
func (b *Bot) postDigests(ctx context.Context) {
	now := b.now()
	scheduled := thisWeeksDigestTime(b.digestSchedule, now, b.cfg.Location)
	if scheduled.After(now) {
		return
	}
	posted, err := b.store.PostWeeklyDigests(ctx, now, scheduled)
	if err != nil && ctx.Err() == nil {
		b.logger.Error("weekly digest failed", "err", err)
	}
	if len(posted) > 0 {
		b.logger.Info("weekly digests queued", "servers", len(posted))
		b.sender.poke()
	}
}

// thisWeeksDigestTime is the first firing of sched in now's ISO week (in
// loc). Once it has passed, the week's digest is due.
func thisWeeksDigestTime(sched cron.Schedule, now time.Time, loc *time.Location) time.Time {
	t := now.In(loc)
	day := (int(t.Weekday()) + 6) % 7 // Monday = 0
	start := time.Date(t.Year(), t.Month(), t.Day()-day, 0, 0, 0, 0, loc)
	return sched.Next(start.Add(-time.Nanosecond))
}
