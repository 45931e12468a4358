package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/referralbot/referralbot/discordtest"
)

// kind is what an interaction was, for the per-kind figures.
type kind int

const (
	kindStatus kind = iota
	kindRequest
	kindSubmit
	kindPress
	kindDigest
	numKinds
)

var kindNames = [numKinds]string{"status", "request", "submit", "press", "digest-now"}

// outcomeLabels are the follow-up buttons a student may press.
var outcomeLabels = []string{"Recruiter screen", "Interviewing", "Offer", "Rejected", "No news yet"}

// sent is an interaction in flight.
type sent struct {
	in     *discordtest.Interaction
	kind   kind
	user   string
	label  string // for presses
	sentAt time.Time
}

// pressable is a button a user can press next.
type pressable struct {
	user  string
	msg   *discordtest.Message
	label string
}

// stats is what one phase (or one soak window) measured.
type stats struct {
	sent       int
	window     time.Duration // time spent sending
	latencies  []time.Duration
	byKind     [numKinds][]time.Duration
	unanswered int
	notSent    int // the driver could not send (e.g. a message forgotten); no fault of the bot
	fallbacks  int // press or request slots sent as status: nothing to press
}

// driver sends interactions to one fake at a fixed rate from one
// goroutine: sends, collecting answers and reading new DMs interleave,
// so no lock is needed and thousands in flight cost one scan per poll.
type driver struct {
	dc       *discordtest.Server
	w        *world
	rng      *rand.Rand
	mix      mix
	deadline time.Duration
	bare     bool

	inFlight []sent
	modals   []*discordtest.Response // opened and not yet submitted
	presses  []pressable
	cursor   int // discordtest.EventsSince
	jobs     *int
}

const (
	pollEvery   = 10 * time.Millisecond
	maxPresses  = 5000
	maxModals   = 1000
	prefillMark = "/prefill/"
)

func newDriver(dc *discordtest.Server, w *world, o options, bare bool, jobs *int) *driver {
	return &driver{dc: dc, w: w, rng: rand.New(rand.NewPCG(uint64(o.seed), 1)), mix: o.mix,
		deadline: o.deadline, bare: bare, jobs: jobs}
}

// drive sends n interactions (or for dur if n is 0) at rate, open loop:
// the k-th goes at start + k/rate whatever came back. at, if set, runs
// once when the phase is halfway (its interactions count by kind only). window, if set, is handed the figures
// every 10 s and they start afresh. It waits for what is in flight.
func (d *driver) drive(ctx context.Context, rate, n int, dur time.Duration, at func(*stats), window func(*stats, time.Duration)) *stats {
	st := &stats{}
	interval := time.Second / time.Duration(rate)
	if n == 0 {
		n = int(dur / interval)
	}
	start := time.Now()
	lastWindow, lastPoll := start, start
	halfway := start.Add(time.Duration(n/2) * interval)
	for k := 0; k < n && ctx.Err() == nil; {
		now := time.Now()
		for ; k < n && !start.Add(time.Duration(k)*interval).After(now); k++ {
			d.sendOne(ctx, st)
		}
		if at != nil && !now.Before(halfway) {
			at(st)
			at = nil
		}
		if now.Sub(lastPoll) >= pollEvery {
			d.poll(ctx, st, now)
			lastPoll = now
		}
		if window != nil && now.Sub(lastWindow) >= 10*time.Second {
			st.window = now.Sub(lastWindow)
			window(st, now.Sub(start))
			st, lastWindow = &stats{}, now
		}
		next := start.Add(time.Duration(k) * interval)
		if p := lastPoll.Add(pollEvery); p.Before(next) {
			next = p
		}
		time.Sleep(time.Until(next))
	}
	st.window = time.Since(lastWindow)
	// Drain: everything sent gets its deadline.
	for len(d.inFlight) > 0 && ctx.Err() == nil {
		d.poll(ctx, st, time.Now())
		time.Sleep(pollEvery)
	}
	if window != nil {
		window(st, time.Since(start))
	}
	return st
}

func (d *driver) sendOne(ctx context.Context, st *stats) {
	st.sent++
	r := d.rng.IntN(100)
	switch {
	case r < d.mix.status:
	case r < d.mix.status+d.mix.request:
		if d.submit(ctx, st) || d.openRequest(ctx, st) {
			return
		}
	default:
		if d.press(ctx, st) {
			return
		}
		st.fallbacks++
	}
	d.status(ctx, st)
}

func (d *driver) student() string { return d.w.students[d.rng.IntN(len(d.w.students))] }

func (d *driver) track(st *stats, in *discordtest.Interaction, err error, k kind, user, label string) bool {
	if err != nil {
		st.notSent++
		return false
	}
	d.inFlight = append(d.inFlight, sent{in: in, kind: k, user: user, label: label, sentAt: time.Now()})
	return true
}

