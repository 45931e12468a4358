package storage

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/referralbot/referralbot/dashboard"
)

// BenchmarkDashboardScale reads the dashboard's data from the aggregates
// ("aggregates") and, for comparison in the same run, from history as
// before migration 0012 ("history"), on the databases of BenchmarkScale.
// "bare" is the floor: a read transaction with one primary-key seek.
func BenchmarkDashboardScale(b *testing.B) {
	dbs := []struct{ name, path string }{{"20k", ""}}
	if p := os.Getenv("REFERRALBOT_BENCH_DB"); p != "" {
		dbs = append(dbs, struct{ name, path string }{filepath.Base(p), p})
	}
	for _, db := range dbs {
		b.Run(db.name, func(b *testing.B) {
			d := openScaleDB(b, db.path)
			ctx := context.Background()
			now := d.clk.Now()
			b.Run("bare", func(b *testing.B) {
				defer reportCPU(b)()
				for b.Loop() {
					q, err := d.s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
					if err != nil {
						b.Fatal(err)
					}
					var n int
					if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM event_totals WHERE guild_id = ? AND what = 'created'`, d.guild).Scan(&n); err != nil {
						b.Fatal(err)
					}
					q.Rollback()
				}
			})
			for _, p := range dashboard.Periods() {
				b.Run("aggregates-"+string(p), func(b *testing.B) {
					defer reportCPU(b)()
					for b.Loop() {
						if _, err := d.s.Dashboard(ctx, d.guild, p, now); err != nil {
							b.Fatal(err)
						}
					}
				})
				b.Run("history-"+string(p), func(b *testing.B) {
					defer reportCPU(b)()
					for b.Loop() {
						if _, err := d.s.oldDashboard(ctx, d.guild, p, now); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
