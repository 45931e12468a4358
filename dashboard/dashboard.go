// Package dashboard holds the numbers of the admins' web dashboard: the
// funnel, activity, waiting companies and referrers of one server. Storage
// computes them and package web renders them; nothing private is in them.
package dashboard

import (
	"fmt"
	"time"
)

// Period is the range of the funnel, the company table and the referrers'
// counts: whole weeks ending now, or all time.
type Period string

const (
	Last4Weeks  Period = "4w"
	Last12Weeks Period = "12w"
	AllTime     Period = "all"
)

// Periods lists the periods the page offers, shortest first.
func Periods() []Period { return []Period{Last4Weeks, Last12Weeks, AllTime} }

// ParsePeriod reads the period query parameter; empty is the last 4 weeks.
func ParsePeriod(s string) (Period, error) {
	if s == "" {
		return Last4Weeks, nil
	}
	for _, p := range Periods() {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("unknown period %q; use 4w, 12w or all", s)
}

// Weeks is the period's length in weeks; 0 for all time.
func (p Period) Weeks() int {
	switch p {
	case Last4Weeks:
		return 4
	case Last12Weeks:
		return 12
	}
	return 0
}

// ChartWeeks is how many weeks the activity chart shows for the period:
// always more than the digest's eight.
func (p Period) ChartWeeks() int {
	switch p {
	case Last4Weeks:
		return 12
	case Last12Weeks:
		return 26
	}
	return 52
}

// Label is how the period reads on the page.
func (p Period) Label() string {
	switch p {
	case Last4Weeks:
		return "Last 4 weeks"
	case Last12Weeks:
		return "Last 12 weeks"
	}
	return "All time"
}

// Since is where the period starts for a page shown at now: whole
// calendar weeks in loc (the digest's weeks), the zero time for all time.
func (p Period) Since(now time.Time, loc *time.Location) time.Time {
	if p.Weeks() == 0 {
		return time.Time{}
	}
	return now.In(loc).AddDate(0, 0, -7*p.Weeks()).UTC()
}

// Funnel follows the requests made in a period: how many reached each
// step so far, a request that skipped a step (an interview with no
// screen reported) counting for it too, so each step holds at most the
// one before and the conversion rates are true ones.
type Funnel struct {
	Requests   int // requests made in the period
	Offered    int // offered to a referrer (matched)
	Accepted   int // accepted by a referrer
	Submitted  int // the referral submitted
	Screens    int // a recruiter screen reported, or a later step
	Interviews int // an interview reported, or an offer
	Offers     int // a job offer reported
}

// CompanyFunnel is the funnel of one company's requests.
type CompanyFunnel struct {
	Company string
	Funnel
}

// Activity counts what happened in a period, as the digest and
// /referral-admin stats count it: events, whenever their request was made.
type Activity struct {
	NewRequests int
	Matched     int // offers accepted
	Submitted   int // referrals submitted
	Screens     int // recruiter screens reported
	Interviews  int
	Offers      int
}

// Week is one window of the activity chart: seven calendar days ending at
// To, the digest's weeks.
type Week struct {
	From, To time.Time
	Activity
}

// Waiting is a company whose requests wait for a referrer now.
type Waiting struct {
	Company   string
	Requests  int       // waiting now
	Since     time.Time // when the oldest of them was made
	Referrers int       // active referrers at the company (0: wanted)
}

// Referrer is one referrer's profile and load; user ids only, the page
// resolves display names.
type Referrer struct {
	UserID         string
	Status         string    // pending, active or paused
	Reported       bool      // paused by a student's report until an admin acts
	PausedUntil    time.Time // zero: until resumed
	Capacity       int       // referrals per 30 days
	Used           int       // accepted in the last 30 days plus offers pending now
	Asked          int       // offers received in the period
	Accepted       int       // offers accepted in the period
	Submitted      int       // referrals submitted in the period
	LastActive     time.Time // last accept, decline or submission; joining if none
	OpenReports    int
	VerifiedDomain string
}

// Data is everything the page shows about one server; counts and user ids
// of referrers only, never what students wrote or who they are.
type Data struct {
	From, To  time.Time       // the period; From is zero for all time
	Funnel    Funnel          // the period's requests
	Companies []CompanyFunnel // the same by company, most requests first
	Activity  Activity        // what happened in the period
	Weeks     []Week          // the chart, oldest first, ending at To

	Waiting []Waiting // now, most waiting first

	MedianAccept  time.Duration // request to accept, over the period's accepts
	Accepts       int           // how many accepts MedianAccept is over
	MedianOutcome time.Duration // submission to first outcome, over the period's first outcomes
	Outcomes      int           // how many first outcomes MedianOutcome is over

	Referrers []Referrer

	// Declines are why referrers declined, all time, in the order the
	// choices are offered; counts only, never who or about whom.
	Declines []DeclineCount
}

// DeclineCount is how often referrers gave one reason after Decline.
type DeclineCount struct {
	Reason string // its label, e.g. "The request needs more detail"
	N      int
}
