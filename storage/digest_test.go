package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// setClock moves the store's clock to t.
func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// digestWorld drives a store through the real methods, each at a chosen
// time, to seed a database with known numbers.
type digestWorld struct {
	t     *testing.T
	s     *Store
	clk   *clock
	jobNo int
}

func (w *digestWorld) at(t time.Time) *digestWorld { w.clk.set(t); return w }

func (w *digestWorld) setup(guild string) {
	w.t.Helper()
	err := w.s.SetupGuild(context.Background(), referral.GuildSettings{GuildID: guild, DigestChannelID: "digest-" + guild, ReferrerRoleID: "role-" + guild})
	if err != nil {
		w.t.Fatalf("SetupGuild(%s): %v", guild, err)
	}
}

func (w *digestWorld) referrer(guild, user, company string) {
	w.t.Helper()
	_, err := w.s.JoinReferrer(context.Background(), referral.JoinInput{GuildID: guild, UserID: user,
		Companies: []referral.Company{referral.NormalizeCompany(company)}, MemberRoles: []string{"role-" + guild}})
	if err != nil {
		w.t.Fatalf("JoinReferrer(%s): %v", user, err)
	}
}

// request creates a request and returns its id and whom it was offered to.
func (w *digestWorld) request(guild, student, company string) (int64, string) {
	w.t.Helper()
	w.jobNo++
	sub, err := w.s.CreateRequest(context.Background(), referral.NewRequest{GuildID: guild, StudentID: student,
		Company: referral.NormalizeCompany(company), Fields: goodFields(fmt.Sprintf("https://jobs.example/%d", w.jobNo))})
	if err != nil {
		w.t.Fatalf("CreateRequest(%s, %s): %v", student, company, err)
	}
	return sub.Request.ID, sub.Request.ReferrerID
}

func (w *digestWorld) accept(requestID int64, referrer string) {
	w.t.Helper()
	var offerID int64
	if err := w.s.read.QueryRow(`SELECT id FROM offers WHERE request_id = ? AND state = 'pending'`, requestID).Scan(&offerID); err != nil {
		w.t.Fatalf("no pending offer for request %d: %v", requestID, err)
	}
	if _, err := w.s.AnswerOffer(context.Background(), offerID, referrer, true); err != nil {
		w.t.Fatalf("AnswerOffer(%d, %s): %v", offerID, referrer, err)
	}
}

func (w *digestWorld) submit(requestID int64, referrer string) {
	w.t.Helper()
	if _, err := w.s.MarkSubmitted(context.Background(), requestID, referrer); err != nil {
		w.t.Fatalf("MarkSubmitted(%d): %v", requestID, err)
	}
}

func (w *digestWorld) outcome(requestID int64, student string, o referral.Outcome) {
	w.t.Helper()
	if _, err := w.s.RecordOutcome(context.Background(), student, requestID, o); err != nil {
		w.t.Fatalf("RecordOutcome(%d, %s): %v", requestID, o, err)
	}
}

func nov(day, hour int) time.Time { return time.Date(2026, 11, day, hour, 0, 0, 0, time.UTC) }

