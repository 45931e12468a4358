// Package bot runs referralbot: the discordgo session, command registration,
// the interaction router, the outbox sender, the cron sweeps and the
// /healthz and /metrics endpoints.
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/robfig/cron/v3"

	"github.com/referralbot/referralbot/commands"
	"github.com/referralbot/referralbot/config"
	"github.com/referralbot/referralbot/leader"
	"github.com/referralbot/referralbot/referral"
	"github.com/referralbot/referralbot/storage"
	"github.com/referralbot/referralbot/web"
)

// Bot is one running referralbot.
type Bot struct {
	idle           *idleRelease // frees heap pages when no interaction came for a while
	cfg            config.Config
	logger         *slog.Logger
	now            func() time.Time
	outboxPoll     time.Duration
	store          botStore
	session        *discordgo.Session
	router         *commands.Router
	limiter        *rateLimiter // nil = limits.interactions 0
	sender         *sender
	mailer         *mailer // nil without smtp.host
	writes         *writeGate
	metrics        *metrics
	digestSchedule cron.Schedule

	connected atomic.Bool
	closing   atomic.Bool  // set before the bot closes the gateway itself
	lock      gatewayLock  // gateway mode on PostgreSQL; nil = always the leader
	leading   atomic.Bool  // this replica may hold the gateway (gateway.go)
	appID     atomic.Value // string
	ready     chan struct{}
	readyOnce sync.Once
	httpAddr  atomic.Value // string

	interactions *interactionsEndpoint // http mode; nil with the gateway
}

// Policy turns the configuration into the domain's lifecycle settings.
func Policy(cfg config.Config) referral.Policy {
	r := cfg.Referrals
	nudges := make([]time.Duration, len(r.Nudges))
	for i, n := range r.Nudges {
		nudges[i] = time.Duration(n)
	}
	return referral.Policy{
		OfferTimeout: time.Duration(r.OfferTimeout), ReferrerReminder: time.Duration(r.ReferrerReminder), Nudges: nudges,
		RequestTTL: time.Duration(r.RequestTTL), MaxOpenPerStudent: r.MaxOpenPerStudent, DefaultCapacity: r.ReferrerCapacity,
		Retention: time.Duration(r.Retention),
	}
}

// Option adjusts a Bot for tests and the demo.
type Option func(*Bot)

// WithClock makes the bot read time from now instead of time.Now, so tests
// can move days ahead; cron and the outbox still wake on real time.
func WithClock(now func() time.Time) Option { return func(b *Bot) { b.now = now } }

// WithOutboxPoll sets how often the outbox is checked besides being poked.
func WithOutboxPoll(d time.Duration) Option { return func(b *Bot) { b.outboxPoll = d } }

// botStore is what the bot itself asks of the database: the sweep and
// digest firing, the gauges (read by tests too), /healthz and closing.
// The sender, the role checker and the router declare what they use.
type botStore interface {
	sweepStore
	countStore
	pinger
	web.Source
	writeProber
	Close() error
}

// New opens the database and prepares the session; Run connects.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger, opts ...Option) (*Bot, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	digest, err := cron.ParseStandard(cfg.Schedule.Digest)
	if err != nil {
		return nil, fmt.Errorf("schedule.digest: %w", err)
	}
	b := &Bot{cfg: cfg, logger: logger, now: time.Now, outboxPoll: time.Second, digestSchedule: digest, ready: make(chan struct{}),
		idle: &idleRelease{quietFor: idleReleaseQuiet}}
	b.writes = newWriteGate(logger, time.Now)
	for _, o := range opts {
		o(b)
	}
	// The store pokes the sender after each commit that queued a message;
	// the channel exists before the store so no commit can miss it.
	wake := make(chan struct{}, 1)
	writeHeld := newWriteHeld()
	store, err := openStore(ctx, cfg, b.now, b.writes.failed, func() { pokeChan(wake) }, func(d time.Duration) { writeHeld.Observe(d.Seconds()) })
	if err != nil {
		return nil, err
	}
	session, err := newSession(cfg.Discord.Token, cfg.Discord.APIURL)
	if err != nil {
		store.Close()
		return nil, err
	}
	b.store, b.session = store, session
	session.Dialer = leaderOnlyDialer(b.leading.Load)
	b.metrics = newMetrics(store, b.now, b.leading.Load, writeHeld)
	b.sender = newSender(store, session, cfg.Location(), logger, b.now, b.metrics)
	b.sender.wake = wake
	b.sender.poll = b.outboxPoll
	b.sender.roles = newRoleChecker(session, store, b.now)
	b.sender.writes = b.writes
	b.writes.resumed = b.sender.poke
	b.limiter = newRateLimiter(cfg.Limits)
	b.router = &commands.Router{Store: store, Now: b.now, Location: cfg.Location(), Logger: logger, Observe: b.observe}
	if cfg.SMTP.Host != "" {
		b.mailer = newMailer(cfg.SMTP, logger)
		b.router.Mailer = b.mailer
	}
	b.router.AcceptCheck = b.sender.roles
	b.router.Editor = newCallbackResponder(b.session) // deferred answers, also in http mode
	if cfg.HTTP.PublicURL != "" && cfg.HTTP.Listen != "" {
		b.router.Dashboard = dashboardLinks{store: store, publicURL: cfg.HTTP.PublicURL}
	}
	if cfg.Discord.Interactions == config.InteractionsHTTP {
		if b.interactions, err = newInteractionsEndpoint(cfg.Discord.PublicKey, limitedRouter{b}, logger); err != nil {
			store.Close()
			return nil, err
		}
	} else if cfg.Database.URL != "" {
		// Replicas of one bot share its token, and Discord wants one
		// gateway session per token: the lock is named after it (hashed).
		b.lock = leader.New(cfg.Database.URL, leader.Key("referralbot gateway\x00"+strings.TrimPrefix(cfg.Discord.Token, "Bot ")))
	} else {
		b.leading.Store(true) // one process on SQLite: always the leader, at once
	}
	return b, nil
}

