package bot

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/referralbot/referralbot/storage"
)

// metrics live in the bot's own registry, so tests and the demo can run
// several bots in one process.
type metrics struct {
	registry      *prometheus.Registry
	interactions  *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	limited       prometheus.Counter
	sent          prometheus.Counter
	retries       prometheus.Counter
	undeliverable prometheus.Counter
	stepsRun      prometheus.Counter
	writeHeld     prometheus.Histogram
}

// countStore reads the gauges.
type countStore interface {
	Counts(ctx context.Context, now time.Time) (storage.OutboxCounts, error)
}

// newWriteHeld is the histogram of how long write transactions held the
// writer, observed by the store (storage.Options.OnWriteHeld) from its
// first commit on, so it exists before the store and newMetrics.
func newWriteHeld() prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "referralbot_write_transaction_seconds",
		Help: "How long each write transaction held the database writer (SQLite's writer connection, PostgreSQL's writer lock); every other write waits behind it.",
		// Around the 50 ms a write may hold it at most.
		Buckets: []float64{.001, .0025, .005, .01, .02, .035, .05, .1, .25, .5, 1},
	})
}

// leading reports whether this replica holds (or may hold) the gateway;
// writeHeld is newWriteHeld's histogram.
func newMetrics(store countStore, now func() time.Time, leading func() bool, writeHeld prometheus.Histogram) *metrics {
	m := &metrics{
		writeHeld: writeHeld,
		registry:  prometheus.NewRegistry(),
		interactions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "referralbot_interactions_total", Help: "Interactions handled, by command and result.",
		}, []string{"command", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "referralbot_interaction_seconds", Help: "Time to answer an interaction.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"command"}),
		limited: prometheus.NewCounter(prometheus.CounterOpts{Name: "referralbot_interactions_limited_total",
			Help: "Interactions refused because the member was over limits.interactions per limits.window."}),
		sent:          prometheus.NewCounter(prometheus.CounterOpts{Name: "referralbot_messages_sent_total", Help: "Outbox messages delivered."}),
		retries:       prometheus.NewCounter(prometheus.CounterOpts{Name: "referralbot_message_retries_total", Help: "Outbox deliveries that failed and were scheduled again."}),
		undeliverable: prometheus.NewCounter(prometheus.CounterOpts{Name: "referralbot_messages_undeliverable_total", Help: "Messages that could not be delivered and are kept with their error."}),
		stepsRun:      prometheus.NewCounter(prometheus.CounterOpts{Name: "referralbot_steps_run_total", Help: "Timed steps applied by the sweeper."}),
	}
	gauge := func(name, help string, read func(storage.OutboxCounts) int) prometheus.GaugeFunc {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			c, err := store.Counts(ctx, now())
			if err != nil {
				return -1
			}
			return float64(read(c))
		})
	}
	m.registry.MustRegister(m.interactions, m.latency, m.limited, m.sent, m.retries, m.undeliverable, m.stepsRun, m.writeHeld,
		gauge("referralbot_outbox_pending", "Messages waiting to be delivered.", func(c storage.OutboxCounts) int { return c.Pending }),
		gauge("referralbot_outbox_undeliverable", "Messages kept as undeliverable (for example DMs closed and no fallback channel).", func(c storage.OutboxCounts) int { return c.Undeliverable }),
		gauge("referralbot_steps_due", "Timed steps due and not yet run.", func(c storage.OutboxCounts) int { return c.DueSteps }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "referralbot_gateway_leader",
			Help: "1 while this replica is the one that holds the gateway connection (always, on SQLite); 0 on a standby and in http mode."},
			func() float64 {
				if leading() {
					return 1
				}
				return 0
			}),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

func (m *metrics) observe(command, result string, d time.Duration) {
	m.interactions.WithLabelValues(command, result).Inc()
	m.latency.WithLabelValues(command).Observe(d.Seconds())
}

// observe counts an answered interaction and logs it at debug level: the
// router's label names the command or button route, never what was typed.
func (b *Bot) observe(command, result string, d time.Duration) {
	b.metrics.observe(command, result, d)
	if b.logger.Enabled(context.Background(), slog.LevelDebug) { // spare the attribute boxing per interaction at info
		b.logger.Debug("interaction answered", "command", command, "result", result, "took", d.Round(time.Microsecond))
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
