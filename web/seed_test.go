package web_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // the weeks are New York's in these tests, wherever they run

	"github.com/referralbot/referralbot/referral"
	"github.com/referralbot/referralbot/storage"
)

// The simulated servers: the one shown, and a second whose numbers must
// never leak into it.
const (
	guildID    = "412345678901234567"
	otherGuild = "512345678901234567"
)

// clock is the store's settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// world is a server's history made through the store's exported methods
// only, as the bot's handlers and sweeper make it.
type world struct {
	t      *testing.T
	s      *storage.Store
	clk    *clock
	rng    *rand.Rand
	offers map[int64]string // pending offer id -> the referrer asked
	taken  []taken          // accepted, not yet submitted
	out    []taken          // submitted, waiting for the next outcome
	jobs   int
}

type taken struct {
	request           int64
	referrer, student string
	stage             referral.Outcome // the last outcome; "" = none yet
	guild             string
}

var newYork = func() *time.Location {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic(err)
	}
	return loc
}()

// Referrer display names the page may show (a Discord lookup in the bot).
var displayNames = map[string]string{
	"7001": "Priya Raman", "7002": "Marcus Chen", "7003": "Sofia Alvarez", "7004": "Dan Okafor", "7006": "Lena Park",
}

// simulate builds about 20 weeks of a busy server, through the switch from
// summer time on 1 Nov 2026, and returns the store and when it ends.
func simulate(t *testing.T) (*storage.Store, time.Time) {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 7, 6, 13, 0, 0, 0, time.UTC)}
	s, err := storage.Open(ctx, filepath.Join(t.TempDir(), "dashboard.db"), storage.Options{Now: clk.Now, Location: newYork,
		Policy: referral.Policy{OfferTimeout: 72 * time.Hour, ReferrerReminder: 96 * time.Hour,
			Nudges: []time.Duration{7 * 24 * time.Hour, 14 * 24 * time.Hour}, RequestTTL: 30 * 24 * time.Hour,
			MaxOpenPerStudent: 3, DefaultCapacity: 4, Retention: 180 * 24 * time.Hour}})
	if err != nil {
		t.Fatalf("storage.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	w := &world{t: t, s: s, clk: clk, rng: rand.New(rand.NewPCG(16, 11)), offers: map[int64]string{}}

	for _, g := range []string{guildID, otherGuild} {
		if err := s.SetupGuild(ctx, referral.GuildSettings{GuildID: g, DigestChannelID: "digest-" + g, ReferrerRoleID: "role-" + g}); err != nil {
			t.Fatal(err)
		}
	}
	w.join(guildID, "7001", "Amazon, AWS", 8, true)
	w.join(guildID, "7002", "Amazon", 6, true)
	w.join(guildID, "7003", "Google", 5, true)
	w.join(guildID, "7004", "Stripe", 3, true)
	w.join(guildID, "7005", "Datadog", 4, true)
	w.join(guildID, "7006", "Google", 4, true)
	w.join(guildID, "7007", "Meta", 4, false) // pending: Meta has nobody
	w.join(otherGuild, "8001", "Amazon", 10, true)
	w.verify("7001", "amazon.com")
	w.verify("7003", "google.com")

	companies := []string{"Amazon", "Amazon", "Amazon", "Google", "Google", "Stripe", "Datadog", "Meta", "Netflix", "AWS"}
	end := time.Date(2026, 11, 23, 14, 30, 0, 0, time.UTC)
	for day := 0; clk.Now().Before(end); day++ {
		clk.Add(time.Duration(20+w.rng.IntN(8)) * time.Hour)
		for range w.rng.IntN(4) {
			w.request(guildID, companies[w.rng.IntN(len(companies))])
		}
		if w.rng.IntN(3) == 0 {
			w.request(otherGuild, "Amazon")
		}
		w.drain()
		clk.Add(time.Duration(1+w.rng.IntN(5)) * time.Hour)
		w.answer()
		w.progress()
		if _, err := s.RunDueSteps(ctx, 1000); err != nil {
			t.Fatalf("RunDueSteps: %v", err)
		}
		if _, err := s.MatchWaiting(ctx); err != nil {
			t.Fatalf("MatchWaiting: %v", err)
		}
		w.drain()
	}
	// A student reports their referrer: paused, with an open report.
	for _, tk := range w.out {
		if tk.guild == guildID && tk.referrer == "7002" {
			if _, err := s.ReportReferrer(ctx, tk.request, tk.student); err != nil {
				t.Fatalf("ReportReferrer: %v", err)
			}
			break
		}
	}
	w.drain()
	clk.Add(3 * time.Hour)
	return s, clk.Now()
}

func (w *world) join(guild, user, companies string, capacity int, role bool) {
	w.t.Helper()
	list, err := referral.ParseCompanies(companies)
	if err != nil {
		w.t.Fatal(err)
	}
	in := referral.JoinInput{GuildID: guild, UserID: user, Companies: list, Capacity: capacity, School: "State University"}
	if role {
		in.MemberRoles = []string{"role-" + guild}
	}
	if _, err := w.s.JoinReferrer(context.Background(), in); err != nil {
		w.t.Fatalf("JoinReferrer(%s): %v", user, err)
	}
}

// verify runs a work-email verification to its end, as the mail would.
func (w *world) verify(user, domain string) {
	w.t.Helper()
	ctx := context.Background()
	tk, err := w.s.StartVerification(ctx, referral.VerifyStart{GuildID: guildID, UserID: user, Domain: domain, Code: "314159"})
	if err != nil {
		w.t.Fatalf("StartVerification(%s): %v", user, err)
	}
	if err := w.s.VerificationMailed(ctx, tk.ID, tk.SentAt, ""); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.s.CheckCode(ctx, tk.ID, user, "314159"); err != nil {
		w.t.Fatalf("CheckCode(%s): %v", user, err)
	}
}

func (w *world) request(guild, company string) {
	w.t.Helper()
	w.jobs++
	in := referral.NewRequest{GuildID: guild, StudentID: fmt.Sprintf("9%05d", w.jobs), Company: referral.NormalizeCompany(company),
		Fields: referral.RequestFields{
			JobURL: fmt.Sprintf("https://jobs.example/%d", w.jobs), Role: "Software Engineer, New Grad",
			Intro:     "Final-year computer science student; I built a search engine for our library and interned on a payments team last summer.",
			ResumeURL: "https://files.example/resume.pdf",
		}}
	if _, err := w.s.CreateRequest(context.Background(), in); err != nil {
		w.t.Fatalf("CreateRequest: %v", err)
	}
}

// drain reads the queued messages as the outbox sender would, noting the
// offers, and marks them sent.
func (w *world) drain() {
	w.t.Helper()
	ctx := context.Background()
	for {
		msgs, err := w.s.DueOutbox(ctx, w.clk.Now().AddDate(1, 0, 0), 200)
		if err != nil {
			w.t.Fatal(err)
		}
		if len(msgs) == 0 {
			return
		}
		for _, m := range msgs {
			if m.Outgoing.Notice.Kind == referral.NoticeOffer {
				w.offers[m.Outgoing.Notice.OfferID] = m.Outgoing.UserID
			}
			if err := w.s.MarkSent(ctx, m.ID, "msg"); err != nil {
				w.t.Fatal(err)
			}
		}
	}
}

// answer has each asked referrer accept, decline or leave the offer to
// time out.
func (w *world) answer() {
	w.t.Helper()
	ids := make([]int64, 0, len(w.offers))
	for id := range w.offers {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		user := w.offers[id]
		roll := w.rng.IntN(10)
		if roll >= 8 {
			continue // no answer yet; may time out
		}
		delete(w.offers, id)
		ans, err := w.s.AnswerOffer(context.Background(), id, user, roll < 6)
		if errors.Is(err, referral.ErrMovedOn) || errors.Is(err, referral.ErrNotFound) {
			continue // timed out or withdrawn meanwhile
		}
		if err != nil {
			w.t.Fatalf("AnswerOffer(%d): %v", id, err)
		}
		if ans.Accepted {
			w.taken = append(w.taken, taken{request: ans.Request.ID, referrer: user, student: ans.Request.StudentID, guild: ans.Request.GuildID})
		}
		w.drain()
	}
}

// progress submits accepted referrals and records outcomes, a few a day.
func (w *world) progress() {
	w.t.Helper()
	ctx := context.Background()
	var still []taken
	for _, tk := range w.taken {
		if w.rng.IntN(10) < 5 {
			still = append(still, tk)
			continue
		}
		if _, err := w.s.MarkSubmitted(ctx, tk.request, tk.referrer); err != nil {
			w.t.Fatalf("MarkSubmitted(%d): %v", tk.request, err)
		}
		w.out = append(w.out, tk)
	}
	w.taken = still
	var open []taken
	for _, tk := range w.out {
		if w.rng.IntN(10) < 7 {
			open = append(open, tk)
			continue
		}
		next := map[referral.Outcome][]referral.Outcome{
			"":                        {referral.OutcomeScreen, referral.OutcomeScreen, referral.OutcomeRejected, referral.OutcomeNoResponse, referral.OutcomeInterview},
			referral.OutcomeScreen:    {referral.OutcomeInterview, referral.OutcomeInterview, referral.OutcomeRejected},
			referral.OutcomeInterview: {referral.OutcomeOffer, referral.OutcomeRejected},
		}[tk.stage]
		o := next[w.rng.IntN(len(next))]
		if _, err := w.s.RecordOutcome(ctx, tk.student, tk.request, o); err != nil {
			w.t.Fatalf("RecordOutcome(%d, %s): %v", tk.request, o, err)
		}
		if !o.Final() {
			tk.stage = o
			open = append(open, tk)
		}
	}
	w.out = open
	w.drain()
}
