package referral

import (
	"testing"
	"time"
)

func TestWeekKeyInTimeZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	sunday := time.Date(2026, 11, 15, 23, 30, 0, 0, ny) // 04:30 UTC on Monday
	monday := time.Date(2026, 11, 16, 0, 30, 0, 0, ny)
	if a, b := WeekKey(sunday, time.UTC), WeekKey(monday, time.UTC); a != b {
		t.Fatalf("in UTC both are Monday: %s, %s", a, b)
	}
	if a, b := WeekKey(sunday, ny), WeekKey(monday, ny); a != "2026-W46" || b != "2026-W47" {
		t.Errorf("WeekKey in New York = %s, %s; want 2026-W46, 2026-W47", a, b)
	}
	if got := WeekStart(sunday, ny); !got.Equal(time.Date(2026, 11, 9, 0, 0, 0, 0, ny)) {
		t.Errorf("WeekStart(Sunday 23:30) = %v; want Monday 9 Nov 00:00 New York", got)
	}
	// Across the end of daylight saving time (1 Nov 2026).
	if got := WeekStart(time.Date(2026, 11, 3, 12, 0, 0, 0, ny), ny); !got.Equal(time.Date(2026, 11, 2, 0, 0, 0, 0, ny)) || got.Sub(time.Date(2026, 10, 26, 0, 0, 0, 0, ny)) != 169*time.Hour {
		t.Errorf("WeekStart across DST = %v; want Monday 2 Nov 00:00 EST, 169 hours after the Monday before", got)
	}
	for _, tt := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 12, 31, 23, 0, 0, 0, ny), "2026-W53"},
		{time.Date(2027, 1, 4, 0, 0, 0, 0, ny), "2027-W01"},
		{time.Date(2027, 1, 1, 3, 0, 0, 0, time.UTC), "2026-W53"}, // still 31 Dec in New York
	} {
		if got := WeekKey(tt.t, ny); got != tt.want {
			t.Errorf("WeekKey(%v) = %s; want %s", tt.t, got, tt.want)
		}
	}
}
