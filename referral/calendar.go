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
