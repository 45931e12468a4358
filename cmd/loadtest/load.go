package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/referralbot/referralbot/commands"
	"github.com/referralbot/referralbot/discordtest"
)

// target is one bot under load: its fake, its processes (several replicas
// in http mode) and its driver.
type target struct {
	name    string
	dc      *discordtest.Server
	procs   []*child
	listens []string // bot only: each process's http.listen
	d       *driver
}

// exited reports an error if one of the target's processes is gone.
func (t *target) exited() error {
	for _, p := range t.procs {
		if err := p.exited(); err != nil {
			return err
		}
	}
	return nil
}

// phase is one measured phase.
type phase struct {
	target       string
	rate, round  int
	st           *stats
	mem          memory
	heap         float64       // bytes; bot only
	steps        float64       // due steps run during the phase; bot only
	cpu, selfCPU time.Duration // CPU used by the target and by this command during the phase
	wall         time.Duration
	prefill      time.Duration
}

// report is what a run measured, for the table and the test.
type report struct {
	phases      []phase
	idle, after reading
}

func runLoad(ctx context.Context, o options, stdout, stderr io.Writer) (*report, error) {
	rep := &report{}
	dir, err := os.MkdirTemp("", "referralbot-loadtest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := o.bin
	if bin == "" {
		fmt.Fprintln(stdout, "building ./cmd/referralbot ...")
		if bin, err = buildBot(ctx, dir, stderr); err != nil {
			return nil, err
		}
	}
	w := newWorld(o.students, o.referrers, o.companies)
	jobs := 0

	var fakeOpts []discordtest.ServerOption
	if o.http() {
		fakeOpts = append(fakeOpts, discordtest.WithHTTPInteractions())
	}
	botFake, err := discordtest.New(fakeOpts...)
	if err != nil {
		return nil, err
	}
	defer botFake.Close() // after the children stop: defers run last first
	if err := mustLoopback(botFake.URL()); err != nil {
		return nil, err
	}
	w.populate(botFake)
	cfg := botConfig{apiURL: botFake.URL(), dbPath: o.db, guildID: w.guild,
		sweep: "@every 1s", offerTimeout: 72 * time.Hour, capacity: 20}
	if o.http() {
		cfg.publicKey = botFake.PublicKey()
	}
	database := cfg.dbPath
	switch {
	case o.postgres != "":
		var drop func()
		if cfg.dbURL, drop, err = freshSchema(ctx, o.postgres); err != nil {
			return nil, err
		}
		defer drop() // after the children stop
		database = "a fresh PostgreSQL schema"
	case cfg.dbPath == "":
		cfg.dbPath = filepath.Join(dir, "referralbot.db")
		database = cfg.dbPath
	}
	if o.waiting {
		cfg.capacity = 1
	}
	if o.sweep {
		cfg.offerTimeout = o.offerTimeout
	}
	bot := &target{name: "bot", dc: botFake, d: newDriver(botFake, w, o, false, &jobs)}
	var endpoints []string
	for i := range o.replicas {
		// One at a time: the first migrates the database.
		started := time.Now()
		if cfg.listen, err = freeLoopbackAddr(); err != nil {
			return nil, err
		}
		name, cfgPath := "referralbot", filepath.Join(dir, "config.yaml")
		if o.replicas > 1 {
			name, cfgPath = fmt.Sprintf("referralbot replica %d", i+1), filepath.Join(dir, fmt.Sprintf("config-%d.yaml", i+1))
		}
		if err := writeConfig(ctx, bin, cfgPath, cfg); err != nil {
			return nil, err
		}
		botProc, err := startChild(name, filepath.Join(dir, fmt.Sprintf("bot-%d.log", i+1)), o.verbose, stderr, bin, "run", "-config", cfgPath)
		if err != nil {
			return nil, err
		}
		defer botProc.stop()
		if i == 0 {
			if err := waitReady(ctx, botFake, w.guild, botProc); err != nil {
				return nil, err
			}
		}
		if err := waitHealthy(ctx, cfg.listen, botProc); err != nil {
			return nil, err
		}
		fmt.Fprintf(stdout, "%s pid %d ready in %v; database %s; metrics http://%s/metrics\n",
			name, botProc.cmd.Process.Pid, time.Since(started).Round(time.Millisecond), database, cfg.listen)
		bot.procs, bot.listens = append(bot.procs, botProc), append(bot.listens, cfg.listen)
		endpoints = append(endpoints, "http://"+cfg.listen+"/interactions")
	}
	if o.http() {
		botFake.SetInteractionEndpoints(endpoints...)
	}

	var bare *target
	if o.bare && o.soak == 0 {
		bareFake, err := discordtest.New(fakeOpts...)
		if err != nil {
			return nil, err
		}
		defer bareFake.Close()
		w.populate(bareFake)
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		bare = &target{name: "bare", dc: bareFake, d: newDriver(bareFake, w, o, true, &jobs)}
		var bareEndpoints []string
		for i := range o.replicas {
			args := []string{"bare", "-api", bareFake.URL(), "-guild", w.guild}
			listen := ""
			if o.http() {
				if listen, err = freeLoopbackAddr(); err != nil {
					return nil, err
				}
				args = append(args, "-http", listen, "-public-key", bareFake.PublicKey())
			}
			bareProc, err := startChild("bare bot", filepath.Join(dir, fmt.Sprintf("bare-%d.log", i+1)), o.verbose, stderr, exe, args...)
			if err != nil {
				return nil, err
			}
			defer bareProc.stop()
			if i == 0 {
				if err := waitReady(ctx, bareFake, w.guild, bareProc); err != nil {
					return nil, err
				}
			}
			if o.http() {
				endpoint := "http://" + listen + "/interactions"
				if err := waitEndpoint(ctx, bareFake, endpoint, bareProc); err != nil {
					return nil, fmt.Errorf("bare bot %d: %w", i+1, err)
				}
				bareEndpoints = append(bareEndpoints, endpoint)
			}
			fmt.Fprintf(stdout, "bare bot pid %d ready\n", bareProc.cmd.Process.Pid)
			bare.procs = append(bare.procs, bareProc)
		}
		if o.http() {
			bareFake.SetInteractionEndpoints(bareEndpoints...)
		}
	}

	t0 := time.Now()
	if err := w.setUp(ctx, botFake, cfg.capacity); err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "world: %d students, %d referrers over %d companies, set up through interactions in %v\n",
		o.students, o.referrers, o.companies, time.Since(t0).Round(time.Millisecond))
	if o.waiting {
		n := len(w.referrers) + o.backlog
		t0 = time.Now()
		if err := prefill(ctx, w, botFake, n, "backlog", &jobs); err != nil {
			return nil, err
		}
		fmt.Fprintf(stdout, "waiting: %d requests made in %v (one open offer per referrer at capacity 1, %d waiting)\n",
			n, time.Since(t0).Round(time.Millisecond), o.backlog)
	}
	if err := pause(ctx, 2*time.Second); err != nil {
		return nil, err
	}
	idle := measure(ctx, bot)
	rep.idle = idle
	fmt.Fprintf(stdout, "bot idle after set-up: RSS %s, high-water %s, heap in use %s\n", mb(idle.mem.rss), mb(idle.mem.hwm), mb(int64(idle.heap)))
	if o.quiet > 0 {
		if err := pause(ctx, o.quiet); err != nil {
			return nil, err
		}
		q := measure(ctx, bot)
		fmt.Fprintf(stdout, "bot after %v with no interaction: RSS %s, high-water %s, heap in use %s\n", o.quiet, mb(q.mem.rss), mb(q.mem.hwm), mb(int64(q.heap)))
	}

	if o.soak > 0 {
		return rep, runSoak(ctx, o, bot, stdout)
	}
	for _, rate := range o.rates {
		for round := 1; round <= o.rounds; round++ {
			for _, t := range []*target{bot, bare} {
				if t == nil {
					continue
				}
				p, err := runPhase(ctx, o, w, t, rate, round, &jobs, stdout)
				if err != nil {
					return nil, err
				}
				rep.phases = append(rep.phases, p)
			}
		}
	}
	if err := pause(ctx, 3*time.Second); err != nil {
		return nil, err
	}
	after := measure(ctx, bot)
	rep.after = after
	printReport(stdout, o, rep.phases)
	fmt.Fprintf(stdout, "bot 3 s after the load: RSS %s, high-water %s, heap in use %s (idle before: RSS %s)\n",
		mb(after.mem.rss), mb(after.mem.hwm), mb(int64(after.heap)), mb(idle.mem.rss))
	return rep, nil
}

