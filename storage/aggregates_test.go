package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// history drives a store through random sequences of its real methods
// with a clock that moves forward by random amounts across weeks.
type history struct {
	t     *testing.T
	s     *Store
	path  string
	clk   *clock
	rnd   *rand.Rand
	jobNo int
}

var (
	historyGuilds    = []string{"g1", "g2"}
	historyReferrers = []string{"ref-a", "ref-b", "ref-c", "ref-d", "ref-e", "ref-f", "stu-1"} // stu-1 is both
	historyStudents  = []string{"stu-1", "stu-2", "stu-3", "stu-4", "stu-5", "stu-6", "stu-7", "stu-8"}
	// Spellings that share a company key, and companies nobody refers at.
	historyCompanies = []string{"Amazon", "AWS", "Stripe", "stripe", "Globex", "globex", "Initech", "Hooli"}
)

// refused reports whether err is the store saying no to a move the random
// history should not have tried, as opposed to a failure.
func refused(err error) bool {
	for _, e := range []error{referral.ErrNotFound, referral.ErrNotYours, referral.ErrMovedOn, referral.ErrAlreadyDone,
		referral.ErrTooManyOpen, referral.ErrDuplicateJob, referral.ErrNotReferrer, referral.ErrNoReferrerHere,
		referral.ErrWrongState, referral.ErrSelfReferral, referral.ErrNothingToForget, referral.ErrUnderReview} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// some returns one value of query's first column chosen at random, or ok
// false when there is none.
func (h *history) some(query string, args ...any) (vals []any, ok bool) {
	h.t.Helper()
	rows, err := h.s.read.Query(query, args...)
	if err != nil {
		h.t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var all [][]any
	for rows.Next() {
		v := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range v {
			ptrs[i] = &v[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			h.t.Fatal(err)
		}
		all = append(all, v)
	}
	if len(all) == 0 {
		return nil, false
	}
	return pick(h.rnd, all), true
}

// step does one random thing, as users, admins, the outbox sender and the
// sweeper would.
func (h *history) step() {
	h.t.Helper()
	ctx := context.Background()
	r := h.rnd
	var err error
	var what string
	switch n := r.IntN(100); {
	case n < 8:
		what = "join"
		g, u := pick(r, historyGuilds), pick(r, historyReferrers)
		companies := []referral.Company{referral.NormalizeCompany(pick(r, historyCompanies[:6]))}
		if r.IntN(3) == 0 {
			companies = append(companies, referral.NormalizeCompany(pick(r, historyCompanies[:6])))
		}
		in := referral.JoinInput{GuildID: g, UserID: u, Companies: companies, Capacity: 1 + r.IntN(3)}
		if r.IntN(4) > 0 {
			in.MemberRoles = []string{"role-" + g}
		}
		_, err = h.s.JoinReferrer(ctx, in)
	case n < 11:
		what = "approve"
		_, err = h.s.ApproveReferrer(ctx, pick(r, historyGuilds), pick(r, historyReferrers), "admin")
	case n < 14:
		what = "pause"
		var until time.Time
		if r.IntN(2) == 0 {
			until = h.clk.Now().Add(time.Duration(1+r.IntN(5)) * 24 * time.Hour)
		}
		_, err = h.s.PauseReferrer(ctx, pick(r, historyGuilds), pick(r, historyReferrers), until)
	case n < 17:
		what = "resume"
		_, err = h.s.ResumeReferrer(ctx, pick(r, historyGuilds), pick(r, historyReferrers))
	case n < 19:
		what = "leave"
		err = h.s.LeaveReferrer(ctx, pick(r, historyGuilds), pick(r, historyReferrers))
	case n < 20:
		what = "remove"
		err = h.s.RemoveReferrer(ctx, pick(r, historyGuilds), pick(r, historyReferrers), "admin")
	case n < 38:
		what = "request"
		h.jobNo++
		_, err = h.s.CreateRequest(ctx, referral.NewRequest{GuildID: pick(r, historyGuilds), StudentID: pick(r, historyStudents),
			Company: referral.NormalizeCompany(pick(r, historyCompanies)), Fields: goodFields(fmt.Sprintf("https://jobs.example/%d", h.jobNo))})
	case n < 52:
		what = "answer"
		if v, ok := h.some(`SELECT id, referrer_user_id FROM offers WHERE state = 'pending'`); ok {
			user := v[1].(string)
			if r.IntN(10) == 0 {
				user = pick(r, historyReferrers)
			}
			_, err = h.s.AnswerOffer(ctx, v[0].(int64), user, r.IntN(3) > 0)
		}
	case n < 60:
		what = "submit"
		if v, ok := h.some(`SELECT id, referrer_id FROM requests WHERE state = 'accepted'`); ok {
			_, err = h.s.MarkSubmitted(ctx, v[0].(int64), v[1].(string))
		}
	case n < 67:
		what = "outcome"
		if v, ok := h.some(`SELECT id, student_id FROM requests WHERE state IN ('submitted', 'in_process')`); ok {
			o := pick(r, []referral.Outcome{referral.OutcomeScreen, referral.OutcomeInterview, referral.OutcomeOffer,
				referral.OutcomeRejected, referral.OutcomeNoResponse})
			_, err = h.s.RecordOutcome(ctx, v[1].(string), v[0].(int64), o)
		}
	case n < 70:
		what = "withdraw"
		if v, ok := h.some(`SELECT id, student_id FROM requests WHERE state IN ('waiting', 'offered', 'accepted')`); ok {
			_, err = h.s.WithdrawRequest(ctx, v[1].(string), v[0].(int64))
		}
	case n < 72:
		what = "report"
		if v, ok := h.some(`SELECT id, student_id FROM requests WHERE state IN ('accepted', 'submitted')`); ok {
			_, err = h.s.ReportReferrer(ctx, v[0].(int64), v[1].(string))
		}
	case n < 73:
		what = "role lost"
		if v, ok := h.some(`SELECT id FROM offers WHERE state = 'pending'`); ok {
			_, err = h.s.WithdrawOfferRoleLost(ctx, v[0].(int64), r.IntN(2) == 0)
		}
	case n < 74:
		what = "forget"
		users := append(slices.Clone(historyStudents), historyReferrers...)
		user := pick(r, users)
		if _, err = h.s.ForgetUser(ctx, user); err == nil {
			if left := rowsNaming(h.t, h.s, user); len(left) > 0 {
				h.t.Fatalf("after forget-me at %v, %s is still in:\n%s", h.clk.Now(), user, strings.Join(left, "\n"))
			}
		}
	case n < 82:
		what = "deliver"
		if v, ok := h.some(`SELECT id FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL`); ok {
			id := v[0].(int64)
			switch r.IntN(4) {
			case 0:
				err = h.s.MarkUndeliverable(ctx, id, "bad payload")
			case 1:
				_, err = h.s.MarkDMClosed(ctx, id)
			default:
				err = h.s.MarkSent(ctx, id, fmt.Sprint("m", id))
			}
		}
	case n < 84:
		what = "match"
		_, err = h.s.MatchWaiting(ctx)
	default:
		what = "time passes"
		if r.IntN(3) == 0 {
			h.clk.Add(time.Duration(r.Int64N(int64(4 * 24 * time.Hour))))
		} else {
			h.clk.Add(time.Duration(r.Int64N(int64(3 * time.Hour))))
		}
		_, err = h.s.RunDueSteps(ctx, 1000)
	}
	if err != nil && !refused(err) {
		h.t.Fatalf("%s at %v: %v", what, h.clk.Now(), err)
	}
	h.clk.Add(time.Duration(r.Int64N(int64(10 * time.Minute))))
}

func newHistory(t *testing.T, seed uint64) *history {
	t.Helper()
	s, clk, path := openTest(t)
	h := &history{t: t, s: s, path: path, clk: clk, rnd: rand.New(rand.NewPCG(seed, seed))}
	for _, g := range historyGuilds {
		settings := referral.GuildSettings{GuildID: g, DigestChannelID: "digest-" + g, ReferrerRoleID: "role-" + g}
		if g == "g1" {
			settings.FallbackChannelID = "fallback-" + g
		}
		if err := s.SetupGuild(context.Background(), settings); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// The history as rows, read back for recounting.
type (
	eventRow struct {
		id, request        int64
		guild, kind, actor string
		detail             string
		at                 int64
		wait               sql.NullInt64
	}
	requestRow struct {
		id                      int64
		guild, key, name, state string
		created                 int64
		submitted               bool
	}
)

func rowsOf[T any](t *testing.T, q querier, query string, scan func(*sql.Rows, *T) error) []T {
	t.Helper()
	var out []T
	err := eachRow(context.Background(), q, query, nil, func(rows *sql.Rows) error {
		var v T
		err := scan(rows, &v)
		out = append(out, v)
		return err
	})
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return out
}

func allEvents(t *testing.T, q querier) []eventRow {
	return rowsOf(t, q, `SELECT id, request_id, guild_id, kind, actor_id, detail, at, wait_ms FROM events ORDER BY id`,
		func(rows *sql.Rows, e *eventRow) error {
			return rows.Scan(&e.id, &e.request, &e.guild, &e.kind, &e.actor, &e.detail, &e.at, &e.wait)
		})
}

func allRequests(t *testing.T, q querier) []requestRow {
	return rowsOf(t, q, `SELECT id, guild_id, company_key, company_name, state, created_at, submitted_at IS NOT NULL FROM requests ORDER BY id`,
		func(rows *sql.Rows, r *requestRow) error {
			return rows.Scan(&r.id, &r.guild, &r.key, &r.name, &r.state, &r.created, &r.submitted)
		})
}

func (e eventRow) what() string {
	if e.kind == referral.EventOutcome {
		return "outcome:" + e.detail
	}
	return e.kind
}

// table reads a whole table as sorted lines, leaving out rows whose counts
// (the columns named) are all zero.
func table(t *testing.T, q querier, name string, counts ...string) []string {
	t.Helper()
	nonzero := make([]string, len(counts))
	for i, c := range counts {
		nonzero[i] = c + " != 0"
	}
	rows, err := q.QueryContext(context.Background(), `SELECT * FROM `+name+` WHERE `+strings.Join(nonzero, " OR "))
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var lines []string
	for rows.Next() {
		v := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range v {
			ptrs[i] = &v[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line(v...))
	}
	sort.Strings(lines)
	return lines
}

func line(v ...any) string { return strings.TrimSuffix(fmt.Sprintln(v...), "\n") }

// recountAggregates is every maintained table recounted in Go from the
// rows it counts, in table's form.
func recountAggregates(t *testing.T, q querier) map[string][]string {
	t.Helper()
	events := allEvents(t, q)
	hours, days, totals := map[[3]any]int{}, map[[3]any]int{}, map[[2]string]int{}
	for _, e := range events {
		hours[[3]any{e.guild, e.at / hourMS * hourMS, e.what()}]++
		days[[3]any{e.guild, e.at / dayMS * dayMS, e.what()}]++
		totals[[2]string{e.guild, e.what()}]++
	}
	out := map[string][]string{}
	for k, n := range hours {
		out["event_hours"] = append(out["event_hours"], line(k[0], k[1], k[2], n))
	}
	for k, n := range days {
		out["event_days"] = append(out["event_days"], line(k[0], k[1], k[2], n))
	}
	for k, n := range totals {
		out["event_totals"] = append(out["event_totals"], line(k[0], k[1], n))
	}

	type counts struct{ requests, waiting, open, submitted, referrers int }
	companies := map[[3]string]*counts{}
	get := func(g, key, name string) *counts {
		k := [3]string{g, key, name}
		if companies[k] == nil {
			companies[k] = &counts{}
		}
		return companies[k]
	}
	for _, r := range allRequests(t, q) {
		c := get(r.guild, r.key, r.name)
		c.requests++
		if r.state == string(referral.Waiting) {
			c.waiting++
		}
		if r.state == string(referral.Waiting) || r.state == string(referral.Offered) || r.state == string(referral.Accepted) {
			c.open++
		}
		if r.submitted {
			c.submitted++
		}
	}
	type referrerRow struct{ guild, status, key, name string }
	for _, r := range rowsOf(t, q, `SELECT r.guild_id, r.status, c.company_key, c.company_name FROM referrers r JOIN referrer_companies c ON c.referrer_id = r.id`,
		func(rows *sql.Rows, r *referrerRow) error { return rows.Scan(&r.guild, &r.status, &r.key, &r.name) }) {
		if r.status == string(referral.Active) {
			get(r.guild, r.key, r.name).referrers++
		}
	}
	for k, c := range companies {
		out["company_counts"] = append(out["company_counts"], line(k[0], k[1], k[2], c.requests, c.waiting, c.open, c.submitted, c.referrers))
	}

	type statusRow struct{ guild, status string }
	statuses := map[statusRow]int{}
	for _, r := range rowsOf(t, q, `SELECT guild_id, status FROM referrers`,
		func(rows *sql.Rows, r *statusRow) error { return rows.Scan(&r.guild, &r.status) }) {
		statuses[r]++
	}
	for k, n := range statuses {
		out["referrer_counts"] = append(out["referrer_counts"], line(k.guild, k.status, n))
	}

	type outboxRow struct {
		guild   string
		failed  bool
		reached bool
	}
	undeliverable := map[string]int{}
	for _, o := range rowsOf(t, q, `SELECT guild_id, failed_at IS NOT NULL, reached_in_fallback FROM outbox`,
		func(rows *sql.Rows, o *outboxRow) error { return rows.Scan(&o.guild, &o.failed, &o.reached) }) {
		if o.failed && !o.reached {
			undeliverable[o.guild]++
		}
	}
	for g, n := range undeliverable {
		out["undeliverable_counts"] = append(out["undeliverable_counts"], line(g, n))
	}
	recountDashboardAggregates(t, q, events, out)
	for _, lines := range out {
		sort.Strings(lines)
	}
	return out
}

// aggregateTables are the maintained tables and their count columns.
var aggregateTables = map[string][]string{
	"event_hours":          {"n"},
	"event_days":           {"n"},
	"event_totals":         {"n"},
	"company_counts":       {"requests", "waiting", "open", "submitted", "referrers"},
	"referrer_counts":      {"n"},
	"undeliverable_counts": {"n"},
	"funnel_days":          {"n"},
	"funnel_totals":        {"n"},
	"actor_days":           {"n"},
	"funnel_weeks":         {"n"},
	"actor_weeks":          {"n"},
	"actor_totals":         {"n"},
	"wait_minutes":         {"n"},
}

// readAggregates is every maintained table as stored, and the waits on
// the events.
func readAggregates(t *testing.T, q querier) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for name, counts := range aggregateTables {
		out[name] = table(t, q, name, counts...)
	}
	for _, e := range allEvents(t, q) {
		if e.wait.Valid {
			out["waits"] = append(out["waits"], line(e.id, e.wait.Int64))
		}
	}
	return out
}

func checkAggregates(t *testing.T, s *Store, when string) {
	t.Helper()
	got := readAggregates(t, s.read)
	want := recountAggregates(t, s.read)
	for id, w := range recountWaits(t, s.read) {
		want["waits"] = append(want["waits"], line(id, w))
	}
	sort.Strings(want["waits"])
	sort.Strings(got["waits"])
	for name := range want {
		if !slices.Equal(got[name], want[name]) {
			t.Errorf("%s: %s =\n%s\nwant (recounted)\n%s", when, name, strings.Join(got[name], "\n"), strings.Join(want[name], "\n"))
		}
	}
}

// recountWindow counts events of a server in [from, to) by what they are.
func recountWindow(events []eventRow, guild string, from, to int64) map[string]int {
	out := map[string]int{}
	for _, e := range events {
		if e.guild == guild && e.at >= from && e.at < to {
			out[e.what()]++
		}
	}
	return out
}

// recountDigest is the digest computed from the rows alone, the way it
// was before the aggregates: every number a scan of the history.
func recountDigest(t *testing.T, s *Store, guild string, now time.Time) referral.Digest {
	t.Helper()
	events := allEvents(t, s.read)
	requests := allRequests(t, s.read)
	bounds := weekBounds(now, s.loc)
	d := referral.Digest{GuildID: guild, Week: referral.WeekKey(now, s.loc), From: bounds[1].UTC(), To: now.UTC()}
	for i := chartWeeks - 1; i >= 0; i-- {
		c := recountWindow(events, guild, bounds[i+1].UnixMilli(), bounds[i].UnixMilli())
		d.History = append(d.History, referral.WeekCounts{Week: referral.WeekKey(bounds[i], s.loc), Requests: c["created"],
			Submitted: c["submitted"], Interviews: c["outcome:interview"], Offers: c["outcome:offer"]})
		if i == 0 {
			d.NewRequests, d.Matched, d.Submitted = c["created"], c["accepted"], c["submitted"]
			d.Screens, d.Interviews, d.Offers = c["outcome:screen"], c["outcome:interview"], c["outcome:offer"]
		}
	}
	all := recountWindow(events, guild, math.MinInt64, now.UnixMilli())
	d.Total = referral.Totals{Requests: all["created"], Matched: all["accepted"], Submitted: all["submitted"],
		Screens: all["outcome:screen"], Interviews: all["outcome:interview"], Offers: all["outcome:offer"]}

	created := map[int64]int64{}
	for _, r := range requests {
		created[r.id] = r.created
	}
	from, to := bounds[1].UnixMilli(), now.UnixMilli()
	var waits []int64
	type thanks struct {
		id    string
		n     int
		first int64
	}
	work := map[string]*thanks{}
	for _, e := range events {
		if e.guild != guild || e.at < from || e.at >= to {
			continue
		}
		if e.kind == referral.EventAccepted {
			waits = append(waits, e.at-created[e.request])
		}
		if (e.kind == referral.EventAccepted || e.kind == referral.EventSubmitted) && e.actor != "" {
			if work[e.actor] == nil {
				work[e.actor] = &thanks{id: e.actor, first: e.at}
			}
			work[e.actor].n++
			work[e.actor].first = min(work[e.actor].first, e.at)
		}
	}
	slices.Sort(waits)
	d.MedianAccept = median(waits)
	var ranked []*thanks
	for _, w := range work {
		ranked = append(ranked, w)
	}
	sort.Slice(ranked, func(i, j int) bool {
		a, b := ranked[i], ranked[j]
		if a.n != b.n {
			return a.n > b.n
		}
		if a.first != b.first {
			return a.first < b.first
		}
		return a.id < b.id
	})
	for _, w := range ranked {
		d.ThankReferrers = append(d.ThankReferrers, w.id)
	}

	type wanted struct {
		name    string
		n       int
		longest int64
	}
	byKey := map[string]*wanted{}
	for _, r := range requests {
		if r.guild != guild || r.state != string(referral.Waiting) {
			continue
		}
		w := byKey[r.key]
		if w == nil {
			w = &wanted{name: r.name, longest: r.created}
			byKey[r.key] = w
		}
		w.n++
		w.name, w.longest = min(w.name, r.name), min(w.longest, r.created)
	}
	var ws []*wanted
	for _, w := range byKey {
		ws = append(ws, w)
	}
	sort.Slice(ws, func(i, j int) bool {
		a, b := ws[i], ws[j]
		if a.n != b.n {
			return a.n > b.n
		}
		if a.longest != b.longest {
			return a.longest < b.longest
		}
		return a.name < b.name
	})
	for i, w := range ws {
		if i == 15 {
			break
		}
		d.Wanted = append(d.Wanted, referral.Wanted{Company: w.name, Waiting: w.n})
	}
	return d
}

// recountStats is /referral-admin stats computed from the rows alone.
func recountStats(t *testing.T, s *Store, guild string, now time.Time) referral.Stats {
	t.Helper()
	st := referral.Stats{Week: recountDigest(t, s, guild, now)}
	type referrerRow struct {
		id            int64
		guild, status string
	}
	for _, r := range rowsOf(t, s.read, `SELECT id, guild_id, status FROM referrers`,
		func(rows *sql.Rows, r *referrerRow) error { return rows.Scan(&r.id, &r.guild, &r.status) }) {
		if r.guild != guild {
			continue
		}
		switch referral.ReferrerStatus(r.status) {
		case referral.Active:
			st.Referrers.Active++
		case referral.Pending:
			st.Referrers.Pending++
		case referral.Paused:
			st.Referrers.Paused++
		}
	}
	st.Undeliverable = count(t, s, `SELECT COUNT(*) FROM outbox WHERE guild_id = ? AND failed_at IS NOT NULL AND NOT reached_in_fallback`, guild)

	// Named as the active referrers first spell it, else the requests.
	type company struct {
		stats               referral.CompanyStats
		referrerName, rName string
	}
	byKey := map[string]*company{}
	get := func(key string) *company {
		if byKey[key] == nil {
			byKey[key] = &company{}
		}
		return byKey[key]
	}
	type referrerCompany struct{ key, name string }
	for _, c := range rowsOf(t, s.read, `SELECT c.company_key, c.company_name FROM referrers r JOIN referrer_companies c ON c.referrer_id = r.id
		WHERE r.guild_id = '`+guild+`' AND r.status = 'active'`,
		func(rows *sql.Rows, c *referrerCompany) error { return rows.Scan(&c.key, &c.name) }) {
		x := get(c.key)
		x.stats.Referrers++
		if x.referrerName == "" || c.name < x.referrerName {
			x.referrerName = c.name
		}
	}
	for _, r := range allRequests(t, s.read) {
		if r.guild != guild {
			continue
		}
		x := get(r.key)
		if x.rName == "" || r.name < x.rName {
			x.rName = r.name
		}
		switch referral.State(r.state) {
		case referral.Waiting:
			x.stats.Waiting++
			x.stats.Open++
		case referral.Offered, referral.Accepted:
			x.stats.Open++
		}
		if r.submitted {
			x.stats.Submitted++
		}
	}
	for _, x := range byKey {
		x.stats.Company = x.referrerName
		if x.stats.Company == "" {
			x.stats.Company = x.rName
		}
		st.Companies = append(st.Companies, x.stats)
	}
	sort.Slice(st.Companies, func(i, j int) bool {
		a, b := st.Companies[i], st.Companies[j]
		if a.Waiting != b.Waiting {
			return a.Waiting > b.Waiting
		}
		return a.Company < b.Company
	})
	return st
}

// randomWindow is a window somewhere in [lo, hi): aligned to hours or days
// now and then, sometimes empty or a few milliseconds long.
func randomWindow(r *rand.Rand, lo, hi int64) (int64, int64) {
	from := lo + r.Int64N(hi-lo)
	var length int64
	switch r.IntN(6) {
	case 0:
		length = r.Int64N(2 * hourMS) // inside an hour or two
	case 1:
		length = r.Int64N(3 * dayMS)
	case 2:
		from = floorTo(from, hourMS)
		length = hourMS * r.Int64N(60)
	case 3:
		from = floorTo(from, dayMS)
		length = dayMS * r.Int64N(20)
	case 4:
		length = r.Int64N(5)
	default:
		length = r.Int64N(hi - lo)
	}
	return from, from + length
}

func TestAggregatesMatchRecountOnRandomHistories(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		ctx := context.Background()
		seen := map[string]bool{}
		for seed := range uint64(6) {
			t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
				h := newHistory(t, seed)
				start := h.clk.Now()
				for checkpoint := range 3 {
					for range 120 {
						h.step()
					}
					when := fmt.Sprintf("checkpoint %d at %v", checkpoint, h.clk.Now())
					checkAggregates(t, h.s, when)

					lo, hi := start.Add(-24*time.Hour).UnixMilli(), h.clk.Now().Add(24*time.Hour).UnixMilli()
					events := allEvents(t, h.s.read)
					for range 25 {
						g := pick(h.rnd, historyGuilds)
						from, to := randomWindow(h.rnd, lo, hi)
						got, err := windowCounts(ctx, h.s.read, g, from, to)
						if err != nil {
							t.Fatal(err)
						}
						maps.DeleteFunc(got, func(_ string, n int) bool { return n == 0 })
						if want := recountWindow(events, g, from, to); !maps.Equal(got, want) {
							t.Errorf("%s: windowCounts(%s, %d, %d) = %v; want %v", when, g, from, to, got, want)
						}
					}
					nows := []time.Time{h.clk.Now(), time.UnixMilli(lo + h.rnd.Int64N(hi-lo)).UTC(), start.Add(-time.Hour)}
					for _, now := range nows {
						for _, g := range historyGuilds {
							d, err := h.s.digest(ctx, h.s.read, g, now)
							if err != nil {
								t.Fatal(err)
							}
							if want := recountDigest(t, h.s, g, now); !reflect.DeepEqual(d, want) {
								t.Errorf("%s: digest(%s, %v) =\n%+v\nwant (recounted)\n%+v", when, g, now, d, want)
							}
						}
					}
					for _, g := range historyGuilds {
						st, err := h.s.Stats(ctx, g, h.clk.Now())
						if err != nil {
							t.Fatal(err)
						}
						if want := recountStats(t, h.s, g, h.clk.Now()); !reflect.DeepEqual(st, want) {
							t.Errorf("%s: Stats(%s) =\n%+v\nwant (recounted)\n%+v", when, g, st, want)
						}
						checkDashboard(t, h.s, g, h.clk.Now(), when)
					}
				}
				for _, e := range allEvents(t, h.s.read) {
					seen[e.what()] = true
				}
				seen["undeliverable"] = seen["undeliverable"] || count(t, h.s, `SELECT COUNT(*) FROM undeliverable_counts WHERE n > 0`) > 0
				seen["referrer left"] = seen["referrer left"] || count(t, h.s, `SELECT COUNT(*) FROM referrer_counts WHERE n = 0`) > 0
				if err := h.s.RebuildAggregates(ctx); err != nil {
					t.Fatal(err)
				}
				checkAggregates(t, h.s, "after RebuildAggregates")
			})
		}
		// Together the histories went through every path the counts follow.
		// (A history that failed stopped early; its own error says why.)
		if t.Failed() {
			return
		}
		for _, what := range []string{"created", "offered", "accepted", "declined", "timed_out", "submitted", "outcome:screen",
			"outcome:interview", "outcome:offer", "outcome:rejected", "withdrawn", "expired", "referrer_gone", "reported",
			"follow_up", "unreachable", "undeliverable", "referrer left"} {
			if !seen[what] {
				t.Errorf("no random history has %s; want every path covered", what)
			}
		}
	})
}

// schema3Copy writes a database at path as a bot from before migration
// 0004 left it: migrations 0001 to 0003, and the rows of every table they
// have copied from the database at src.
func schema3Copy(t *testing.T, path, src string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%.80s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`)
	ms, err := embeddedMigrations(sqliteDialect)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:3] {
		body, err := migrationFiles.ReadFile("migrations/" + m.Name)
		if err != nil {
			t.Fatal(err)
		}
		exec(string(body))
		exec(`INSERT INTO schema_migrations VALUES (?, ?, 0)`, m.Version, "migrations/"+m.Name)
	}
	exec(`ATTACH DATABASE ? AS src`, "file:"+src+"?mode=ro")
	var tables []string
	if err := eachRow(context.Background(), db, `SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'schema_migrations'`,
		nil, func(rows *sql.Rows) error {
			var name string
			err := rows.Scan(&name)
			tables = append(tables, name)
			return err
		}); err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		var cols []string
		if err := eachRow(context.Background(), db, `SELECT name FROM pragma_table_info(?)`, []any{table}, func(rows *sql.Rows) error {
			var c string
			err := rows.Scan(&c)
			cols = append(cols, c)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		list := strings.Join(cols, ", ")
		exec(`INSERT INTO main.` + table + ` (` + list + `) SELECT ` + list + ` FROM src.` + table)
	}
}

// Migration 0004 on a database with history counts what the bot would
// have counted, and RebuildAggregates recounts the same.
func TestMigration0004BackfillEqualsRebuildSQLite(t *testing.T) {
	ctx := context.Background()
	h := newHistory(t, 42)
	for range 300 {
		h.step()
	}
	live := readAggregates(t, h.s.read)
	if len(live["event_totals"]) == 0 || len(live["company_counts"]) == 0 || len(live["waits"]) == 0 {
		t.Fatalf("the history left too little to count: %v", live)
	}

	path := filepath.Join(t.TempDir(), "before-0004.db")
	schema3Copy(t, path, h.path)
	s, err := Open(ctx, path, Options{Policy: testPolicy()})
	if err != nil {
		t.Fatalf("Open(database at schema 3): %v", err)
	}
	defer s.Close()
	backfilled := readAggregates(t, s.read)
	if !reflect.DeepEqual(backfilled, live) {
		t.Errorf("after migration 0004:\n%v\nwant as maintained:\n%v", backfilled, live)
	}
	if err := s.RebuildAggregates(ctx); err != nil {
		t.Fatal(err)
	}
	if rebuilt := readAggregates(t, s.read); !reflect.DeepEqual(rebuilt, backfilled) {
		t.Errorf("after RebuildAggregates:\n%v\nwant as backfilled:\n%v", rebuilt, backfilled)
	}
}

func TestWindowParts(t *testing.T) {
	day := func(d int) int64 { return nov(d, 0).UnixMilli() }
	hour := func(d, h int) int64 { return nov(d, h).UnixMilli() }
	tests := []struct {
		name     string
		from, to int64
		// days, hours before, hours after, events before, events after
		want [5][2]int64
	}{
		{"inside an hour", hour(9, 10) + 5, hour(9, 10) + 9, [5][2]int64{4: {}, 3: {hour(9, 10) + 5, hour(9, 10) + 9}}},
		{"hours of one day", hour(9, 10) + 5, hour(9, 14) + 9,
			[5][2]int64{1: {hour(9, 11), hour(9, 14)}, 3: {hour(9, 10) + 5, hour(9, 11)}, 4: {hour(9, 14), hour(9, 14) + 9}}},
		{"days", hour(9, 10) + 5, hour(16, 9) + 9, [5][2]int64{{day(10), day(16)}, {hour(9, 11), day(10)}, {day(16), hour(16, 9)},
			{hour(9, 10) + 5, hour(9, 11)}, {hour(16, 9), hour(16, 9) + 9}}},
		{"whole days", day(9), day(16), [5][2]int64{{day(9), day(16)}, {day(9), day(9)}, {day(16), day(16)}, {day(9), day(9)}, {day(16), day(16)}}},
		{"whole hours across midnight", hour(9, 22), hour(10, 2), [5][2]int64{1: {hour(9, 22), hour(10, 2)}, 3: {hour(9, 22), hour(9, 22)}, 4: {hour(10, 2), hour(10, 2)}}},
		{"from then on", hour(9, 10) + 5, math.MaxInt64, [5][2]int64{{day(10), math.MaxInt64}, {hour(9, 11), day(10)},
			{math.MaxInt64, math.MaxInt64}, {hour(9, 10) + 5, hour(9, 11)}, {math.MaxInt64, math.MaxInt64}}},
	}
	for _, tt := range tests {
		args := windowParts("g1", tt.from, tt.to)
		var got [5][2]int64
		for i := range got {
			got[i] = [2]int64{args[1+2*i].(int64), args[2+2*i].(int64)}
		}
		if got != tt.want {
			t.Errorf("%s: windowParts(%d, %d) = %v; want %v", tt.name, tt.from, tt.to, got, tt.want)
		}
	}
}

// seedHistory writes, with direct inserts in one transaction, a history
// of the shape the store writes: requests over 100 weeks in five servers
// (90% in g1), their events, referrers at 100 companies and an outbox
// with some undeliverable messages. It returns the time after it.
func seedHistory(b *testing.B, s *Store, requests int) time.Time {
	b.Helper()
	ctx := context.Background()
	rnd := rand.New(rand.NewPCG(7, 7))
	start := t0
	end := start.Add(100 * 7 * 24 * time.Hour)
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	prep := func(q string) *sql.Stmt {
		st, err := tx.PrepareContext(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		return st
	}
	insRequest := prep(`INSERT INTO requests (guild_id, student_id, company_key, company_name, state, referrer_id, outcome, created_at, updated_at,
		accepted_at, submitted_at, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	insEvent := prep(`INSERT INTO events (request_id, guild_id, kind, actor_id, detail, at) VALUES (?, ?, ?, ?, ?, ?)`)
	insReferrer := prep(`INSERT INTO referrers (guild_id, user_id, status, capacity, created_at, updated_at) VALUES (?, ?, ?, 4, ?, ?)`)
	insCompany := prep(`INSERT INTO referrer_companies (referrer_id, company_key, company_name) VALUES (?, ?, ?)`)
	insOutbox := prep(`INSERT INTO outbox (guild_id, user_id, kind, payload, next_attempt_at, sent_at, failed_at, created_at) VALUES (?, ?, 'offer', '', ?, ?, ?, ?)`)
	exec := func(st *sql.Stmt, args ...any) int64 {
		res, err := st.ExecContext(ctx, args...)
		if err != nil {
			b.Fatal(err)
		}
		id, _ := res.LastInsertId()
		return id
	}
	guild := func() string {
		if rnd.IntN(10) > 0 {
			return "g1"
		}
		return fmt.Sprint("g", 2+rnd.IntN(4))
	}
	company := func(i int) (string, string) { return fmt.Sprint("co", i), fmt.Sprint("Company ", i) }
	referrers := max(requests/100, 20)
	for i := range referrers {
		g := guild()
		status := []string{"active", "active", "active", "active", "pending", "paused"}[rnd.IntN(6)]
		id := exec(insReferrer, g, fmt.Sprint("ref-", i), status, ms(start), ms(start))
		key, name := company(rnd.IntN(100))
		exec(insCompany, id, key, name)
	}
	for i := range requests {
		g := guild()
		created := start.Add(time.Duration(rnd.Int64N(int64(end.Sub(start)))))
		key, name := company(rnd.IntN(110)) // some at companies without referrers
		student, referrer := fmt.Sprint("stu-", rnd.IntN(requests/3+1)), fmt.Sprint("ref-", rnd.IntN(referrers))
		state, outcome := "expired", ""
		var accepted, submitted, closed time.Time
		type ev struct {
			kind, actor, detail string
			at                  time.Time
		}
		evs := []ev{{"created", student, "", created}, {"offered", referrer, "", created.Add(time.Minute)}}
		if rnd.IntN(10) < 7 {
			accepted = created.Add(time.Duration(rnd.Int64N(int64(72 * time.Hour))))
			state = "accepted"
			evs = append(evs, ev{"accepted", referrer, "", accepted})
			if rnd.IntN(10) < 8 {
				submitted = accepted.Add(24 * time.Hour)
				state = "submitted"
				evs = append(evs, ev{"submitted", referrer, "", submitted})
				evs = append(evs, ev{"follow_up", "", "1", submitted.Add(7 * 24 * time.Hour)})
				if rnd.IntN(2) == 0 {
					outcome = []string{"screen", "interview", "offer", "rejected", "no_response"}[rnd.IntN(5)]
					state, closed = "closed", submitted.Add(8*24*time.Hour)
					evs = append(evs, ev{"outcome", student, outcome, closed})
				}
			}
		} else if rnd.IntN(2) == 0 {
			evs = append(evs, ev{"timed_out", referrer, "", created.Add(72 * time.Hour)}, ev{"expired", "", "", created.Add(30 * 24 * time.Hour)})
			closed = created.Add(30 * 24 * time.Hour)
		} else {
			state, referrer = "waiting", ""
			evs = append(evs, ev{"declined", referrer, "", created.Add(time.Hour)})
		}
		for len(evs) > 0 && evs[len(evs)-1].at.After(end) { // not yet
			evs = evs[:len(evs)-1]
		}
		id := exec(insRequest, g, student, key, name, state, referrer, outcome, ms(created), ms(created), ms(accepted), ms(submitted), ms(closed))
		for _, e := range evs {
			exec(insEvent, id, g, e.kind, e.actor, e.detail, ms(e.at))
		}
		var failed any
		if i%50 == 0 {
			failed = ms(created)
		}
		exec(insOutbox, g, student, ms(created), ms(created), failed, ms(created))
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	begin := time.Now()
	if err := s.RebuildAggregates(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d requests; RebuildAggregates took %v", requests, time.Since(begin))
	return end
}

// BenchmarkHistory measures the digest and stats of the busiest of five
// servers with 100 weeks of history: REFERRALBOT_BENCH_REQUESTS requests
// (default 20000; 200000 is a large community).
func BenchmarkHistory(b *testing.B) {
	requests := 20000
	if v := os.Getenv("REFERRALBOT_BENCH_REQUESTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 {
			b.Fatalf("REFERRALBOT_BENCH_REQUESTS=%q: want a number of requests, at least 100", v)
		}
		requests = n
	}
	clk := &clock{t: t0}
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "history.db"), Options{Policy: testPolicy(), Now: clk.Now})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.SetupGuild(context.Background(), referral.GuildSettings{GuildID: "g1", DigestChannelID: "c"}); err != nil {
		b.Fatal(err)
	}
	now := seedHistory(b, s, requests)
	clk.set(now)
	ctx := context.Background()
	b.Run("Digest", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.digest(ctx, s.read, "g1", now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Stats", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Stats(ctx, "g1", now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("PostDigestNow", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.PostDigestNow(ctx, "g1", now); err != nil {
				b.Fatal(err)
			}
		}
	})
}