// seedTwoWeeks fills two weeks of server g1 (and a little of g2): week A
// is 2 Nov 09:00 to 9 Nov 09:00 UTC, week B, the digest's, from then to
// 16 Nov 09:00.
func seedTwoWeeks(t *testing.T) (*Store, *clock) {
	s, clk, _ := openTest(t)
	w := &digestWorld{t: t, s: s, clk: clk}
	w.at(nov(1, 12))
	w.setup("g1")
	w.setup("g2")
	w.referrer("g1", "ann", "Amazon")
	w.referrer("g1", "ben", "Netflix")
	w.referrer("g1", "cy", "Apple")

	// Week A.
	r1, to := w.at(nov(2, 10)).request("g1", "stu-1", "Apple")
	if to != "cy" {
		t.Fatalf("Apple request offered to %q; want cy", to)
	}
	w.at(nov(2, 12)).accept(r1, "cy")
	w.at(nov(3, 10)).submit(r1, "cy")
	w.at(nov(5, 10)).outcome(r1, "stu-1", referral.OutcomeScreen)

	// Week B.
	w.at(nov(9, 12)).outcome(r1, "stu-1", referral.OutcomeInterview)
	r2, _ := w.at(nov(10, 10)).request("g1", "stu-2", "Amazon")
	w.at(nov(10, 11)).accept(r2, "ann") // 1 h
	r3, _ := w.at(nov(10, 11)).request("g1", "stu-3", "Netflix")
	w.at(nov(10, 15)).accept(r3, "ben") // 4 h
	w.at(nov(10, 16)).submit(r2, "ann")
	r4, _ := w.at(nov(11, 10)).request("g1", "stu-4", "Amazon")
	w.at(nov(11, 12)).submit(r3, "ben")
	w.at(nov(11, 20)).accept(r4, "ann") // 10 h
	r5, _ := w.at(nov(12, 8)).request("g1", "stu-5", "Netflix")
	for i, c := range []string{"Stripe", "Google", "Stripe", "Meta"} { // nobody refers there
		if _, to := w.at(nov(12, 9+i)).request("g1", fmt.Sprintf("stu-%d", 6+i), c); to != "" {
			t.Fatalf("%s request offered to %q; want it waiting", c, to)
		}
	}
	w.at(nov(12, 9)).request("g2", "stu-10", "Stripe") // another server
	w.at(nov(12, 14)).outcome(r3, "stu-3", referral.OutcomeScreen)
	w.at(nov(13, 10)).outcome(r2, "stu-2", referral.OutcomeOffer)
	w.at(nov(13, 14)).accept(r5, "ben") // 30 h
	w.at(nov(14, 10)).submit(r5, "ben")
	return s, clk
}

