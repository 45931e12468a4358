package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// percentile is the q-quantile (nearest rank) of ds, 0 if empty.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func percent(part, whole time.Duration) float64 {
	if whole <= 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mb(b int64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(b)/(1<<20))
}

func (st *stats) achieved() float64 {
	if st.window <= 0 {
		return 0
	}
	return float64(st.sent) / st.window.Seconds()
}

// printReport prints one row per phase, then per rate the pooled bot and
// bare figures with their p99 ratio, then the bot's figures by kind.
func printReport(out io.Writer, o options, phases []phase) {
	mode := "default mix"
	switch {
	case o.sweep:
		mode = fmt.Sprintf("-sweep: %d offers time out during each bot phase (offer_timeout %v), digest-now halfway", o.sweepOffers, o.offerTimeout)
	case o.waiting:
		mode = fmt.Sprintf("-waiting: every referrer at capacity, %d waiting before the load", o.backlog)
	}
	latency := "gateway dispatch to callback"
	if o.http() {
		latency = "signed POST to the HTTP answer applied"
	}
	store := "SQLite"
	if o.postgres != "" {
		store = "PostgreSQL"
	}
	fmt.Fprintf(out, "\n%s; %s, %d process(es) each for the bot and the bare bot; mix %d/%d/%d (status/request/press); %v phases; latency = %s; unanswered = no callback in %v;\n"+
		"RSS and HWM from /proc at the phase's end (summed over processes); CPU %% of one core over the phase and its drain, for the bot and for this command (the fakes and the driver)\n\n",
		mode, store, o.replicas, o.mix.status, o.mix.request, o.mix.press, o.phase, latency, o.deadline)
	fmt.Fprintln(out, "| rate/s | round | bot | sent | achieved/s | p50 ms | p99 ms | max ms | unanswered | RSS MB | HWM MB | heap MB | steps run | CPU % | loadtest CPU % |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, p := range phases {
		steps := "-"
		if p.target == "bot" {
			steps = fmt.Sprintf("%.0f", p.steps)
		}
		fmt.Fprintf(out, "| %d | %d | %s | %d | %.1f | %.2f | %.2f | %.2f | %d | %s | %s | %s | %s | %.0f | %.0f |\n",
			p.rate, p.round, p.target, p.st.sent, p.st.achieved(), ms(percentile(p.st.latencies, 0.5)),
			ms(percentile(p.st.latencies, 0.99)), ms(percentile(p.st.latencies, 1)), p.st.unanswered,
			mb(p.mem.rss), mb(p.mem.hwm), mb(int64(p.heap)), steps, percent(p.cpu, p.wall), percent(p.selfCPU, p.wall))
	}

	fmt.Fprintln(out, "\n| rate/s | bot p50 ms | bot p99 ms | bare p50 ms | bare p99 ms | bot p99 / bare p99 | bot unanswered | bare unanswered |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|")
	for _, rate := range o.rates {
		var botLat, bareLat []time.Duration
		botErr, bareErr := 0, 0
		for _, p := range phases {
			if p.rate != rate {
				continue
			}
			if p.target == "bot" {
				botLat, botErr = append(botLat, p.st.latencies...), botErr+p.st.unanswered
			} else {
				bareLat, bareErr = append(bareLat, p.st.latencies...), bareErr+p.st.unanswered
			}
		}
		ratio := "-"
		if b := percentile(bareLat, 0.99); b > 0 && len(botLat) > 0 {
			ratio = fmt.Sprintf("%.2fx", float64(percentile(botLat, 0.99))/float64(b))
		}
		bareCols := "- | -"
		if len(bareLat) > 0 {
			bareCols = fmt.Sprintf("%.2f | %.2f", ms(percentile(bareLat, 0.5)), ms(percentile(bareLat, 0.99)))
		}
		fmt.Fprintf(out, "| %d | %.2f | %.2f | %s | %s | %d | %d |\n", rate, ms(percentile(botLat, 0.5)), ms(percentile(botLat, 0.99)),
			bareCols, ratio, botErr, bareErr)
	}

	fmt.Fprintln(out, "\nbot, by kind (all its phases at each rate):")
	var header strings.Builder
	header.WriteString("| rate/s |")
	for k := range numKinds {
		fmt.Fprintf(&header, " %s n / p50 / p99 ms |", kindNames[k])
	}
	fmt.Fprintln(out, header.String()+" press slots with nothing to press |")
	fmt.Fprintln(out, "|---"+strings.Repeat("|---", int(numKinds)+1)+"|")
	for _, rate := range o.rates {
		var byKind [numKinds][]time.Duration
		fallbacks, sent := 0, 0
		for _, p := range phases {
			if p.rate == rate && p.target == "bot" {
				for k := range numKinds {
					byKind[k] = append(byKind[k], p.st.byKind[k]...)
				}
				fallbacks, sent = fallbacks+p.st.fallbacks, sent+p.st.sent
			}
		}
		fmt.Fprintf(out, "| %d |", rate)
		for k := range numKinds {
			fmt.Fprintf(out, " %d / %.2f / %.2f |", len(byKind[k]), ms(percentile(byKind[k], 0.5)), ms(percentile(byKind[k], 0.99)))
		}
		fmt.Fprintf(out, " %d of %d |\n", fallbacks, sent)
	}
}
