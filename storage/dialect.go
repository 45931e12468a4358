package storage

import (
	"context"
	"database/sql"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// dialect is everything that differs between SQLite and PostgreSQL. The
// queries are written once, in the SQL both accept, with SQLite's ?
// placeholders; the pool and transaction types below rebind them on the
// way to a PostgreSQL server. Nothing else in the package asks which
// database it is talking to.
type dialect struct {
	postgres bool
	rebound  sync.Map // query text -> its PostgreSQL spelling
}

var (
	sqliteDialect   = &dialect{}
	postgresDialect = &dialect{postgres: true}
)

// indexedBy is SQLite's index hint, which PostgreSQL's planner does without.
var indexedBy = regexp.MustCompile(`(?i)\s+INDEXED BY\s+\w+`)

// fromSubquery opens a subquery in FROM. PostgreSQL before 16 wants each
// named; the queries leave them unnamed, as SQLite's query plans (checked
// by the plan tests) name them only then.
var fromSubquery = regexp.MustCompile(`(?i)\bFROM\s*\(\s*SELECT\b`)

// nameSubqueries names every unnamed subquery in FROM "subquery".
func nameSubqueries(q string) string {
	for _, loc := range fromSubquery.FindAllStringIndex(q, -1) {
		open := strings.IndexByte(q[loc[0]:], '(') + loc[0]
		depth := 0
		for i := open; i < len(q); i++ {
			if q[i] == '(' {
				depth++
			} else if q[i] == ')' {
				if depth--; depth == 0 {
					rest := strings.TrimLeft(q[i+1:], " \t\n")
					if word := strings.ToUpper(strings.SplitN(rest, " ", 2)[0]); word == "" || word == "GROUP" || word == "WHERE" ||
						word == "ORDER" || word == "LIMIT" || strings.HasPrefix(word, ")") {
						return nameSubqueries(q[:i+1] + " AS subquery" + q[i+1:])
					}
					break
				}
			}
		}
	}
	return q
}

// rebind spells query for the server: for PostgreSQL, ? becomes $1, $2, ...
// and ?N becomes $N (outside string literals), index hints go, and
// grouped subqueries get a name.
func (d *dialect) rebind(query string) string {
	if !d.postgres {
		return query
	}
	if q, ok := d.rebound.Load(query); ok {
		return q.(string)
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	inString := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			inString = !inString
			b.WriteByte(c)
		case c == '?' && !inString:
			j := i + 1
			for j < len(query) && query[j] >= '0' && query[j] <= '9' {
				j++
			}
			b.WriteByte('$')
			if j > i+1 {
				b.WriteString(query[i+1 : j])
			} else {
				n++
				b.WriteString(strconv.Itoa(n))
			}
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	q := indexedBy.ReplaceAllString(b.String(), "")
	q = nameSubqueries(q)
	d.rebound.Store(query, q)
	return q
}

// skipLocked ends a SELECT that claims rows: on PostgreSQL, rows another
// replica's transaction holds are passed over instead of waited for (and
// those it claims stay locked until this transaction ends). SQLite has one
// writer at a time, so its claims need no lock.
func (d *dialect) skipLocked() string {
	if d.postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// writeTx are the options of a write transaction: SQLite's are IMMEDIATE
// (set on the connection); PostgreSQL's are the server's READ COMMITTED,
// made one writer at a time by beginWrite's lock.
func (d *dialect) writeTx() *sql.TxOptions { return nil }

// writerLock is the first statement of every PostgreSQL write transaction:
// a transaction-scoped advisory lock per schema, so replicas write one
// after the other exactly as SQLite's single writer does, each seeing all
// that the previous one committed. SERIALIZABLE gave the same outcome but
// every event bumps the same few counter rows, so under load nearly every
// pair of writers conflicted and retried (p99 past 2 s at 300/s).
const writerLock = `SELECT pg_advisory_xact_lock(hashtext('referralbot write ' || current_schema()))`

// beginWrite takes what a write transaction needs before its first read.
func (d *dialect) beginWrite(ctx context.Context, tx *txn) error {
	if !d.postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, writerLock)
	return err
}

// readTx are the options of a read transaction that must see one snapshot
// across its statements: SQLite's read transactions do; PostgreSQL's need
// REPEATABLE READ.
func (d *dialect) readTx() *sql.TxOptions {
	if d.postgres {
		return &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	return &sql.TxOptions{ReadOnly: true}
}

// outboxLease is how long a claimed outbox message stays with the process
// that claimed it before another may take it. SQLite's store has one
// process, which never leaves a message it read unsent without marking it
// (but for a crash, after which it is that process that reads it again):
// no lease, and a poll stays a read. PostgreSQL's replicas share the
// outbox, so a claim keeps the others off the message while it is sent:
// long enough for a send and its quick retry, short enough that a message
// whose replica died goes out again soon (with its nonce, so once).
func (d *dialect) outboxLease() time.Duration {
	if d.postgres {
		return 10 * time.Second
	}
	return 0
}

// pool is a *sql.DB that speaks the store's dialect.
type pool struct {
	db *sql.DB
	d  *dialect
}

func (p *pool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return p.db.ExecContext(ctx, p.d.rebind(query), args...)
}

func (p *pool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return p.db.QueryContext(ctx, p.d.rebind(query), args...)
}

func (p *pool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return p.db.QueryRowContext(ctx, p.d.rebind(query), args...)
}

func (p *pool) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return p.db.PrepareContext(ctx, p.d.rebind(query))
}

func (p *pool) Exec(query string, args ...any) (sql.Result, error) {
	return p.ExecContext(context.Background(), query, args...)
}

func (p *pool) Query(query string, args ...any) (*sql.Rows, error) {
	return p.QueryContext(context.Background(), query, args...)
}

func (p *pool) QueryRow(query string, args ...any) *sql.Row {
	return p.QueryRowContext(context.Background(), query, args...)
}

func (p *pool) BeginTx(ctx context.Context, opts *sql.TxOptions) (*txn, error) {
	tx, err := p.db.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &txn{tx: tx, d: p.d}, nil
}

func (p *pool) Close() error { return p.db.Close() }

// txn is a *sql.Tx that speaks the store's dialect.
type txn struct {
	tx *sql.Tx
	d  *dialect
	// queued is set when the transaction queued a message, so that
	// Store.tx can tell OnEnqueue after the commit.
	queued bool
}

func (t *txn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, t.d.rebind(query), args...)
}

func (t *txn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, t.d.rebind(query), args...)
}

