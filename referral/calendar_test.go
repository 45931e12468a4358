package referral

import (
	"testing"
	"time"
	_ "time/tzdata" // the zones below exist wherever the tests run
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

func TestDigestTitleNamesTheSevenDaysBeforeThePost(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		postedAt time.Time
		loc      *time.Location
		want     string
		from     time.Time
	}{
		{"monday morning", time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), time.UTC,
			"the 7 days to Mon 7 Dec 2026, 09:00 UTC", time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)},
		{"sunday evening", time.Date(2026, 12, 6, 18, 30, 0, 0, time.UTC), time.UTC,
			"the 7 days to Sun 6 Dec 2026, 18:30 UTC", time.Date(2026, 11, 29, 18, 30, 0, 0, time.UTC)},
		{"across the new year", time.Date(2027, 1, 4, 8, 0, 0, 0, time.UTC), berlin,
			"the 7 days to Mon 4 Jan 2027, 09:00 CET", time.Date(2026, 12, 28, 8, 0, 0, 0, time.UTC)},
		{"across a clock change", time.Date(2026, 3, 30, 7, 0, 0, 0, time.UTC), berlin,
			"the 7 days to Mon 30 Mar 2026, 09:00 CEST", time.Date(2026, 3, 23, 8, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		from, to := DigestPeriod(tt.postedAt, tt.loc)
		if !to.Equal(tt.postedAt) || !from.Equal(tt.from) {
			t.Errorf("%s: DigestPeriod(%v) = %v, %v; want %v, %v", tt.name, tt.postedAt, from, to, tt.from, tt.postedAt)
		}
		if got := DigestTitle(to, tt.loc); got != tt.want {
			t.Errorf("%s: DigestTitle(%v) = %q; want %q", tt.name, to, got, tt.want)
		}
	}
}

func TestDigestDueOncePerWeekFromTheFiringAfterSetup(t *testing.T) {
	wed := time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		since, firing time.Time
		posted        bool
		want          bool
	}{
		{"set up before the firing", wed.Add(-time.Hour), wed, false, true},
		{"set up at the firing waits for the next", wed, wed, false, false},
		{"set up after the latest firing waits", wed.Add(time.Minute), wed, false, false},
		{"already posted this week", wed.Add(-time.Hour), wed.Add(24 * time.Hour), true, false},
		{"no digest channel", time.Time{}, wed, false, false},
		{"schedule has not fired yet", wed, time.Time{}, false, false},
	}
	for _, tt := range tests {
		if got := DigestDue(tt.since, tt.firing, tt.posted); got != tt.want {
			t.Errorf("%s: DigestDue(%v, %v, %v) = %v; want %v", tt.name, tt.since, tt.firing, tt.posted, got, tt.want)
		}
	}
}
