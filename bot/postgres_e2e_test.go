package bot_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/referralbot/referralbot/config"
)

// TestFlowOnPostgres runs the referral flow with database.url on the
// PostgreSQL server of REFERRALBOT_TEST_POSTGRES, in a schema of its own.
func TestFlowOnPostgres(t *testing.T) {
	base := os.Getenv("REFERRALBOT_TEST_POSTGRES")
	if base == "" {
		t.Skip("REFERRALBOT_TEST_POSTGRES is not set")
	}
	t.Parallel()
	dsn := postgresSchemaURL(t, base)
	f := startFlow(t, func(c *config.Config) { c.Database.URL = dsn })
	h := f.h
	ref := f.user("rita", true)
	stu := f.user("stan", false)
	f.join(ref, "Amazon")
	id, _ := f.request(stu, "Amazon", flowGoodRequest("amzn"))
	offer := flowWaitOffer(h, ref, id)
	h.press(ref, offer, "Accept")
	h.waitDM(stu, "agreed to refer you")
	flowSettle(h)
	if n := h.countDMs(stu, "agreed to refer you"); n != 1 {
		t.Errorf("the student got %d \"accepted\" DMs; want exactly 1", n)
	}
}

// postgresSchemaURL makes a schema for the test, dropped after it, and
// returns base with that schema as its search_path.
func postgresSchemaURL(t *testing.T, base string) string {
	t.Helper()
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "rb_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(context.Background(), `CREATE SCHEMA `+schema); err != nil {
		db.Close()
		t.Fatalf("PostgreSQL of REFERRALBOT_TEST_POSTGRES does not answer: %v", err)
	}
	t.Cleanup(func() {
		defer db.Close()
		if _, err := db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