// openStore is the one place the bot names its store implementation: the
// PostgreSQL store when database.url is set, else the SQLite file at
// database.path; reading time from now, reporting writes it cannot make
// to unavailable, commits that queued a message to queued, and how long
// each write transaction held the writer to held.
func openStore(ctx context.Context, cfg config.Config, now func() time.Time, unavailable func(error), queued func(), held func(time.Duration)) (*storage.Store, error) {
	opts := storage.Options{Policy: Policy(cfg), Location: cfg.Location(), Now: now, OnUnavailable: unavailable, OnEnqueue: queued, OnWriteHeld: held}
	if cfg.Database.URL != "" {
		return storage.OpenPostgres(ctx, cfg.Database.URL, opts)
	}
	return storage.Open(ctx, cfg.Database.Path, opts)
}

// Ready is closed once the bot runs: connected with its commands
// registered, or, a replica standing by for the gateway, with its sweeps
// and outbox going.
func (b *Bot) Ready() <-chan struct{} { return b.ready }

// HTTPAddr is the address /healthz and /metrics listen on once running.
func (b *Bot) HTTPAddr() string {
	a, _ := b.httpAddr.Load().(string)
	return a
}

// Run connects to Discord and serves until ctx is cancelled, then shuts
// down cleanly and closes the database.
func (b *Bot) Run(ctx context.Context) error {
	defer b.store.Close()
	if b.mailer != nil {
		defer b.mailer.close() // before the store closes: mails in flight record their result
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel() // runs before wg.Wait: stop the loops, then wait for them

	var httpSrv *http.Server
	if b.cfg.HTTP.Listen != "" {
		ln, err := net.Listen("tcp", b.cfg.HTTP.Listen)
		if err != nil {
			return fmt.Errorf("http.listen: %w", err)
		}
		b.httpAddr.Store(ln.Addr().String())
		httpSrv = &http.Server{Handler: b.httpHandler(), ReadHeaderTimeout: 5 * time.Second}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				b.logger.Error("http server failed", "err", err)
			}
		}()
		if b.interactions != nil {
			defer b.interactions.wait() // after Shutdown: no new ones come
		}
		defer func() {
			sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer scancel()
			httpSrv.Shutdown(sctx)
		}()
	}

	registered := make(chan error, 1)
	b.session.AddHandler(func(s *discordgo.Session, r *discordgo.Ready) {
		b.connected.Store(true)
		b.sender.selfID.Store(r.User.ID)
		if r.Application != nil {
			b.appID.Store(r.Application.ID)
		}
		b.logger.Info("connected to discord", "user_id", r.User.ID, "guilds", len(r.Guilds))
		b.readyOnce.Do(func() {
			go func() { registered <- b.register(r.Application.ID) }()
		})
	})
	b.session.AddHandler(func(s *discordgo.Session, r *discordgo.Resumed) {
		b.connected.Store(true)
		b.logger.Info("gateway session resumed")
	})
	// discordgo reports its own Close as a Disconnect too, from a goroutine
	// of its own: only a drop we did not ask for is a warning, and Run
	// waits for the line about its own Close before it returns.
	closed := make(chan struct{}, 1)
	b.session.AddHandler(func(s *discordgo.Session, d *discordgo.Disconnect) {
		b.connected.Store(false)
		if b.closing.Load() {
			b.logger.Info("gateway closed")
			select {
			case closed <- struct{}{}:
			default:
			}
			return
		}
		b.logger.Warn("gateway disconnected; reconnecting")
	})
	callbacks := newCallbackResponder(b.session) // not the session: its rate limiter never forgets a callback URL
	b.session.AddHandler(func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		hctx, cancel := context.WithTimeout(ctx, handlerTimeout(i.Interaction))
		defer cancel()
		b.handleInteraction(hctx, callbacks, i.Interaction) // a message it queued pokes the sender (OnEnqueue)
	})

	// In http mode nothing opens the gateway, so the handlers above stay
	// idle; with the gateway, runGateway opens it whenever this replica leads.
	started := registered
	if b.interactions != nil {
		if err := b.connect(registered); err != nil {
			return err
		}
	} else {
		started = make(chan error, 1)
		gctx, stopGateway := context.WithCancel(ctx)
		gatewayDone := make(chan struct{})
		go func() {
			defer close(gatewayDone)
			b.runGateway(gctx, registered, closed, started)
		}()
		defer func() { stopGateway(); <-gatewayDone }()
	}

	select {
	case err := <-started:
		if err != nil {
			return err
		}
	case <-ctx.Done():
		return nil
	}

	c := cron.New(cron.WithLocation(b.cfg.Location()), cron.WithChain(
		cron.Recover(cronLogger{b.logger}), cron.SkipIfStillRunning(cronLogger{b.logger})))
	if _, err := c.AddFunc(b.cfg.Schedule.Sweep, func() { b.sweep(ctx) }); err != nil {
		return fmt.Errorf("schedule.sweep: %w", err)
	}
	if _, err := c.AddFunc(b.cfg.Schedule.Digest, func() { b.postDigests(ctx) }); err != nil {
		return fmt.Errorf("schedule.digest: %w", err)
	}
	// Steps and a digest that fell due while the bot was down run now.
	b.sweep(ctx)
	b.postDigests(ctx)
	c.Start()
	defer func() { <-c.Stop().Done() }()

	wg.Add(3)
	go func() {
		defer wg.Done()
		b.sender.run(ctx)
	}()
	go func() {
		defer wg.Done()
		b.idle.touch(time.Now()) // start-up counts as activity
		b.idle.run(ctx)
	}()
	go func() {
		defer wg.Done()
		b.writes.run(ctx, b.store)
	}()
	close(b.ready)
	b.logger.Info("referralbot running", "commands", len(commands.Definitions()))
	<-ctx.Done()
	b.logger.Info("shutting down")
	return nil
}