// waitEndpoint waits until the child's interactions endpoint passes the
// Developer Portal's check (it listens a moment after it starts).
func waitEndpoint(ctx context.Context, dc *discordtest.Server, endpoint string, c *child) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		err := dc.CheckInteractionsEndpoint(ctx, endpoint)
		if err == nil {
			return nil
		}
		if exited := c.exited(); exited != nil {
			return exited
		}
		if perr := pause(ctx, 50*time.Millisecond); perr != nil {
			return errors.Join(err, perr)
		}
	}
}

// waitReady waits for the child to register its commands in the guild.
func waitReady(ctx context.Context, dc *discordtest.Server, guild string, c *child) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := dc.WaitCommands(ctx, guild, len(commands.Definitions()))
		errc <- err
	}()
	select {
	case err := <-errc:
		if err != nil {
			return fmt.Errorf("%s did not register its commands: %w; its log ends:\n%s", c.name, err, c.logTail())
		}
		return nil
	case <-c.done:
		cancel()
		return c.exited()
	}
}

func runPhase(ctx context.Context, o options, w *world, t *target, rate, round int, jobs *int, stdout io.Writer) (phase, error) {
	p := phase{target: t.name, rate: rate, round: round}
	var at func(*stats)
	if t.name == "bot" {
		if o.sweep {
			// The offers fall due offer_timeout after they were made;
			// start the phase so that their middle is its middle.
			t0 := time.Now()
			if err := prefill(ctx, w, t.dc, o.sweepOffers, prefillMark[1:len(prefillMark)-1], jobs); err != nil {
				return p, err
			}
			p.prefill = time.Since(t0)
			startAt := t0.Add(o.offerTimeout + p.prefill/2 - o.phase/2)
			if err := pause(ctx, time.Until(startAt)); err != nil {
				return p, err
			}
			at = func(st *stats) {
				in, err := t.dc.RunCommand(ctx, discordtest.Command{GuildID: w.guild, ChannelID: w.general, UserID: w.admin,
					Name: "referral-admin", Subcommand: "digest-now"})
				t.d.track(st, in, err, kindDigest, w.admin, "")
			}
		}
	}
	before, selfBefore, start := measure(ctx, t), cpu(os.Getpid()), time.Now()
	p.st = t.d.drive(ctx, rate, 0, o.phase, at, nil)
	p.wall, p.selfCPU = time.Since(start), cpu(os.Getpid())-selfBefore
	if err := ctx.Err(); err != nil {
		return p, err
	}
	if err := t.exited(); err != nil {
		return p, err
	}
	m := measure(ctx, t)
	p.mem, p.heap, p.steps, p.cpu = m.mem, m.heap, m.steps-before.steps, m.cpu-before.cpu
	fmt.Fprintf(stdout, "  %-4s %4d/s round %d: %6d sent, p99 %7.2f ms, %d unanswered\n",
		t.name, rate, round, p.st.sent, ms(percentile(p.st.latencies, 0.99)), p.st.unanswered)
	// The fake keeps only the last minute, so a long run stays small.
	t.dc.ForgetBefore(time.Now().Add(-time.Minute))
	return p, pause(ctx, time.Second)
}