func TestDigestFromSeededDatabase(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, clk := seedTwoWeeks(t)
		ctx := context.Background()
		now := nov(16, 9)
		clk.set(now)

		d, err := s.PostDigestNow(ctx, "g1", now)
		if err != nil {
			t.Fatalf("PostDigestNow: %v", err)
		}
		if d.Week != "2026-W47" || !d.From.Equal(nov(9, 9)) || !d.To.Equal(now) {
			t.Errorf("digest covers %s, %v to %v; want 2026-W47, 9 Nov 09:00 to 16 Nov 09:00", d.Week, d.From, d.To)
		}
		week := [6]int{d.NewRequests, d.Matched, d.Submitted, d.Screens, d.Interviews, d.Offers}
		if want := [6]int{8, 4, 3, 1, 1, 1}; week != want {
			t.Errorf("week (requests, matched, submitted, screens, interviews, offers) = %v; want %v", week, want)
		}
		if want := (referral.Totals{Requests: 9, Matched: 5, Submitted: 4, Screens: 2, Interviews: 1, Offers: 1}); d.Total != want {
			t.Errorf("totals = %+v; want %+v", d.Total, want)
		}
		// The week's waits from request to accept: 1, 4, 10 and 30 hours.
		if d.MedianAccept != 7*time.Hour {
			t.Errorf("median time to accept = %v; want 7h", d.MedianAccept)
		}
		wantWanted := []referral.Wanted{{Company: "Stripe", Waiting: 2}, {Company: "Google", Waiting: 1}, {Company: "Meta", Waiting: 1}}
		if !reflect.DeepEqual(d.Wanted, wantWanted) {
			t.Errorf("wanted = %+v; want %+v", d.Wanted, wantWanted)
		}
		// ben accepted or submitted 4 times this week, ann 3; cy only last week.
		if want := []string{"ben", "ann"}; !reflect.DeepEqual(d.ThankReferrers, want) {
			t.Errorf("thanked = %v; want %v", d.ThankReferrers, want)
		}
		if len(d.History) != 8 {
			t.Fatalf("history has %d weeks; want 8", len(d.History))
		}
		for i, h := range d.History {
			want := referral.WeekCounts{Week: fmt.Sprintf("2026-W%02d", 40+i)}
			switch i {
			case 6:
				want.Requests, want.Submitted = 1, 1
			case 7:
				want.Requests, want.Submitted, want.Interviews, want.Offers = 8, 3, 1, 1
			}
			if h != want {
				t.Errorf("history[%d] = %+v; want %+v", i, h, want)
			}
		}

		// The same digest is queued for the digest channel, with nothing private in it.
		var payload, channel string
		if err := s.read.QueryRow(`SELECT payload, channel_id FROM outbox WHERE kind = 'digest' AND guild_id = 'g1'`).Scan(&payload, &channel); err != nil {
			t.Fatalf("queued digest: %v", err)
		}
		var n referral.Notice
		if err := json.Unmarshal([]byte(payload), &n); err != nil || n.Digest == nil {
			t.Fatalf("queued digest payload %q: %v", payload, err)
		}
		if channel != "digest-g1" || !reflect.DeepEqual(*n.Digest, d) {
			t.Errorf("queued digest in %s = %+v; want %+v in digest-g1", channel, *n.Digest, d)
		}
		for _, private := range []string{"jobs.example", "resume", "third-year", "internship", "stu-"} {
			if strings.Contains(payload, private) {
				t.Errorf("queued digest contains %q: %s", private, payload)
			}
		}

		// Stats reads the same numbers, with a row per company.
		st, err := s.Stats(ctx, "g1", now)
		if err != nil {
			t.Fatalf("Stats: %v", err)
		}
		if !reflect.DeepEqual(st.Week, d) {
			t.Errorf("Stats week = %+v; want the digest %+v", st.Week, d)
		}
		if st.Referrers.Active != 3 {
			t.Errorf("active referrers = %d; want 3", st.Referrers.Active)
		}
		byName := map[string]referral.CompanyStats{}
		for _, c := range st.Companies {
			byName[c.Company] = c
		}
		for _, want := range []referral.CompanyStats{
			{Company: "Stripe", Waiting: 2, Open: 2},
			{Company: "Amazon", Referrers: 1, Open: 1, Submitted: 1},
			{Company: "Netflix", Referrers: 1, Submitted: 2},
			{Company: "Apple", Referrers: 1, Submitted: 1},
		} {
			if got := byName[want.Company]; got != want {
				t.Errorf("stats row %s = %+v; want %+v", want.Company, got, want)
			}
		}
		if len(st.Companies) != 6 || st.Companies[0].Company != "Stripe" {
			t.Errorf("stats companies = %+v; want 6 rows, most waiting first", st.Companies)
		}

		// The other server sees only its own request.
		d2, err := s.Stats(ctx, "g2", now)
		if err != nil {
			t.Fatal(err)
		}
		if d2.Week.NewRequests != 1 || d2.Week.Total.Requests != 1 || len(d2.Week.Wanted) != 1 || len(d2.Week.ThankReferrers) != 0 {
			t.Errorf("g2 digest = %+v; want its one waiting Stripe request only", d2.Week)
		}
	})
}

// A week with no accepts has no median; an odd number takes the middle.
func TestDigestMedian(t *testing.T) {
	tests := []struct {
		waits []int64
		want  time.Duration
	}{
		{nil, 0},
		{[]int64{5000}, 5 * time.Second},
		{[]int64{1000, 2000, 9000}, 2 * time.Second},
		{[]int64{1000, 2000, 4000, 9000}, 3 * time.Second},
	}
	for _, tt := range tests {
		if got := median(tt.waits); got != tt.want {
			t.Errorf("median(%v) = %v; want %v", tt.waits, got, tt.want)
		}
	}
}

