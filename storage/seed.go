package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// The generator behind cmd/seeddb and the storage benchmarks: a database
// with years of history of the shape the store itself writes (the same
// rows a request's lifecycle leaves, in every state), written with
// prepared inserts in large transactions, then settled by the store's own
// sweep so that what a live bot would have done by now is done.

// SeedOptions shape a generated database; zero fields take the defaults.
type SeedOptions struct {
	Requests  int       // requests in all (default 20000)
	Guilds    int       // servers; 90% of requests and referrers are in the first (default 5)
	Referrers int       // default 10000, 11% of them at the largest company, all in the first server
	Companies int       // companies with referrers (default 500)
	Weeks     int       // length of the history (default 100)
	Seed      uint64    // the random source
	Now       time.Time // when the history ends (default: this minute)
}

// SeedReport says what a generated database holds.
type SeedReport struct {
	Now                                           time.Time
	MainGuild                                     string
	LargestCompany                                referral.Company
	LargestCompanyReferrers                       int
	BusiestStudent                                string // has 20 requests
	Requests, Offers, Events, Steps, Outbox, Refs int64
}

// SeedPolicy is the lifecycle the generator follows: the configuration's defaults.
func SeedPolicy() referral.Policy {
	return referral.Policy{OfferTimeout: 72 * time.Hour, ReferrerReminder: 96 * time.Hour,
		Nudges: []time.Duration{7 * 24 * time.Hour, 14 * 24 * time.Hour}, RequestTTL: 30 * 24 * time.Hour,
		MaxOpenPerStudent: 3, DefaultCapacity: 4, Retention: 180 * 24 * time.Hour}
}