func (t *txn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.d.rebind(query), args...)
}

func (t *txn) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return t.tx.PrepareContext(ctx, t.d.rebind(query))
}

func (t *txn) Exec(query string, args ...any) (sql.Result, error) {
	return t.ExecContext(context.Background(), query, args...)
}

func (t *txn) QueryRow(query string, args ...any) *sql.Row {
	return t.QueryRowContext(context.Background(), query, args...)
}

func (t *txn) Commit() error   { return t.tx.Commit() }
func (t *txn) Rollback() error { return t.tx.Rollback() }

// bestPerProfile is bestPerProfileQuery (match.go) as the server can run
// it. PostgreSQL has no bare columns beside MIN(): DISTINCT ON keeps the
// first row of each (school, roles) in the same order, rank_key then the
// lowest user_id, as SQLite's scan of referrer_companies_free does.
func (d *dialect) bestPerProfile() string {
	if !d.postgres {
		return bestPerProfileQuery
	}
	return `SELECT DISTINCT ON (school, roles) user_id, school, roles, rank_key FROM referrer_companies
		WHERE company_key = ? AND guild_id = ? AND free AND user_id != ?
			AND user_id NOT IN (SELECT o.referrer_user_id FROM offers o WHERE o.request_id = ? AND o.reason != ?)
		ORDER BY school, roles, rank_key, user_id`
}