// register puts every command in the configured servers, or globally.
func (b *Bot) register(appID string) error {
	defs := commands.Definitions()
	guilds := b.cfg.Discord.GuildIDs
	if len(guilds) == 0 {
		guilds = []string{""}
	}
	for _, g := range guilds {
		if _, err := b.session.ApplicationCommandBulkOverwrite(appID, g, defs); err != nil {
			where := "globally"
			if g != "" {
				where = "in server " + g
			}
			return fmt.Errorf("register commands %s: %w", where, err)
		}
	}
	b.logger.Info("commands registered", "count", len(defs), "servers", len(b.cfg.Discord.GuildIDs))
	return nil
}

// pinger is what /healthz asks of the store.
type pinger interface {
	Ping(ctx context.Context) error
}

func (b *Bot) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		dbErr := b.store.Ping(ctx)
		since, writeErr := b.writes.pausedSince()
		switch {
		case dbErr != nil:
			http.Error(w, "database not answering", http.StatusServiceUnavailable)
		case writeErr != nil:
			http.Error(w, fmt.Sprintf("%v (since %s); outbox, timed steps and digests paused until it can",
				writeErr, since.UTC().Format(time.RFC3339)), http.StatusServiceUnavailable)
		case b.interactions == nil && b.leading.Load() && !b.connected.Load(): // a standby is healthy
			http.Error(w, "gateway not connected", http.StatusServiceUnavailable)
		default:
			w.Write([]byte("ok\n"))
		}
	})
	mux.Handle("GET /metrics", b.metrics.handler())
	mux.Handle(web.Prefix, web.New(b.store, web.Options{Now: b.now, Location: b.cfg.Location(), Logger: b.logger,
		Names: memberNames(b.session)}))
	if b.interactions != nil {
		mux.Handle("POST "+b.cfg.HTTP.InteractionsPath, b.interactions)
	}
	return mux
}

// cronLogger adapts slog to cron's logger.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}