// Seed writes a generated database at path, which must not exist yet.
func Seed(ctx context.Context, path string, o SeedOptions) (SeedReport, error) {
	if _, err := os.Stat(path); err == nil {
		return SeedReport{}, fmt.Errorf("seed: %s already exists; choose a new file name", path)
	}
	o = o.withDefaults()
	if o.Guilds < 1 || o.Companies < 2 || o.Referrers < o.Companies {
		return SeedReport{}, fmt.Errorf("seed: need at least 1 server, 2 companies and a referrer per company")
	}
	s, err := Open(ctx, path, Options{Policy: SeedPolicy(), Now: func() time.Time { return o.Now }})
	if err != nil {
		return SeedReport{}, err
	}
	defer s.Close()
	g := newGenerator(o)
	if err := g.write(ctx, s); err != nil {
		return SeedReport{}, fmt.Errorf("seed: %w", err)
	}
	// What a live bot's sweep would have done by now: waiting requests
	// offered to referrers whose capacity freed, every load counted.
	if _, err := s.MatchWaiting(ctx); err != nil {
		return SeedReport{}, fmt.Errorf("seed: settle: %w", err)
	}
	// ... and its sender: everything due is delivered.
	if _, err := s.write.ExecContext(ctx, `UPDATE outbox SET sent_at = ?, payload = '', attempts = attempts + 1, message_id = 'm' || id
		WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?`, ms(o.Now), ms(o.Now)); err != nil {
		return SeedReport{}, fmt.Errorf("seed: deliver: %w", err)
	}
	// The counts the digest and stats read, from the history just written.
	if err := s.RebuildAggregates(ctx); err != nil {
		return SeedReport{}, fmt.Errorf("seed: aggregates: %w", err)
	}
	if _, err := s.write.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return SeedReport{}, fmt.Errorf("seed: checkpoint: %w", err)
	}
	rep := g.report
	err = s.write.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM requests), (SELECT COUNT(*) FROM offers), (SELECT COUNT(*) FROM events),
		(SELECT COUNT(*) FROM steps), (SELECT COUNT(*) FROM outbox), (SELECT COUNT(*) FROM referrers)`).
		Scan(&rep.Requests, &rep.Offers, &rep.Events, &rep.Steps, &rep.Outbox, &rep.Refs)
	if err != nil {
		return rep, fmt.Errorf("seed: count: %w", err)
	}
	return rep, s.Close()
}

func (o SeedOptions) withDefaults() SeedOptions {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Requests, 20000)
	def(&o.Guilds, 5)
	def(&o.Referrers, 10000)
	def(&o.Companies, 500)
	def(&o.Weeks, 100)
	if o.Now.IsZero() {
		o.Now = time.Now().UTC().Truncate(time.Minute)
	}
	o.Now = o.Now.UTC()
	return o
}

type seedReferrer struct {
	id        int64
	guild     int
	user      string
	companies []int
	active    bool
	capacity  int
	school    string
	domain    string
	lastOffer int64
	// busy holds the times this referrer was asked or accepted, to keep
	// to their capacity: [from, to) an offer was pending, or accepted at.
	busy []busySpan
}

type busySpan struct {
	from, to int64 // pending offer: [from, to); accepted: to = 0
}

// usedAt is the referrer's load at t as the store counts it.
func (r *seedReferrer) usedAt(t int64) int {
	n := 0
	for _, b := range r.busy {
		switch {
		case b.to == 0 && b.from <= t && b.from >= t-referral.CapacityWindow.Milliseconds():
			n++
		case b.to != 0 && b.from <= t && t < b.to:
			n++
		}
	}
	return n
}

func (r *seedReferrer) note(b busySpan, now int64) {
	r.busy = append(r.busy, b)
	if len(r.busy) > 48 {
		keep := r.busy[:0]
		horizon := now - 2*referral.CapacityWindow.Milliseconds()
		for _, b := range r.busy {
			if b.from >= horizon {
				keep = append(keep, b)
			}
		}
		r.busy = keep
	}
}

type generator struct {
	o         SeedOptions
	rnd       *rand.Rand
	now       int64
	start     int64
	guilds    []string
	companies []referral.Company
	refs      []*seedReferrer
	// byPlace lists the active referrers of each server and company.
	byPlace  map[[2]int][]*seedReferrer
	perGuild [][]*seedReferrer // every referrer of each server, for the request mix
	students int
	report   SeedReport

	tx                                                 *sql.Tx
	insRequest, insOffer, insEvent, insStep, insOutbox *sql.Stmt
	offerID                                            int64
}

var seedNames = []string{"Amazon", "Google", "Microsoft", "Meta", "Apple", "Stripe", "Netflix", "Shopify", "Datadog", "Cloudflare",
	"Airbnb", "Uber", "Salesforce", "Oracle", "Nvidia", "Intel", "Adobe", "Spotify", "Atlassian", "Snowflake"}
var seedSchools = []string{"State University", "MIT", "Georgia Tech", "University of Waterloo", "UC Berkeley", "Carnegie Mellon",
	"Purdue", "University of Michigan", "UT Austin", "Cornell", "University of Toronto", "IIT Bombay", "TU Munich", "ETH Zurich", "UCLA"}
var seedRoles = []string{"software engineering, backend", "data science; machine learning", "product management", "frontend, web",
	"site reliability, infrastructure", "security engineering", "mobile, iOS, Android", "hardware engineering", "technical program management",
	"software engineering", "data engineering", "quantitative research"}
var seedJobRoles = []string{"Software Development Engineer Intern", "Software Engineer", "Machine Learning Engineer", "Data Scientist",
	"Product Manager Intern", "Site Reliability Engineer", "Frontend Engineer", "Security Engineer", "Data Engineer New Grad"}

func newGenerator(o SeedOptions) *generator {
	g := &generator{o: o, rnd: rand.New(rand.NewPCG(o.Seed, 0x5eed)), byPlace: map[[2]int][]*seedReferrer{}}
	g.now = o.Now.UnixMilli()
	g.start = g.now - int64(o.Weeks)*7*24*time.Hour.Milliseconds()
	for i := range o.Guilds {
		g.guilds = append(g.guilds, fmt.Sprint(1100000000000000000+int64(i)))
	}
	// Companies with referrers, then as many again nobody refers for.
	for i := range 2 * o.Companies {
		name := fmt.Sprintf("Company %d", i)
		if i < len(seedNames) {
			name = seedNames[i]
		}
		g.companies = append(g.companies, referral.Company{Key: referral.NormalizeCompany(name).Key, Name: name})
	}
	g.perGuild = make([][]*seedReferrer, o.Guilds)
	largest := o.Referrers * 11 / 100
	for i := range o.Referrers {
		r := &seedReferrer{id: int64(i + 1), user: fmt.Sprint(1200000000000000000 + int64(i)), capacity: 4}
		if i < largest {
			r.companies = []int{0}
		} else {
			u := g.rnd.Float64()
			r.companies = []int{1 + int(float64(o.Companies-1)*u*u)}
			if g.rnd.IntN(10) == 0 {
				if c := 1 + g.rnd.IntN(o.Companies-1); c != r.companies[0] {
					r.companies = append(r.companies, c)
				}
			}
			if g.rnd.IntN(10) == 0 && o.Guilds > 1 {
				r.guild = 1 + g.rnd.IntN(o.Guilds-1)
			}
		}
		if g.rnd.IntN(10) < 4 {
			r.capacity = 1 + g.rnd.IntN(20)
		}
		if g.rnd.IntN(10) < 7 {
			r.school = seedSchools[g.rnd.IntN(len(seedSchools))]
		}
		if g.rnd.IntN(4) == 0 {
			r.domain = "example.com"
		}
		r.active = g.rnd.IntN(10) < 9
		g.refs = append(g.refs, r)
		g.perGuild[r.guild] = append(g.perGuild[r.guild], r)
		if r.active {
			for _, c := range r.companies {
				k := [2]int{r.guild, c}
				g.byPlace[k] = append(g.byPlace[k], r)
			}
		}
	}
	g.students = max(o.Requests/4, 1)
	g.report = SeedReport{Now: o.Now, MainGuild: g.guilds[0], LargestCompany: g.companies[0], LargestCompanyReferrers: len(g.byPlace[[2]int{0, 0}]),
		BusiestStudent: g.student(0)}
	return g
}

func (g *generator) student(i int) string { return fmt.Sprint(1300000000000000000 + int64(i)) }

func (g *generator) write(ctx context.Context, s *Store) error {
	w := s.write.db // SQLite only: seeding writes in SQLite's own spelling
	// It writes around the store's transactions, which ask the
	// checkpointer to run: SQLite checkpoints by itself meanwhile.
	for _, p := range []string{`PRAGMA cache_size = -262144`, `PRAGMA synchronous = OFF`, `PRAGMA wal_autocheckpoint = 1000`} {
		if _, err := w.ExecContext(ctx, p); err != nil {
			return err
		}
	}
	if err := g.writeSetup(ctx, w); err != nil {
		return err
	}
	const perTx = 20000
	for from := 0; from < g.o.Requests; from += perTx {
		if err := g.begin(ctx, w); err != nil {
			return err
		}
		for i := from; i < min(from+perTx, g.o.Requests); i++ {
			if err := g.request(ctx, i); err != nil {
				g.tx.Rollback()
				return fmt.Errorf("request %d: %w", i+1, err)
			}
		}
		if err := g.commit(); err != nil {
			return err
		}
	}
	if err := g.seedLastOffered(ctx, w); err != nil {
		return err
	}
	_, err := w.ExecContext(ctx, `PRAGMA synchronous = NORMAL`)
	return err
}

func (g *generator) writeSetup(ctx context.Context, w *sql.DB) error {
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for i, id := range g.guilds {
		if _, err := tx.ExecContext(ctx, `INSERT INTO guild_settings (guild_id, digest_channel_id, fallback_channel_id, referrer_role_id, digest_since, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`, id, fmt.Sprint(1400000000000000000+i), fmt.Sprint(1410000000000000000+i), fmt.Sprint(1420000000000000000+i), g.start, g.start); err != nil {
			return err
		}
		// A digest each week before this one.
		for t := time.UnixMilli(g.start).UTC(); referral.WeekKey(t, time.UTC) != referral.WeekKey(g.o.Now, time.UTC); t = t.Add(7 * 24 * time.Hour) {
			at := referral.WeekStart(t, time.UTC).Add(9 * time.Hour).UnixMilli()
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO digests (guild_id, week, posted_at) VALUES (?, ?, ?)`, id, referral.WeekKey(t, time.UTC), at); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (guild_id, channel_id, kind, payload, attempts, next_attempt_at, sent_at, message_id, created_at)
				VALUES (?, ?, 'digest', '', 1, ?, ?, 'm', ?)`, id, fmt.Sprint(1400000000000000000+i), at, at+1000, at); err != nil {
				return err
			}
		}
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO referrers (id, guild_id, user_id, status, school, roles, capacity, verified_domain, active_via, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	insCo, err := tx.PrepareContext(ctx, `INSERT INTO referrer_companies (referrer_id, company_key, company_name) VALUES (?, ?, ?)`)
	if err != nil {
		return err
	}
	insAction, err := tx.PrepareContext(ctx, `INSERT INTO admin_actions (guild_id, admin_id, action, target_id, at) VALUES (?, ?, 'approve', ?, ?)`)
	if err != nil {
		return err
	}
	joined := g.start - 24*time.Hour.Milliseconds()
	for _, r := range g.refs {
		status, via := referral.Active, referral.ViaRole
		switch {
		case !r.active && r.id%2 == 0:
			status, via = referral.Pending, ""
		case !r.active:
			status = referral.Paused
		case r.id%5 == 0:
			via = referral.ViaAdmin
			if _, err := insAction.ExecContext(ctx, g.guilds[r.guild], g.student(g.students+1), r.user, joined); err != nil {
				return err
			}
		}
		if _, err := ins.ExecContext(ctx, r.id, g.guilds[r.guild], r.user, status, r.school, seedRoles[int(r.id)%len(seedRoles)], r.capacity,
			r.domain, via, joined, joined); err != nil {
			return err
		}
		for _, c := range r.companies {
			if _, err := insCo.ExecContext(ctx, r.id, g.companies[c].Key, g.companies[c].Name); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

func (g *generator) begin(ctx context.Context, w *sql.DB) error {
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	g.tx = tx
	// A request's row is written after its history (offers, events).
	if _, err := tx.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
		tx.Rollback()
		return err
	}
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = tx.PrepareContext(ctx, q)
		return st
	}
	g.insRequest = prep(`INSERT INTO requests (id, guild_id, student_id, company_key, company_name, state, job_url, role, intro, resume_url, note,
		referrer_id, outcome, created_at, updated_at, accepted_at, submitted_at, closed_at, erased_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	g.insOffer = prep(`INSERT INTO offers (id, request_id, guild_id, referrer_user_id, state, reason, offered_at, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	g.insEvent = prep(`INSERT INTO events (request_id, guild_id, kind, actor_id, detail, at) VALUES (?, ?, ?, ?, ?, ?)`)
	g.insStep = prep(`INSERT INTO steps (kind, subject_id, seq, due_at, attempts, done_at) VALUES (?, ?, ?, ?, ?, ?)`)
	g.insOutbox = prep(`INSERT INTO outbox (guild_id, user_id, request_id, kind, payload, attempts, next_attempt_at, sent_at, failed_at, last_error, message_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		tx.Rollback()
	}
	return err
}

func (g *generator) commit() error {
	for _, st := range []*sql.Stmt{g.insRequest, g.insOffer, g.insEvent, g.insStep, g.insOutbox} {
		st.Close()
	}
	return g.tx.Commit()
}

// life is one request as its lifecycle left it, written at the end.
type life struct {
	g     *generator
	ctx   context.Context
	r     referral.Request
	place [2]int // server and company, as generator indexes
	now   int64
	err   error
	// the request row's time columns and what follows from them
	updated, accepted, submitted, closed int64
}

func (l *life) event(kind, actor, detail string, at int64) {
	if l.err == nil {
		_, l.err = l.g.insEvent.ExecContext(l.ctx, l.r.ID, l.r.GuildID, kind, actor, detail, at)
	}
	l.updated = max(l.updated, at)
}

// step writes a timed step: done at doneAt, or still pending (doneAt 0).
func (l *life) step(kind referral.StepKind, subject int64, seq int, due, doneAt int64) {
	if l.err != nil {
		return
	}
	var done any
	attempts := 0
	if doneAt != 0 {
		done, attempts = doneAt, 1
	}
	_, l.err = l.g.insStep.ExecContext(l.ctx, kind, subject, seq, due, attempts, done)
}

// notice writes a message to a user: delivered a second after it was
// queued, apart from a few that could not be (DMs closed) and a few still
// being retried now.
func (l *life) notice(userID string, n referral.Notice, at int64) {
	if l.err != nil || userID == "" {
		return
	}
	payload, next, attempts := "", at, 1
	var sent, failed any = at + 1000, nil
	lastErr, msgID := "", fmt.Sprint(1500000000000000000+at)
	switch x := l.g.rnd.IntN(1000); {
	case x < 5:
		sent, failed, lastErr, msgID = nil, at+1000, "dm closed (50007); no fallback channel set", ""
	case x < 25 && at > l.now-7*day:
		sent, attempts, lastErr, msgID = nil, 3, "discord: 503 Service Unavailable", ""
		next = l.now + int64(1+l.g.rnd.IntN(30))*time.Minute.Milliseconds()
	}
	if sent == nil {
		b, err := json.Marshal(n)
		if err != nil {
			l.err = err
			return
		}
		payload = string(b)
	}
	_, l.err = l.g.insOutbox.ExecContext(l.ctx, l.r.GuildID, userID, l.r.ID, n.Kind, payload, attempts, next, sent, failed, lastErr, msgID, at)
}

// pick is a referrer of the request's company in its server who may be
// asked at t, or nil.
func (l *life) pick(t int64, asked map[*seedReferrer]bool) *seedReferrer {
	list := l.g.byPlace[l.place]
	if len(list) == 0 {
		return nil
	}
	tries := min(len(list), 12)
	for i := range tries {
		r := list[l.g.rnd.IntN(len(list))]
		if len(list) <= 12 {
			r = list[i]
		}
		if !asked[r] && r.user != l.r.StudentID && r.usedAt(t) < r.capacity {
			return r
		}
	}
	return nil
}

const (
	minute = int64(60 * 1000)
	hour   = 60 * minute
	day    = 24 * hour
)

// request generates request i and its whole history up to now.
func (g *generator) request(ctx context.Context, i int) error {
	span := g.now - g.start - 2*minute
	created := g.start + int64(float64(span)*(float64(i)+g.rnd.Float64())/float64(g.o.Requests))
	guild := 0
	if g.rnd.IntN(10) == 0 && g.o.Guilds > 1 {
		guild = 1 + g.rnd.IntN(g.o.Guilds-1)
	}
	company := len(g.companies) - 1 - g.rnd.IntN(len(g.companies)/2) // nobody refers for it
	if g.rnd.IntN(20) != 0 && len(g.perGuild[guild]) > 0 {
		ref := g.perGuild[guild][g.rnd.IntN(len(g.perGuild[guild]))]
		company = ref.companies[g.rnd.IntN(len(ref.companies))]
	}
	student := 1 + g.rnd.IntN(g.students)
	if busiest := g.o.Requests / 20; busiest > 0 && i%busiest == 0 && i/busiest < 20 {
		student = 0 // the status benchmark's student: 20 requests over the years
	} else if created > g.now-40*day && student%4 != 0 {
		student = g.students + 2 + i // recent ones by students with nothing else open
	}
	co := g.companies[company]
	role := seedJobRoles[g.rnd.IntN(len(seedJobRoles))]
	intro := fmt.Sprintf("I'm a %s-year computer science student at %s. I built %s and interned at %s last summer; I'm applying for the %s role because it matches what I have done.",
		[]string{"second", "third", "final"}[g.rnd.IntN(3)], seedSchools[g.rnd.IntN(len(seedSchools))],
		[]string{"a distributed cache in Go", "a compiler for a toy language", "a recommendation model", "an iOS app with 10k users"}[g.rnd.IntN(4)],
		[]string{"a fintech", "a startup", "a bank", "a game studio"}[g.rnd.IntN(4)], role)
	l := &life{g: g, ctx: ctx, now: g.now, place: [2]int{guild, company}, r: referral.Request{ID: int64(i + 1), GuildID: g.guilds[guild], StudentID: g.student(student), Company: co,
		Fields: referral.RequestFields{JobURL: fmt.Sprintf("https://jobs.example.com/%d/%d", company, i), Role: role, Intro: intro,
			ResumeURL: fmt.Sprintf("https://drive.example.com/resume/%d.pdf", student), Note: "The team's focus matches my last internship."},
		CreatedAt: time.UnixMilli(created).UTC()}}
	l.run(created)
	if l.err != nil {
		return l.err
	}
	return l.write()
}

// run plays the request's lifecycle from created to now.
func (l *life) run(created int64) {
	g, r := l.g, &l.r
	p := SeedPolicy()
	l.updated = created
	l.event(referral.EventCreated, r.StudentID, "", created)
	expireAt := created + p.RequestTTL.Milliseconds()
	withdrawAt := int64(-1)
	if g.rnd.IntN(12) == 0 {
		withdrawAt = created + g.rnd.Int64N(p.RequestTTL.Milliseconds())
	}
	r.State = referral.Waiting
	asked := map[*seedReferrer]bool{}
	t := created
	// Until accepted: each referrer asked in turn answers, declines or lets
	// the offer time out.
	for attempt := 0; attempt < 4 && r.State == referral.Waiting; attempt++ {
		ref := l.pick(t, asked)
		if ref == nil {
			break
		}
		if withdrawAt >= 0 && withdrawAt < t || expireAt <= t {
			break
		}
		asked[ref] = true
		g.offerID++
		id := g.offerID
		ref.lastOffer = max(ref.lastOffer, t)
		l.event(referral.EventOffered, ref.user, "", t)
		n := referral.OfferNotice(*r, id, ref.user, ref.domain)
		n.Due = time.UnixMilli(t + p.OfferTimeout.Milliseconds()).UTC()
		l.notice(ref.user, n, t)
		timeout := t + p.OfferTimeout.Milliseconds()
		answer, kind := timeout, referral.OfferTimedOut
		switch x := g.rnd.IntN(100); {
		case x < 60:
			answer, kind = t+hour+g.rnd.Int64N(48*hour), referral.OfferAccepted
		case x < 85:
			answer, kind = t+hour+g.rnd.Int64N(48*hour), referral.OfferDeclined
		}
		end := min(answer, expireAt)
		if withdrawAt >= 0 {
			end = min(end, withdrawAt)
		}
		if end > l.now {
			// Still with this referrer now.
			r.State, r.ReferrerID = referral.Offered, ref.user
			l.offer(id, ref, "pending", "", t, 0)
			l.step(referral.StepOfferTimeout, id, 0, timeout, 0)
			ref.note(busySpan{t, l.now + p.OfferTimeout.Milliseconds()}, t)
			break
		}
		ref.note(busySpan{t, end}, t)
		if end < answer {
			// Withdrawn or expired while asked.
			reason := "expired"
			if withdrawAt >= 0 && end == withdrawAt {
				reason = "withdrawn"
			}
			r.ReferrerID = ref.user
			l.offer(id, ref, "cancelled", reason, t, end)
			l.step(referral.StepOfferTimeout, id, 0, timeout, end)
			l.notice(ref.user, referral.OfferClosedNotice(*r, reason), end)
			t = end
			break
		}
		l.offer(id, ref, string(kind), "", t, answer)
		l.step(referral.StepOfferTimeout, id, 0, timeout, answer)
		t = answer
		switch kind {
		case referral.OfferAccepted:
			r.State, r.ReferrerID = referral.Accepted, ref.user
			l.accepted = answer
			ref.note(busySpan{answer, 0}, answer)
			l.event(referral.EventAccepted, ref.user, "", answer)
			l.notice(r.StudentID, referral.AcceptedNotice(*r, ref.user), answer)
		case referral.OfferDeclined:
			l.event(referral.EventDeclined, ref.user, "", answer)
		default:
			l.event(referral.EventTimedOut, ref.user, "", answer)
			l.notice(ref.user, referral.OfferClosedNotice(*r, "timeout"), answer)
		}
		if r.State == referral.Waiting && attempt < 3 && l.pick(t, asked) == nil {
			l.notice(r.StudentID, referral.WaitingNotice(*r), t)
		}
	}
	// Withdrawn, expired, or still open.
	if r.State == referral.Waiting || r.State == referral.Offered {
		switch {
		case withdrawAt >= 0 && withdrawAt <= l.now && withdrawAt < expireAt:
			r.State, l.closed = referral.Withdrawn, max(withdrawAt, t)
			l.event(referral.EventWithdrawn, r.StudentID, "", l.closed)
			l.step(referral.StepExpire, r.ID, 0, expireAt, l.closed)
		case expireAt <= l.now:
			r.State, l.closed = referral.Expired, expireAt
			l.event(referral.EventExpired, "", "", expireAt)
			l.notice(r.StudentID, referral.ExpiredNotice(*r), expireAt)
			l.step(referral.StepExpire, r.ID, 0, expireAt, expireAt)
		default:
			l.step(referral.StepExpire, r.ID, 0, expireAt, 0)
		}
		return
	}
	if r.State != referral.Accepted {
		return
	}
	l.afterAccept(expireAt)
}

// afterAccept plays submission, the reminder, follow-ups and outcomes.
func (l *life) afterAccept(expireAt int64) {
	g, r := l.g, &l.r
	p := SeedPolicy()
	a := l.accepted
	remindAt := a + p.ReferrerReminder.Milliseconds()
	submit := a + hour + g.rnd.Int64N(6*day)
	if g.rnd.IntN(8) == 0 && a > l.now-10*day {
		submit = l.now + day // not yet
	}
	if submit > l.now {
		// Accepted, not submitted yet.
		if remindAt <= l.now {
			l.event(referral.EventReminded, r.ReferrerID, "", remindAt)
			l.notice(r.ReferrerID, referral.ReminderNotice(*r), remindAt)
			l.step(referral.StepReminder, r.ID, 0, remindAt, remindAt)
		} else {
			l.step(referral.StepReminder, r.ID, 0, remindAt, 0)
		}
		expired := int64(0) // the expiry of an accepted request changes nothing but is done
		if expireAt <= l.now {
			expired = expireAt
		}
		l.step(referral.StepExpire, r.ID, 0, expireAt, expired)
		return
	}
	if remindAt < submit {
		l.event(referral.EventReminded, r.ReferrerID, "", remindAt)
		l.notice(r.ReferrerID, referral.ReminderNotice(*r), remindAt)
		l.step(referral.StepReminder, r.ID, 0, remindAt, remindAt)
	} else {
		l.step(referral.StepReminder, r.ID, 0, remindAt, submit)
	}
	l.step(referral.StepExpire, r.ID, 0, expireAt, min(expireAt, submit))
	r.State, l.submitted = referral.Submitted, submit
	l.event(referral.EventSubmitted, r.ReferrerID, "", submit)
	l.notice(r.StudentID, referral.SubmittedNotice(*r, r.ReferrerID, time.UnixMilli(submit+p.Nudges[0].Milliseconds()).UTC(), len(p.Nudges)), submit)

	// Outcomes: perhaps a screen or an interview first, then a final one;
	// some never say.
	var outcomes []referral.Outcome
	var times []int64
	at := submit
	if g.rnd.IntN(10) < 4 {
		at += 2*day + g.rnd.Int64N(12*day)
		outcomes, times = append(outcomes, []referral.Outcome{referral.OutcomeScreen, referral.OutcomeInterview}[g.rnd.IntN(2)]), append(times, at)
	}
	if g.rnd.IntN(10) < 9 {
		at += 2*day + g.rnd.Int64N(20*day)
		final := []referral.Outcome{referral.OutcomeOffer, referral.OutcomeRejected, referral.OutcomeRejected, referral.OutcomeNoResponse}[g.rnd.IntN(4)]
		outcomes, times = append(outcomes, final), append(times, at)
	}
	finalAt := int64(-1)
	for i, o := range outcomes {
		if o.Final() && times[i] <= l.now {
			finalAt = times[i]
		}
	}
	// Follow-ups until a final outcome.
	for n := 1; n <= len(p.Nudges); n++ {
		due := submit + p.Nudges[n-1].Milliseconds()
		switch {
		case finalAt >= 0 && finalAt < due:
			l.step(referral.StepNudge, r.ID, n, due, finalAt)
		case due > l.now:
			l.step(referral.StepNudge, r.ID, n, due, 0)
		default:
			l.step(referral.StepNudge, r.ID, n, due, due)
			l.event(referral.EventFollowUp, "", fmt.Sprint(n), due)
			l.notice(r.StudentID, referral.FollowUpNotice(*r, n, len(p.Nudges)), due)
			continue
		}
		break
	}
	for i, o := range outcomes {
		if times[i] > l.now {
			break
		}
		r.State, r.Outcome = o.State(), o
		l.event(referral.EventOutcome, r.StudentID, string(o), times[i])
		l.notice(r.ReferrerID, referral.OutcomeNotice(*r, o), times[i])
		if o.Final() {
			l.closed = times[i]
			if o == referral.OutcomeRejected && g.rnd.IntN(10) == 0 && times[i]+hour <= l.now {
				l.event(referral.EventKeepInMind, r.StudentID, "", times[i]+hour)
				l.notice(r.ReferrerID, referral.KeepInMindNotice(*r), times[i]+hour)
			}
		}
	}
}

func (l *life) offer(id int64, ref *seedReferrer, state, reason string, at, answered int64) {
	if l.err != nil {
		return
	}
	var ans any
	if answered != 0 {
		ans = answered
	}
	_, l.err = l.g.insOffer.ExecContext(l.ctx, id, l.r.ID, l.r.GuildID, ref.user, state, reason, at, ans)
}

// write stores the request row as its lifecycle left it; texts of closed
// requests past the retention are erased, as the sweep does.
func (l *life) write() error {
	r := l.r
	f := r.Fields
	opt := func(v int64) any {
		if v == 0 {
			return nil
		}
		return v
	}
	var erased any
	if l.closed != 0 && l.updated < l.now-SeedPolicy().Retention.Milliseconds() {
		erased = l.updated + SeedPolicy().Retention.Milliseconds() + minute
		f = referral.RequestFields{Role: f.Role}
	}
	_, err := l.g.insRequest.ExecContext(l.ctx, r.ID, r.GuildID, r.StudentID, r.Company.Key, r.Company.Name, r.State, f.JobURL, f.Role, f.Intro,
		f.ResumeURL, f.Note, r.ReferrerID, r.Outcome, ms(r.CreatedAt), l.updated, opt(l.accepted), opt(l.submitted), opt(l.closed), erased)
	return err
}

// seedLastOffered writes each referrer's last offer time.
func (g *generator) seedLastOffered(ctx context.Context, w *sql.DB) error {
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `UPDATE referrers SET last_offered_at = ? WHERE id = ?`)
	if err != nil {
		return err
	}
	for _, r := range g.refs {
		if r.lastOffer == 0 {
			continue
		}
		if _, err := st.ExecContext(ctx, r.lastOffer, r.id); err != nil {
			return err
		}
	}
	return tx.Commit()
}