// prefill makes n requests as fast as the bot takes them (16 at a time),
// spread over students and companies, with job links under /mark/.
func prefill(ctx context.Context, w *world, dc *discordtest.Server, n int, mark string, jobs *int) error {
	base := *jobs
	*jobs += n
	return parallel(ctx, n, 16, func(i int) error {
		student := w.students[(base+i)%len(w.students)]
		err := w.request(ctx, dc, student, w.companies[i%len(w.companies)], fmt.Sprintf("https://jobs.example.org/%s/%d", mark, base+i))
		if err != nil {
			return fmt.Errorf("%s request %d: %w", mark, i+1, err)
		}
		return nil
	})
}

type reading struct {
	mem         memory
	heap, steps float64
	cpu         time.Duration
}

// measure reads a target's memory and CPU, and for the bot its heap and
// steps run: summed over its processes.
func measure(ctx context.Context, t *target) reading {
	var r reading
	for _, p := range t.procs {
		m, _ := p.memory()
		r.mem.rss, r.mem.hwm = r.mem.rss+m.rss, r.mem.hwm+m.hwm
		r.cpu += cpu(p.cmd.Process.Pid)
	}
	for _, listen := range t.listens {
		v, err := scrape(ctx, listen, "go_memstats_heap_inuse_bytes", "referralbot_steps_run_total")
		if err == nil {
			r.heap, r.steps = r.heap+v["go_memstats_heap_inuse_bytes"], r.steps+v["referralbot_steps_run_total"]
		}
	}
	return r
}

func runSoak(ctx context.Context, o options, bot *target, stdout io.Writer) error {
	fmt.Fprintf(stdout, "soak: %d interactions at %d/s to the bot; every 10 s:\n", o.soak, o.soakRate)
	fmt.Fprintf(stdout, "%8s %10s %10s %8s %8s %10s %8s %8s %8s %15s %16s\n", "elapsed", "sent", "achieved/s", "p50 ms", "p99 ms", "unanswered",
		"RSS MB", "HWM MB", "heap MB", "loadtest RSS MB", "loadtest heap MB")
	total, unanswered := 0, 0
	bot.d.drive(ctx, o.soakRate, o.soak, 0, nil, func(st *stats, elapsed time.Duration) {
		total += st.sent
		unanswered += st.unanswered
		m := measure(ctx, bot)
		bot.dc.ForgetBefore(time.Now().Add(-15 * time.Second))
		self, _ := procMemory(os.Getpid())
		var selfMem runtime.MemStats
		runtime.ReadMemStats(&selfMem)
		fmt.Fprintf(stdout, "%8s %10d %10.1f %8.2f %8.2f %10d %8s %8s %8s %15s %16s\n", elapsed.Round(time.Second), total,
			st.achieved(), ms(percentile(st.latencies, 0.5)), ms(percentile(st.latencies, 0.99)),
			unanswered, mb(m.mem.rss), mb(m.mem.hwm), mb(int64(m.heap)), mb(self.rss), mb(int64(selfMem.HeapInuse)))
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	return bot.exited()
}

func pause(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
