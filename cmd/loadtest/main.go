// Command loadtest drives the real referralbot binary with a fixed,
// open-loop rate of interactions from many users and compares it with a
// bare discordgo bot that answers every interaction at once (the floor).
//
//	go run ./cmd/loadtest                          # -rate 100,300,500 -phase 15s: bot, bare, bot, bare at each rate
//	go run ./cmd/loadtest -rate 300 -sweep         # while 1,000 offers time out and a digest runs
//	go run ./cmd/loadtest -rate 300 -waiting       # every referrer at capacity: requests pile up waiting
//	go run ./cmd/loadtest -soak 1000000 -soak-rate 300   # RSS every 10 s, to read flatness
//	go run ./cmd/loadtest -interactions http       # signed POSTs to the bot's endpoint instead of the gateway
//	go run ./cmd/loadtest -interactions http -postgres postgres://... -replicas 3   # three replicas on one schema
//
// It builds ./cmd/referralbot (or takes -bin), writes a config whose
// discord.api_url is an in-process discordtest server, database.path the
// -db file (or a fresh temporary one) and http.listen a free loopback port,
// and starts it as a child process. The bare bot is a second child process
// (this binary's "bare" subcommand) against a second fake built the same way.
// The world is set up through real interactions: an admin runs
// /referral-admin setup, referrers run /referrer join. Then the mix (by
// default 80% /referral status, 10% /referral request or a submit of a
// modal it opened, 10% presses: Accept on offers that arrived by DM,
// Referral submitted, and outcome buttons on follow-ups) is sent at the
// rate, from random students.
//
// Latency is what the fake sees: from writing INTERACTION_CREATE to the
// bot's gateway connection to accepting its interaction callback (in http
// mode: from signing the POST to the bot's endpoint to applying the HTTP
// answer; with -replicas the fake sends them to the endpoints in turn).
// With -postgres the bot runs on a fresh schema of that server (search_path
// in database.url), dropped at the end. The bare bot takes the same shape:
// in http mode it is an endpoint that checks the signature and answers,
// one process per replica. An
// interaction with no callback within -deadline (3 s) is unanswered. The
// table shows p50, p99, max, the achieved rate, unanswered interactions,
// the bot's RSS and high-water mark (/proc/PID/status) and Go heap in use
// (its /metrics), and the ratio of the bot's p99 to the bare bot's.
//
// Everything listens on 127.0.0.1, the run is bounded in count and time,
// and on the end, an error or Ctrl-C it stops only the children it started,
// by PID.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "loadtest:", err)
		}
		os.Exit(1)
	}
}

// options are the command's flags, checked.
type options struct {
	bin, db      string
	rates        []int
	phase        time.Duration
	rounds       int
	students     int
	referrers    int
	companies    int
	mix          mix
	sweep        bool
	sweepOffers  int
	offerTimeout time.Duration
	waiting      bool
	backlog      int
	soak         int
	soakRate     int
	deadline     time.Duration
	quiet        time.Duration
	bare         bool
	verbose      bool
	seed         int64
	interactions string // gateway or http
	postgres     string // a server to make a fresh schema on; empty = SQLite
	replicas     int
}

func (o options) http() bool { return o.interactions == "http" }

