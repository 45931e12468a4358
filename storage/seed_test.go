package storage

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/referralbot/referralbot/referral"
)

var seedNow = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

// openSeeded generates a small database and opens it at its end of history.
func openSeeded(t testing.TB, o SeedOptions) (*Store, *clock, SeedReport) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "seeded.db")
	o.Now = seedNow
	rep, err := Seed(context.Background(), path, o)
	if err != nil {
		t.Fatalf("Seed: %v", err)
	}
	clk := &clock{t: rep.Now}
	p := SeedPolicy()
	s, err := Open(context.Background(), path, Options{Policy: p, Now: clk.Now})
	if err != nil {
		t.Fatalf("Open(seeded): %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, clk, rep
}

// seedViolations are queries that list rows breaking what the store keeps
// true; each must return nothing.
var seedViolations = []struct{ name, query string }{
	{"offered without exactly one pending offer to its referrer", `SELECT r.id FROM requests r WHERE r.state = 'offered' AND
		(SELECT COUNT(*) FROM offers o WHERE o.request_id = r.id AND o.state = 'pending' AND o.referrer_user_id = r.referrer_id) != 1`},
	{"pending offer on a request not offered", `SELECT o.id FROM offers o JOIN requests r ON r.id = o.request_id WHERE o.state = 'pending' AND r.state != 'offered'`},
	{"accepted without an accepted offer by its referrer", `SELECT r.id FROM requests r WHERE r.accepted_at IS NOT NULL AND r.state NOT IN ('withdrawn', 'expired') AND
		NOT EXISTS (SELECT 1 FROM offers o WHERE o.request_id = r.id AND o.state = 'accepted' AND o.referrer_user_id = r.referrer_id)`},
	{"waiting with a referrer", `SELECT id FROM requests WHERE state = 'waiting' AND referrer_id != ''`},
	{"pending offer without a pending timeout", `SELECT o.id FROM offers o WHERE o.state = 'pending' AND NOT EXISTS (
		SELECT 1 FROM steps s WHERE s.kind = 'offer_timeout' AND s.subject_id = o.id AND s.done_at IS NULL)`},
	{"answered offer with a pending timeout", `SELECT o.id FROM offers o JOIN steps s ON s.kind = 'offer_timeout' AND s.subject_id = o.id
		WHERE o.state != 'pending' AND s.done_at IS NULL`},
	{"matchable request without a pending expiry", `SELECT r.id FROM requests r WHERE r.state IN ('waiting', 'offered') AND NOT EXISTS (
		SELECT 1 FROM steps s WHERE s.kind = 'expire' AND s.subject_id = r.id AND s.done_at IS NULL)`},
	{"final request with pending steps", `SELECT r.id FROM requests r JOIN steps s ON s.subject_id = r.id AND s.kind IN ('expire', 'reminder', 'nudge')
		WHERE r.state IN ('closed', 'withdrawn', 'expired') AND s.done_at IS NULL`},
	{"more than one pending follow-up", `SELECT subject_id FROM steps WHERE kind = 'nudge' AND done_at IS NULL GROUP BY subject_id HAVING COUNT(*) > 1`},
	{"request without its created event", `SELECT r.id FROM requests r WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.request_id = r.id AND e.kind = 'created')`},
	{"accepted offers and accepted events differ", `SELECT 1 WHERE (SELECT COUNT(*) FROM offers WHERE state = 'accepted') != (SELECT COUNT(*) FROM events WHERE kind = 'accepted')`},
	{"student over the open limit", `SELECT student_id FROM requests WHERE state IN ('waiting', 'offered', 'accepted') AND student_id != ''
		GROUP BY student_id HAVING COUNT(*) > 3`},
	{"final state without closed_at", `SELECT id FROM requests WHERE state IN ('closed', 'withdrawn', 'expired') AND closed_at IS NULL`},
	{"sent message still holding its text", `SELECT id FROM outbox WHERE sent_at IS NOT NULL AND payload != ''`},
	{"referrer load differs from a recount", `SELECT rf.id FROM referrers rf WHERE rf.offer_load != (
		SELECT COUNT(*) FROM offers o WHERE o.guild_id = rf.guild_id AND o.referrer_user_id = rf.user_id
			AND (o.state = 'pending' OR (o.state = 'accepted' AND o.answered_at >= :window)))`},
	{"referrer due for the sweep after the sweep", `SELECT id FROM referrers WHERE load_recheck_at < :now OR match_due`},
}

func checkSeedInvariants(t *testing.T, s *Store, now time.Time) {
	t.Helper()
	for _, v := range seedViolations {
		q := strings.NewReplacer(":window", formatMS(now.Add(-referral.CapacityWindow)), ":now", formatMS(now)).Replace(v.query)
		ids, err := idList(context.Background(), s.read, q)
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		if len(ids) > 0 {
			t.Errorf("%s: %d rows, e.g. %v", v.name, len(ids), ids[:min(len(ids), 5)])
		}
	}
}

func formatMS(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// A generated database is one the store could have written: the same
// queries the bot runs give consistent answers on it, and the lifecycle
// goes on from it.
func TestSeededDatabaseKeepsTheStoresInvariantsSQLite(t *testing.T) {
	s, clk, rep := openSeeded(t, SeedOptions{Requests: 2000, Referrers: 400, Companies: 40, Weeks: 30, Seed: 7})
	ctx := context.Background()
	now := clk.Now()

	var states []string
	if err := eachRow(ctx, s.read, `SELECT DISTINCT state FROM requests ORDER BY 1`, nil, func(rows *sql.Rows) error {
		var st string
		err := rows.Scan(&st)
		states = append(states, st)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(states) != len(referral.States()) {
		t.Errorf("request states in the generated database = %v; want all of %v", states, referral.States())
	}
	var weeks int
	s.read.QueryRow(`SELECT (MAX(created_at) - MIN(created_at)) / (7 * 86400000) FROM requests`).Scan(&weeks)
	if weeks < 28 {
		t.Errorf("history spans %d weeks; want about 30", weeks)
	}
	for _, q := range []string{
		`SELECT COUNT(*) FROM steps WHERE done_at IS NULL`, `SELECT COUNT(*) FROM steps WHERE done_at IS NOT NULL`,
		`SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL`, `SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL`,
		`SELECT COUNT(*) FROM outbox WHERE failed_at IS NOT NULL`, `SELECT COUNT(DISTINCT guild_id) - 4 FROM requests`,
	} {
		var n int
		if err := s.read.QueryRow(q).Scan(&n); err != nil || n <= 0 {
			t.Errorf("%s = %d, %v; want some", q, n, err)
		}
	}
	checkSeedInvariants(t, s, now)

	// The bot's own queries agree with the rows.
	mine, err := s.StudentRequests(ctx, rep.BusiestStudent)
	if err != nil || len(mine) != 20 {
		t.Fatalf("StudentRequests(%s) = %d requests, %v; want 20", rep.BusiestStudent, len(mine), err)
	}
	if n, err := s.MatchWaiting(ctx); err != nil || n != 0 {
		t.Errorf("MatchWaiting on a settled database = %d, %v; want 0", n, err)
	}
	if n, err := s.RunDueSteps(ctx, 1000); err != nil || n != 0 {
		t.Errorf("RunDueSteps at the end of history = %d, %v; want 0 (a live bot ran them)", n, err)
	}
	if due, err := s.DueOutbox(ctx, now, 50); err != nil || len(due) != 0 {
		t.Errorf("DueOutbox at the end of history = %d, %v; want 0", len(due), err)
	}
	if due, err := s.DueOutbox(ctx, now.Add(time.Hour), 1000); err != nil || len(due) == 0 {
		t.Errorf("DueOutbox an hour on = %d, %v; want the messages being retried", len(due), err)
	}

	// Life goes on: a new request at the largest company is offered, and
	// four days of steps and sweeps keep every invariant.
	sub, err := s.CreateRequest(ctx, referral.NewRequest{GuildID: rep.MainGuild, StudentID: "new-student", Company: rep.LargestCompany,
		Fields: goodFields("https://jobs.example/seeded")})
	if err != nil || !sub.Offered {
		t.Fatalf("CreateRequest at %s = offered %v, %v; want offered", rep.LargestCompany.Name, sub.Offered, err)
	}
	ran := 0
	for range 4 * 24 {
		clk.Add(time.Hour)
		n, err := s.RunDueSteps(ctx, 1000)
		if err != nil {
			t.Fatalf("RunDueSteps: %v", err)
		}
		ran += n
		if _, err := s.MatchWaiting(ctx); err != nil {
			t.Fatalf("MatchWaiting: %v", err)
		}
	}
	if ran == 0 {
		t.Fatalf("no step ran in four days after the end of history")
	}
	checkSeedInvariants(t, s, clk.Now())
}

// The queries run on every interaction, sweep and poll seek an index on a
// generated database.
func TestHotQueriesSeekIndexesOnGeneratedDataSQLite(t *testing.T) {
	s, _, _ := openSeeded(t, SeedOptions{Requests: 2000, Referrers: 400, Companies: 40, Weeks: 30, Seed: 3})
	cases := []struct {
		name, query string
		args        []any
		want        []string // each must appear in the plan
	}{
		{"best per profile", bestPerProfileQuery, []any{"amazon", "g", "s", 1, "undelivered"}, []string{"COVERING INDEX referrer_companies_free (company_key=? AND guild_id=?)", "offers_request (request_id=?)"}},
		{"anyone free", anyFreeQuery, []any{"amazon", "g"}, []string{"COVERING INDEX referrer_companies_free (company_key=? AND guild_id=?)"}},
		{"stale loads at a company", dueAtCompanyQuery, []any{1, "g", "amazon"}, []string{"referrers_recheck (load_recheck_at<?)", "sqlite_autoindex_referrer_companies_1 (referrer_id=? AND company_key=?)"}},
		{"any waiting", anyWaitingQuery, []any{"g", "amazon"}, []string{"requests_waiting (guild_id=? AND company_key=?)"}},
		{"oldest waiting", oldestWaitingQuery, []any{"g", "amazon", "undelivered"}, []string{"requests_waiting (guild_id=? AND company_key=?)", "referrer_companies_free (company_key=? AND guild_id=?)", "offers_request (request_id=? AND referrer_user_id=?)"}},
		{"sweep due", sweepDueQuery, []any{1}, []string{"referrers_sweep (<expr><?)"}},
		{"due steps", dueStepsQuery, []any{1, 100}, []string{"steps_due (due_at<?)"}},
		{"any step due", anyDueStepQuery, []any{1}, []string{"steps_due (due_at<?)"}},
		{"company name", companyNameQuery, []any{"amazon", "g"}, []string{"referrer_companies_key (company_key=?)", "USING INTEGER PRIMARY KEY (rowid=?)"}},
		{"due outbox", dueOutboxQuery, []any{1, 50}, []string{"outbox_pending (next_attempt_at<?)"}},
		{"export newest first", qExportRequests, []any{"g"}, []string{"requests_guild_created (guild_id=?)"}},
		{"student requests", `SELECT ` + requestColumns + ` FROM requests WHERE student_id = ? ORDER BY id DESC`, []any{"s"}, []string{"requests_student (student_id=?)", "sqlite_autoindex_steps_1 (kind=? AND subject_id=?)"}},
		{"recount load", `SELECT (SELECT COUNT(*) FROM offers o WHERE o.guild_id = ? AND o.referrer_user_id = ? AND o.state = 'pending'),
			(SELECT COUNT(*) FROM offers o WHERE o.guild_id = ? AND o.referrer_user_id = ? AND o.state = 'accepted' AND o.answered_at >= ?)`,
			[]any{"g", "u", "g", "u", 1}, []string{"offers_referrer (guild_id=? AND referrer_user_id=? AND state=?)", "offers_referrer (guild_id=? AND referrer_user_id=? AND state=? AND answered_at>?)"}},
	}
	// Forget-me and retention: what they cost must not grow with history.
	two := "(?, ?)"
	for _, c := range []struct {
		name, query string
		args        []any
		want        []string
	}{
		{"hand on accepted", acceptedByQuery, []any{"g", "u"}, []string{"offers_referrer (guild_id=? AND referrer_user_id=? AND state=?)", "INTEGER PRIMARY KEY (rowid=?)"}},
		{"forget: servers with offers", offerGuildsQuery, nil, []string{"COVERING INDEX offers_referrer (guild_id>?)"}},
		{"forget: asked", forgetAskedQuery, []any{"g", "u"}, []string{"offers_referrer (guild_id=? AND referrer_user_id=?)"}},
		{"forget: offers", forgetOffersQuery, []any{"g", "u"}, []string{"offers_referrer (guild_id=? AND referrer_user_id=?)"}},
		{"forget: steps", fmt.Sprintf(forgetStepsQuery, two), []any{1, "a", "b", "c", 1, 2}, []string{"sqlite_autoindex_steps_1 (kind=? AND subject_id=?)"}},
		{"forget: queued", fmt.Sprintf(forgetQueuedQuery, two), []any{1, 2, "k"}, []string{"outbox_request (request_id=?)"}},
		{"forget: kept", fmt.Sprintf(forgetKeptQuery, two), []any{1, 2}, []string{"outbox_kept_text (request_id=?)"}},
		{"forget: events", fmt.Sprintf(forgetEventsQuery, two), []any{1, 2, "u"}, []string{"events_request (request_id=?)"}},
		{"forget: referred", fmt.Sprintf(forgetReferredQuery, two), []any{1, 2, "u"}, []string{"INTEGER PRIMARY KEY (rowid=?)"}},
		{"forget: reported", fmt.Sprintf(forgetReportedQuery, two), []any{1, 2, "u"}, []string{"reports_one_per_request (request_id=?)"}},
		{"forget: reporter", fmt.Sprintf(forgetReporterQuery, two), []any{1, 2, "u"}, []string{"reports_one_per_request (request_id=?)"}},
		{"forget: named", fmt.Sprintf(forgetNamedQuery, two), []any{1, 2, "%u%"}, []string{"outbox_kept_text (request_id=?)"}},
		{"forget: ping", fmt.Sprintf(forgetPingQuery, two), []any{1, 2, "k", "%u%"}, []string{"outbox_request (request_id=?)"}},
		{"forget: student", forgetStudentQuery, []any{1, 1, "u"}, []string{"requests_student (student_id=?)"}},
		{"forget: drafts", forgetDraftsQuery, []any{"u"}, []string{"drafts_student (student_id=?)"}},
		{"forget: to them", forgetToThemQuery, []any{"u"}, []string{"outbox_user (user_id=?)"}},
		{"forget: sent them", forgetSentThemQuery, []any{"u"}, []string{"outbox_user (user_id=?)"}},
		{"forget: trust log subject", forgetSubjectQuery, []any{"u"}, []string{"admin_actions_subject (target_id=?)"}},
		{"forget: trust log reporter", forgetReportsQuery, []any{"u"}, []string{"admin_actions_reporter (admin_id=?)"}},
		{"forget: dm closed", forgetDMClosedQuery, []any{"u"}, []string{"sqlite_autoindex_dm_closed_1 (user_id=?)"}},
		{"retention: due", dueErasesQuery, []any{1, eraseChunk}, []string{"requests_retention (updated_at<?)"}},
		{"retention: texts", fmt.Sprintf(eraseTextsQuery, two), []any{1, 1, 2}, []string{"INTEGER PRIMARY KEY (rowid=?)"}},
		{"retention: kept", fmt.Sprintf(eraseKeptQuery, two), []any{1, 2}, []string{"outbox_kept_text (request_id=?)"}},
		{"retention: drafts", eraseDraftsQuery, []any{1, eraseChunk}, []string{"drafts_updated (updated_at<?)"}},
	} {
		cases = append(cases, c)
	}
	for _, c := range cases {
		rows, err := s.read.Query(`EXPLAIN QUERY PLAN `+c.query, c.args...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			rows.Scan(&id, &parent, &notused, &detail)
			plan = append(plan, detail)
		}
		rows.Close()
		joined := strings.Join(plan, "; ")
		for _, w := range c.want {
			if !strings.Contains(joined, w) {
				t.Errorf("%s: plan %q does not use %s", c.name, joined, w)
			}
		}
		for _, p := range plan {
			// f is the list of free referrers; subqueries and servers (a
			// recursive list, one row a server) are the query's own rows.
			scan := strings.HasPrefix(p, "SCAN ") && p != "SCAN CONSTANT ROW" && !strings.HasPrefix(p, "SCAN f ") && !strings.HasPrefix(p, "SCAN (subquery") &&
				p != "SCAN servers"
			// A student's requests are sorted: a few dozen rows at most.
			sorts := c.name == "student requests"
			if scan || strings.Contains(p, "TEMP B-TREE") && !sorts {
				t.Errorf("%s: plan step %q reads more than an index range", c.name, p)
			}
		}
	}
}
