package storage

import "testing"

func TestRebindForPostgres(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`SELECT a FROM t WHERE b = ? AND c = '?' AND d = ?`, `SELECT a FROM t WHERE b = $1 AND c = '?' AND d = $2`},
		{`SELECT ?1, ?11, ?2`, `SELECT $1, $11, $2`},
		{`SELECT id FROM referrers INDEXED BY referrers_recheck WHERE x < ?`, `SELECT id FROM referrers WHERE x < $1`},
		{`SELECT what, SUM(n) FROM (SELECT what, n FROM a UNION ALL SELECT what, (SELECT 1) FROM b) GROUP BY what`,
			`SELECT what, SUM(n) FROM (SELECT what, n FROM a UNION ALL SELECT what, (SELECT 1) FROM b) AS subquery GROUP BY what`},
		{`SELECT k, COUNT(*) FROM e WHERE e.kind IN ('a', 'b') GROUP BY 1`, `SELECT k, COUNT(*) FROM e WHERE e.kind IN ('a', 'b') GROUP BY 1`},
		{`SELECT x FROM (SELECT 1 AS x) AS named`, `SELECT x FROM (SELECT 1 AS x) AS named`},
	} {
		if got := postgresDialect.rebind(c.in); got != c.want {
			t.Errorf("rebind(%q)\n = %q\nwant %q", c.in, got, c.want)
		}
		if got := sqliteDialect.rebind(c.in); got != c.in {
			t.Errorf("SQLite rebind changed %q to %q", c.in, got)
		}
	}
}