func (d *driver) status(ctx context.Context, st *stats) {
	u := d.student()
	in, err := d.dc.RunCommand(ctx, discordtest.Command{GuildID: d.w.guild, ChannelID: d.w.general, UserID: u,
		Name: "referral", Subcommand: "status"})
	d.track(st, in, err, kindStatus, u, "")
}

func (d *driver) openRequest(ctx context.Context, st *stats) bool {
	u := d.student()
	co := d.w.companies[d.rng.IntN(len(d.w.companies))]
	in, err := d.dc.RunCommand(ctx, discordtest.Command{GuildID: d.w.guild, ChannelID: d.w.general, UserID: u,
		Name: "referral", Subcommand: "request", Options: []discordtest.Option{{Name: "company", Value: co}}})
	return d.track(st, in, err, kindRequest, u, "")
}

func (d *driver) submit(ctx context.Context, st *stats) bool {
	if len(d.modals) == 0 {
		return false
	}
	m := d.modals[0]
	d.modals = d.modals[1:]
	*d.jobs++
	values := requestValues("", fmt.Sprintf("https://jobs.example.org/load/%d", *d.jobs))
	if d.bare {
		values = map[string]string{"job_url": values["job_url"]}
	}
	in, err := d.dc.SubmitModal(ctx, discordtest.ModalSubmit{Modal: m, Values: values})
	return d.track(st, in, err, kindSubmit, "", "")
}

func (d *driver) press(ctx context.Context, st *stats) bool {
	for tries := 0; tries < 3 && len(d.presses) > 0; tries++ {
		p := d.presses[0]
		d.presses = d.presses[1:]
		in, err := d.dc.PressButton(ctx, discordtest.Press{UserID: p.user, Message: p.msg, Label: p.label})
		if d.track(st, in, err, kindPress, p.user, p.label) {
			return true
		}
	}
	return false
}

// poll collects answers and unanswered interactions, and picks up new
// buttons to press.
func (d *driver) poll(ctx context.Context, st *stats, now time.Time) {
	ins := make([]*discordtest.Interaction, len(d.inFlight))
	for i, s := range d.inFlight {
		ins[i] = s.in
	}
	timings := d.dc.Timings(ins)
	keep := d.inFlight[:0]
	for i, s := range d.inFlight {
		t := timings[i]
		since := s.sentAt
		if !t.Delivered.IsZero() {
			since = t.Delivered
		}
		switch {
		case !t.Answered.IsZero() && t.Latency() <= d.deadline:
			if s.kind != kindDigest {
				st.latencies = append(st.latencies, t.Latency())
			}
			st.byKind[s.kind] = append(st.byKind[s.kind], t.Latency())
			d.followUp(ctx, s, t)
		case !t.Answered.IsZero(), now.Sub(since) > d.deadline+100*time.Millisecond, !t.Known:
			st.unanswered++
		default:
			keep = append(keep, s)
		}
	}
	clear(d.inFlight[len(keep):])
	d.inFlight = keep
	if !d.bare {
		d.readDMs()
	}
}

// followUp keeps what an answer opens: a modal to submit, the Referral
// submitted button after Accept, or (bare) a button to press.
func (d *driver) followUp(ctx context.Context, s sent, t discordtest.Timing) {
	switch {
	case s.kind == kindRequest && t.Type == discordgo.InteractionResponseModal && len(d.modals) < maxModals:
	case s.kind == kindPress && s.label == "Accept" && t.Type == discordgo.InteractionResponseUpdateMessage && !d.bare:
	case d.bare && s.kind == kindStatus && len(d.presses) < 64:
	default:
		return
	}
	resp, err := s.in.Response(ctx) // answered already: returns at once
	if err != nil {
		return
	}
	if resp.Type == discordgo.InteractionResponseModal {
		d.modals = append(d.modals, resp)
		return
	}
	m := resp.Message()
	label := "Accept"
	if !d.bare {
		label = "Referral submitted"
	}
	if m != nil && hasButton(m, label) {
		d.addPress(pressable{user: s.user, msg: m, label: label})
	}
}

// readDMs turns new offer and follow-up DMs into presses.
func (d *driver) readDMs() {
	events, next := d.dc.EventsSince(d.cursor, "dm")
	d.cursor = next
	for _, e := range events {
		m := e.Message
		switch {
		case hasButton(m, "Accept") && !strings.Contains(m.Text(), prefillMark):
			d.addPress(pressable{user: e.UserID, msg: m, label: "Accept"})
		case hasButton(m, "Interviewing"):
			d.addPress(pressable{user: e.UserID, msg: m, label: outcomeLabels[d.rng.IntN(len(outcomeLabels))]})
		}
	}
}

func (d *driver) addPress(p pressable) {
	if len(d.presses) >= maxPresses {
		d.presses = slices.Delete(d.presses, 0, 1)
	}
	d.presses = append(d.presses, p)
}

func hasButton(m *discordtest.Message, label string) bool {
	for _, b := range m.Buttons() {
		if b.Label == label && !b.Disabled {
			return true
		}
	}
	return false
}