// mix is the share in percent of each slot of the open-loop schedule.
type mix struct{ status, request, press int }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "bare" {
		return runBare(ctx, args[1:], stderr)
	}
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	// A hard bound on the whole run, whatever the flags say.
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, o.budget())
	defer cancel()
	_, err = runLoad(ctx, o, stdout, stderr)
	switch {
	case err == nil:
	case parent.Err() != nil:
		return errors.New("interrupted; the children it started are stopped")
	case ctx.Err() != nil:
		return fmt.Errorf("stopped at the run's time bound of %v: %w", o.budget(), err)
	}
	return err
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./cmd/loadtest [flags]\n\n"+
			"Drives the real referralbot (a child process) and a bare discordgo bot against in-process fake Discords\n"+
			"at fixed rates and prints latency (gateway dispatch or signed POST, to callback), errors, RSS and heap. Flags:\n")
		fs.PrintDefaults()
	}
	var o options
	var rates, mixFlag string
	fs.StringVar(&o.bin, "bin", "", "referralbot binary to run (default: go build ./cmd/referralbot into a temporary directory)")
	fs.StringVar(&o.db, "db", "", "database.path for the bot (default: a fresh temporary file)")
	fs.StringVar(&rates, "rate", "100,300,500", "interactions per second, one measured set of phases per rate (1-2000 each)")
	fs.DurationVar(&o.phase, "phase", 15*time.Second, "length of one phase (1s-5m)")
	fs.IntVar(&o.rounds, "rounds", 2, "bot/bare phase pairs per rate (1-5)")
	fs.IntVar(&o.students, "students", 2000, "students sending interactions (1-100000)")
	fs.IntVar(&o.referrers, "referrers", 0, "referrers joining through /referrer join (default 300; 600 with -sweep)")
	fs.IntVar(&o.companies, "companies", 30, "companies the referrers are spread over (1-1000)")
	fs.StringVar(&mixFlag, "mix", "80,10,10", "percent of status, request (command or modal submit) and button presses")
	fs.BoolVar(&o.sweep, "sweep", false, "before each bot phase create -sweep-offers offers that time out during it, and run digest-now halfway")
	fs.IntVar(&o.sweepOffers, "sweep-offers", 1000, "offers created to time out during each bot phase with -sweep (1-5000)")
	fs.DurationVar(&o.offerTimeout, "offer-timeout", 0, "referrals.offer_timeout for -sweep (default: the phase length)")
	fs.BoolVar(&o.waiting, "waiting", false, "every referrer at capacity (capacity 1, one open offer each) and a backlog of waiting requests")
	fs.IntVar(&o.backlog, "backlog", 500, "waiting requests created before the load with -waiting (0-20000)")
	fs.IntVar(&o.soak, "soak", 0, "instead of phases: send this many interactions to the bot (up to 10000000), printing RSS every 10 s")
	fs.IntVar(&o.soakRate, "soak-rate", 300, "rate of -soak (1-2000)")
	fs.DurationVar(&o.deadline, "deadline", 3*time.Second, "an interaction with no callback within this is unanswered")
	fs.DurationVar(&o.quiet, "quiet", 0, "also measure the bot after this long with no interaction, after set-up (0-5m; it frees its heap after 10 s)")
	fs.BoolVar(&o.bare, "bare", true, "also run the bare bot phases (the floor)")
	fs.BoolVar(&o.verbose, "v", false, "copy the children's logs to stderr")
	fs.Int64Var(&o.seed, "seed", 1, "random seed of the mix")
	fs.StringVar(&o.interactions, "interactions", "gateway", "how the fake delivers interactions: gateway, or http (signed POSTs to each bot's endpoint)")
	fs.StringVar(&o.postgres, "postgres", "", "PostgreSQL server URL (loopback) to run the bot on a fresh schema of, instead of SQLite")
	fs.IntVar(&o.replicas, "replicas", 1, "bot processes on one database, endpoints taken in turn (1-5; above 1 needs -interactions http and -postgres)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (flags only, or the bare subcommand)", fs.Arg(0))
	}
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	for _, part := range strings.Split(rates, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 1 || n > 2000 {
			bad("-rate: %q is not a rate of 1 to 2000 per second; e.g. -rate 100,300", part)
			continue
		}
		o.rates = append(o.rates, n)
	}
	if m, err := parseMix(mixFlag); err != nil {
		bad("-mix: %v", err)
	} else {
		o.mix = m
	}
	if o.referrers == 0 {
		o.referrers = 300
		if o.sweep {
			o.referrers = 600
		}
	}
	if o.offerTimeout == 0 {
		o.offerTimeout = o.phase
	}
	checks := []struct {
		ok   bool
		what string
	}{
		{o.phase >= time.Second && o.phase <= 5*time.Minute, "-phase: use 1s to 5m"},
		{o.rounds >= 1 && o.rounds <= 5, "-rounds: use 1 to 5"},
		{o.students >= 1 && o.students <= 100000, "-students: use 1 to 100000"},
		{o.referrers >= 1 && o.referrers <= 20000, "-referrers: use 1 to 20000"},
		{o.companies >= 1 && o.companies <= 1000 && o.companies <= o.referrers, "-companies: use 1 to 1000, at most -referrers"},
		{o.sweepOffers >= 1 && o.sweepOffers <= 5000, "-sweep-offers: use 1 to 5000"},
		{o.offerTimeout >= time.Second && o.offerTimeout <= time.Hour, "-offer-timeout: use 1s to 1h"},
		{o.backlog >= 0 && o.backlog <= 20000, "-backlog: use 0 to 20000"},
		{o.soak >= 0 && o.soak <= 10000000, "-soak: use 0 to 10000000 interactions"},
		{o.soakRate >= 1 && o.soakRate <= 2000, "-soak-rate: use 1 to 2000"},
		{o.deadline >= 100*time.Millisecond && o.deadline <= 3*time.Second, "-deadline: use 100ms to 3s (Discord's window)"},
		{o.quiet >= 0 && o.quiet <= 5*time.Minute, "-quiet: use 0 to 5m"},
		{!(o.sweep && o.waiting), "-sweep and -waiting: choose one"},
		{o.interactions == "gateway" || o.interactions == "http", "-interactions: use gateway or http"},
		{o.replicas >= 1 && o.replicas <= 5, "-replicas: use 1 to 5"},
		{o.replicas == 1 || (o.http() && o.postgres != ""), "-replicas above 1: needs -interactions http and -postgres (one SQLite file, one gateway connection)"},
		{o.postgres == "" || o.db == "", "-db and -postgres: choose one"},
		{o.soak == 0 || o.replicas == 1, "-soak: with one replica"},
	}
	for _, c := range checks {
		if !c.ok {
			bad("%s", c.what)
		}
	}
	if len(errs) > 0 {
		return o, errors.New(strings.Join(errs, "; "))
	}
	return o, nil
}

func parseMix(s string) (mix, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return mix{}, fmt.Errorf("%q: want three percentages (status, request, press) adding up to 100, e.g. 80,10,10", s)
	}
	var v [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 0 {
			return mix{}, fmt.Errorf("%q is not a percentage", p)
		}
		v[i] = n
	}
	if v[0]+v[1]+v[2] != 100 {
		return mix{}, fmt.Errorf("%q adds up to %d; want 100", s, v[0]+v[1]+v[2])
	}
	return mix{v[0], v[1], v[2]}, nil
}

// budget bounds the run: the phases or the soak, plus set-up and drains.
func (o options) budget() time.Duration {
	d := 10 * time.Minute // build, start, world set-up
	if o.soak > 0 {
		return d + time.Duration(o.soak/o.soakRate+1)*time.Second*2
	}
	perPhase := o.phase + 2*o.deadline + 5*time.Second
	if o.sweep {
		perPhase += o.offerTimeout + time.Minute
	}
	return d + time.Duration(len(o.rates)*o.rounds*2)*perPhase
}
