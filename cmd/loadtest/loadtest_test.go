package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary be the bare bot child, as the loadtest
// binary is when it runs itself with "bare".
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "bare" {
		if err := run(context.Background(), os.Args[1:], io.Discard, os.Stderr); err != nil {
			os.Stderr.WriteString("bare: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestTinyLoad runs the real bot and the bare bot for 2 s each at 20/s and
// checks that the report is complete and sane, so the command does not rot.
func TestTinyLoad(t *testing.T) {
	for _, mode := range []string{"gateway", "http"} {
		t.Run(mode, func(t *testing.T) { tinyLoad(t, "-interactions", mode) })
	}
}

func tinyLoad(t *testing.T, extra ...string) {
	o, err := parseFlags(append([]string{"-rate", "20", "-phase", "2s", "-rounds", "1", "-students", "40", "-referrers", "10", "-companies", "2"}, extra...), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	rep, err := runLoad(ctx, o, &out, os.Stderr)
	if err != nil {
		t.Fatalf("runLoad: %v\n%s", err, out.String())
	}
	if len(rep.phases) != 2 || rep.phases[0].target != "bot" || rep.phases[1].target != "bare" {
		t.Fatalf("phases = %+v; want bot then bare", rep.phases)
	}
	for _, p := range rep.phases {
		st := p.st
		if st.sent != 40 || st.unanswered != 0 || st.notSent != 0 {
			t.Errorf("%s: sent %d, unanswered %d, not sent %d; want 40, 0, 0", p.target, st.sent, st.unanswered, st.notSent)
		}
		if len(st.latencies) != st.sent {
			t.Errorf("%s: %d latencies for %d sent; want one each", p.target, len(st.latencies), st.sent)
		}
		if p99 := percentile(st.latencies, 0.99); p99 <= 0 || p99 > o.deadline {
			t.Errorf("%s: p99 = %v; want between 0 and %v", p.target, p99, o.deadline)
		}
		// The driver must never go faster than asked; slower is a busy
		// machine (CI shares its cores), which the report shows.
		if a := st.achieved(); a <= 0 || a > 25 {
			t.Errorf("%s: achieved %.1f/s; want at most about 20", p.target, a)
		}
		if p.mem.rss <= 0 || p.mem.hwm < p.mem.rss {
			t.Errorf("%s: memory %+v; want RSS > 0 and high-water >= RSS", p.target, p.mem)
		}
	}
	if bot := rep.phases[0]; bot.heap <= 0 || len(bot.st.byKind[kindStatus]) == 0 {
		t.Errorf("bot: heap %v, %d status answers; want a heap from /metrics and status answers", bot.heap, len(bot.st.byKind[kindStatus]))
	}
	if s := out.String(); !strings.Contains(s, "bot p99 / bare p99") || !strings.Contains(s, "| 20 | 1 | bot | 40 |") {
		t.Errorf("report lacks the tables:\n%s", s)
	}
}

func TestParseFlagsRefusesBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-rate", "0"}, "-rate"},
		{[]string{"-rate", "100,x"}, "-rate"},
		{[]string{"-mix", "80,10"}, "-mix"},
		{[]string{"-mix", "80,10,20"}, "adds up to 110"},
		{[]string{"-phase", "10m"}, "-phase"},
		{[]string{"-deadline", "5s"}, "-deadline"},
		{[]string{"-sweep", "-waiting"}, "choose one"},
		{[]string{"-soak", "20000000"}, "-soak"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"-interactions", "webhook"}, "-interactions"},
		{[]string{"-replicas", "3", "-interactions", "http"}, "-replicas above 1"},
		{[]string{"-replicas", "3", "-postgres", "postgres://127.0.0.1/x"}, "-replicas above 1"},
		{[]string{"-replicas", "9"}, "-replicas: use 1 to 5"},
		{[]string{"-db", "x.db", "-postgres", "postgres://127.0.0.1/x"}, "-db and -postgres"},
	} {
		_, err := parseFlags(tc.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseFlags(%q) = %v; want an error naming %q", tc.args, err, tc.want)
		}
	}
}

func TestPercentile(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5}, {0.99, 10}, {1, 10}, {0.1, 1}} {
		if got := percentile(ds, tc.q); got != tc.want {
			t.Errorf("percentile(1..10, %v) = %d; want %d", tc.q, got, tc.want)
		}
	}
	if got := percentile(nil, 0.99); got != 0 {
		t.Errorf("percentile(nil, 0.99) = %d; want 0", got)
	}
}