// explain returns the query plan's lines.
func explain(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	rows, err := s.read.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("EXPLAIN %s: %v", query, err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	return strings.Join(lines, "\n")
}

func TestDigestQueriesUseIndexesSQLite(t *testing.T) {
	// Plans as the bot gets them: nothing runs ANALYZE, so SQLite has no
	// statistics and picks indexes by their shape.
	s, _ := seedTwoWeeks(t)
	now := nov(16, 9)
	from, to := ms(nov(9, 9)), ms(now)
	// A window with every part: partial hours, whole hours and whole days.
	window := windowParts("g1", nov(9, 9).Add(30*time.Minute).UnixMilli(), now.Add(-20*time.Minute).UnixMilli())

	// want: table (as aliased) and the index and its constraint it must be
	// searched by.
	type search struct{ table, index string }
	tests := []struct {
		name  string
		query string
		args  []any
		want  []search
	}{
		{"window", qWindowCounts, window, []search{
			{"event_days", "PRIMARY KEY (guild_id=? AND day>? AND day<?)"},
			{"event_hours", "PRIMARY KEY (guild_id=? AND hour>? AND hour<?)"},
			{"events", "events_guild_at (guild_id=? AND at>? AND at<?)"}}},
		{"totals", qEventTotals, []any{"g1"}, []search{{"event_totals", "PRIMARY KEY (guild_id=?)"}}},
		{"waits", qDigestWaits, []any{"g1", from, to}, []search{{"events", "events_referrer_work (guild_id=? AND kind=? AND at>? AND at<?)"}}},
		{"wanted", qDigestWanted, []any{"g1"}, []search{{"c", "company_counts_waiting (guild_id=?)"},
			{"r", "requests_waiting (guild_id=? AND company_key=?)"}}},
		{"thanks", qDigestThanks, []any{"g1", from, to}, []search{{"events", "events_referrer_work (guild_id=? AND kind=? AND at>? AND at<?)"}}},
		// Every server's settings are read (one row each); their digests by key.
		{"due", qDigestDue, []any{"2026-W47"}, []search{{"d", "sqlite_autoindex_digests_1 (guild_id=? AND week=?)"}}},
		{"stats referrers", qStatsReferrers, []any{"g1"}, []search{{"referrer_counts", "PRIMARY KEY (guild_id=?)"}}},
		{"stats undeliverable", qStatsUndeliverable, []any{"g1"}, []search{{"undeliverable_counts", "PRIMARY KEY (guild_id=?)"}}},
		{"stats companies", qStatsCompanies, []any{"g1"}, []search{{"company_counts", "PRIMARY KEY (guild_id=?)"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := explain(t, s, tt.query, tt.args...)
			lines := strings.Split(plan, "\n")
			for _, want := range tt.want {
				found := false
				for _, line := range lines {
					found = found || strings.HasPrefix(line, "SEARCH "+want.table+" USING ") && strings.HasSuffix(line, want.index)
				}
				if !found {
					t.Errorf("plan does not search %s by %s:\n%s", want.table, want.index, plan)
				}
			}
			// No full scan of a table that grows with activity (the
			// window's UNION ALL is read as a subquery).
			for _, line := range lines {
				if strings.HasPrefix(line, "SCAN ") && !strings.HasPrefix(line, "SCAN g ") && !strings.HasPrefix(line, "SCAN (subquery") {
					t.Errorf("plan scans a whole table: %q\n%s", line, plan)
				}
			}
		})
	}
}

// digestWeeks lists the weeks with a digest queued for a server, in order.
func digestWeeks(t *testing.T, s *Store, guild string) []string {
	t.Helper()
	msgs, err := s.DueOutbox(context.Background(), nov(1, 0).AddDate(5, 0, 0), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var weeks []string
	for _, m := range msgs {
		if m.Outgoing.Notice.Kind == referral.NoticeDigest && m.Outgoing.GuildID == guild {
			weeks = append(weeks, m.Outgoing.Notice.Digest.Week)
		}
	}
	return weeks
}

// In New York, Sunday 23:30 and Monday 00:30 are two weeks: each gets one
// digest however often the scheduler asks.
func TestWeekDigestOncePerWeekKeyInTimeZone(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		ny, err := time.LoadLocation("America/New_York")
		if err != nil {
			t.Skipf("no time zone data: %v", err)
		}
		s, clk, _ := openTestIn(t, ny)
		ctx := context.Background()
		w := &digestWorld{t: t, s: s, clk: clk}
		w.at(time.Date(2026, 11, 1, 12, 0, 0, 0, ny)).setup("g1")

		// The schedule is Mondays 00:00 in New York.
		post := func(now time.Time) []string {
			t.Helper()
			clk.set(now)
			got, err := s.PostWeeklyDigests(ctx, now, referral.WeekStart(now, ny))
			if err != nil {
				t.Fatalf("PostWeeklyDigests(%v): %v", now, err)
			}
			return got
		}
		sunday := time.Date(2026, 11, 15, 23, 30, 0, 0, ny)
		if got := post(sunday); !reflect.DeepEqual(got, []string{"g1"}) {
			t.Fatalf("Sunday 23:30: posted to %v; want g1 (week 46's digest)", got)
		}
		if got := post(sunday.Add(20 * time.Minute)); len(got) != 0 {
			t.Errorf("Sunday 23:50: posted again to %v", got)
		}
		monday := time.Date(2026, 11, 16, 0, 30, 0, 0, ny)
		if got := post(monday); !reflect.DeepEqual(got, []string{"g1"}) {
			t.Fatalf("Monday 00:30: posted to %v; want g1 (week 47's digest)", got)
		}
		for i := range 5 {
			if got := post(monday.Add(time.Duration(i+1) * time.Hour)); len(got) != 0 {
				t.Errorf("Monday %d:30: posted again to %v", i+1, got)
			}
		}
		if got, want := digestWeeks(t, s, "g1"), []string{"2026-W46", "2026-W47"}; !reflect.DeepEqual(got, want) {
			t.Errorf("digests queued for weeks %v; want %v", got, want)
		}
	})
}

// A server set up after this week's scheduled time waits for next week;
// digest-now counts as the week's digest.
func TestWeekDigestNotBeforeSetupAndDigestNowCounts(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, clk, _ := openTest(t)
		ctx := context.Background()
		w := &digestWorld{t: t, s: s, clk: clk}
		post := func(now, scheduled time.Time) []string {
			t.Helper()
			clk.set(now)
			got, err := s.PostWeeklyDigests(ctx, now, scheduled)
			if err != nil {
				t.Fatalf("PostWeeklyDigests(%v): %v", now, err)
			}
			return got
		}
		// Week 46: scheduled Monday 9 Nov 09:00; setup on Wednesday.
		w.at(nov(11, 15)).setup("g1")
		for _, now := range []time.Time{nov(11, 15).Add(time.Minute), nov(12, 9), nov(15, 23)} {
			if got := post(now, nov(9, 9)); len(got) != 0 {
				t.Errorf("%v, set up after this week's digest time: posted to %v", now, got)
			}
		}
		// Week 47: due from Monday 16 Nov 09:00, once.
		if got := post(nov(16, 9), nov(16, 9)); !reflect.DeepEqual(got, []string{"g1"}) {
			t.Errorf("Monday 16 Nov 09:00: posted to %v; want g1", got)
		}
		if got := post(nov(17, 9), nov(16, 9)); len(got) != 0 {
			t.Errorf("Tuesday: posted again to %v", got)
		}
		// Week 48: digest-now on Monday before 09:00 is the week's digest.
		clk.set(nov(23, 8))
		if _, err := s.PostDigestNow(ctx, "g1", nov(23, 8)); err != nil {
			t.Fatal(err)
		}
		if got := post(nov(23, 9), nov(23, 9)); len(got) != 0 {
			t.Errorf("after digest-now: the scheduled digest posted to %v", got)
		}
		// Digest-now always posts, also a second time in a week.
		if _, err := s.PostDigestNow(ctx, "g1", nov(24, 8)); err != nil {
			t.Fatal(err)
		}
		if got, want := digestWeeks(t, s, "g1"), []string{"2026-W47", "2026-W48", "2026-W48"}; !reflect.DeepEqual(got, want) {
			t.Errorf("digests queued for weeks %v; want %v", got, want)
		}
		// No digest channel, no digest-now.
		if _, err := s.PostDigestNow(ctx, "g-none", nov(24, 9)); err == nil {
			t.Error("PostDigestNow without a digest channel succeeded")
		}
	})
}

