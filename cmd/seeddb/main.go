// Command seeddb writes a generated referralbot database for benchmarks
// and load tests: the real schema, years of history in every state. It
// writes SQLite files only (a PostgreSQL store starts empty).
//
//	go run ./cmd/seeddb -requests 1000000 -out big.db
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/referralbot/referralbot/storage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "seeddb:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	out := fs.String("out", "", "the database file to write (must not exist)")
	var o storage.SeedOptions
	fs.IntVar(&o.Requests, "requests", 20000, "requests in all")
	fs.IntVar(&o.Guilds, "guilds", 5, "servers; 90% of the requests are in the first")
	fs.IntVar(&o.Referrers, "referrers", 10000, "referrers; 11% at the largest company")
	fs.IntVar(&o.Companies, "companies", 500, "companies with referrers")
	fs.IntVar(&o.Weeks, "weeks", 100, "weeks of history")
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed: the same seed writes the same database")
	now := fs.String("now", "", "when the history ends, RFC 3339 (default: now)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("-out is required: the database file to write, e.g. -out big.db")
	}
	if *now != "" {
		t, err := time.Parse(time.RFC3339, *now)
		if err != nil {
			return fmt.Errorf("-now %q: want RFC 3339, e.g. 2026-11-02T10:00:00Z", *now)
		}
		o.Now = t
	}
	start := time.Now()
	rep, err := storage.Seed(ctx, *out, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s in %s: %d requests, %d referrers (%d at %s), %d offers, %d events, %d steps, %d outbox rows; history ends %s; student with 20 requests: %s\n",
		*out, time.Since(start).Round(time.Millisecond), rep.Requests, rep.Refs, rep.LargestCompanyReferrers, rep.LargestCompany.Name,
		rep.Offers, rep.Events, rep.Steps, rep.Outbox, rep.Now.Format(time.RFC3339), rep.BusiestStudent)
	return nil
}
