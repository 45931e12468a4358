package referral

import (
	"fmt"
	"time"
)

// WeekKey is the ISO week of t in loc, e.g. "2026-W48": one digest each.
// Sunday 23:30 and Monday 00:30 local time are in different weeks whatever
// the UTC offset.
func WeekKey(t time.Time, loc *time.Location) string {
	y, w := t.In(loc).ISOWeek()
	return fmt.Sprintf("%d-W%02d", y, w)
}

// WeekStart is Monday 00:00 in loc of t's ISO week: the scheduler looks
// for the week's digest time from there.
func WeekStart(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	day := (int(t.Weekday()) + 6) % 7 // Monday = 0
	return time.Date(t.Year(), t.Month(), t.Day()-day, 0, 0, 0, 0, loc)
}

// DigestDays is the period a digest covers: the seven days before it is
// posted.
const DigestDays = 7

// DigestPeriod is the window a digest posted at postedAt covers: the seven
// days before the post, in calendar days of loc so a daylight-saving change
// neither shortens nor stretches it.
func DigestPeriod(postedAt time.Time, loc *time.Location) (from, to time.Time) {
	to = postedAt.In(loc)
	return to.AddDate(0, 0, -DigestDays), to
}

// DigestTitle names a digest's period truthfully: the seven days that end
// at the post, e.g. "the 7 days to Mon 7 Dec 2026, 09:00 UTC". A range of
// dates such as "30 Nov – 7 Dec" would read as eight days; a week number
// would claim the calendar week, which the numbers do not cover.
func DigestTitle(to time.Time, loc *time.Location) string {
	t := to.In(loc)
	return fmt.Sprintf("the %d days to %s", DigestDays, t.Format("Mon 2 Jan 2006, 15:04 MST"))
}

// DigestDue decides whether a server's scheduled digest posts at this
// firing of the schedule. At most one scheduled digest per server and
// calendar week (digest-now counts as that week's); a server whose digest
// channel was set after the week's latest firing so far waits for the next
// firing, and a restart that catches up posts only when a firing since
// setup was missed. lastFiring is the schedule's latest firing at or before
// now; postedThisWeek whether the week (WeekKey of lastFiring) has a digest.
func DigestDue(channelSince, lastFiring time.Time, postedThisWeek bool) bool {
	if channelSince.IsZero() || lastFiring.IsZero() || postedThisWeek {
		return false
	}
	// Strictly before: setup at the very moment of a firing posts nothing
	// by itself; the next firing does.
	return channelSince.Before(lastFiring)
}