// The chart's weeks stay whole calendar weeks when the clocks change: no
// week is skipped or counted twice.
func TestWeekHistoryAcrossDaylightSaving(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		ny, err := time.LoadLocation("America/New_York")
		if err != nil {
			t.Skipf("no time zone data: %v", err)
		}
		s, clk, _ := openTestIn(t, ny)
		w := &digestWorld{t: t, s: s, clk: clk}
		w.at(time.Date(2026, 10, 1, 12, 0, 0, 0, ny)).setup("g1")
		// 00:30 on the Monday after the clocks went back (1 Nov 2026).
		now := time.Date(2026, 11, 2, 0, 30, 0, 0, ny)
		// Sunday 1 Nov 00:00 EDT is in the week; Monday 26 Oct 00:10 EDT is not.
		w.at(time.Date(2026, 11, 1, 0, 0, 0, 0, ny)).request("g1", "stu-1", "Stripe")
		w.at(time.Date(2026, 10, 26, 0, 10, 0, 0, ny)).request("g1", "stu-2", "Stripe")
		clk.set(now)
		d, err := s.PostDigestNow(context.Background(), "g1", now)
		if err != nil {
			t.Fatal(err)
		}
		if want := time.Date(2026, 10, 26, 0, 30, 0, 0, ny); !d.From.Equal(want) || d.To.Sub(d.From) != 169*time.Hour {
			t.Errorf("week from %v to %v; want from %v, 169 hours", d.From, d.To, want)
		}
		if d.NewRequests != 1 || d.Week != "2026-W45" {
			t.Errorf("week %s has %d new requests; want 2026-W45 with 1", d.Week, d.NewRequests)
		}
		for i, h := range d.History {
			if want := fmt.Sprintf("2026-W%02d", 38+i); h.Week != want {
				t.Errorf("history[%d] is week %s; want %s", i, h.Week, want)
			}
		}
		if got := d.History[6].Requests + d.History[7].Requests; got != 2 {
			t.Errorf("the last two weeks have %d requests; want 2", got)
		}
	})
}

// Two sweeps racing for the same week (two bots, or a slow one and the
// next firing): the digests row decides, so exactly one posts.
func TestWeeklyDigestRaceQueuesOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, clk := seedTwoWeeks(t)
		now := nov(16, 9)
		clk.set(now)
		got := make(chan []string, 2)
		for range 2 {
			go func() {
				posted, err := s.PostWeeklyDigests(context.Background(), now, now)
				if err != nil {
					t.Errorf("PostWeeklyDigests: %v", err)
				}
				got <- posted
			}()
		}
		total := 0
		for range 2 {
			for _, g := range <-got {
				if g == "g1" {
					total++
				}
			}
		}
		if total != 1 {
			t.Errorf("g1 posted by %d of two racing sweeps; want 1", total)
		}
		if weeks := digestWeeks(t, s, "g1"); !reflect.DeepEqual(weeks, []string{"2026-W47"}) {
			t.Errorf("digests queued for weeks %v; want [2026-W47] once", weeks)
		}
	})
}
