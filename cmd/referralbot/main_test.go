package main

import (
	"bytes"
	"context"
	"database/sql"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"github.com/referralbot/referralbot/referral"
	"github.com/referralbot/referralbot/storage"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDemoPlaysTheWholeFlow(t *testing.T) {
	var out, errs bytes.Buffer
	dir := filepath.Join(t.TempDir(), "demo")
	if err := run(context.Background(), []string{"referralbot", "demo", "-out", dir}, env(nil), &out, &errs); err != nil {
		t.Fatalf("demo: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errs.String())
	}
	txt := out.String()
	if first, _, _ := strings.Cut(txt, "\n"); !strings.Contains(first, "SQLite") {
		t.Errorf("demo's first line = %q; want it to say what the first run waits for", first)
	}
	for _, want := range []string{
		"[Edit request]",              // a request fixed through Edit request
		"DM to @bob_amzn",             // the best referrer asked first
		"@bob_amzn presses [Decline]", // a decline...
		"@bob_amzn presses [The request needs more detail]", // ...that teaches:
		"asked for a little more detail",                    // the student hears it
		"is updated",                                        // and edits the request in place
		"DM to @alice_aws",                                  // ...moves to the next referrer
		"one reminder",                                      // the referrer reminder (the demo fails if it never comes)
		"@alice_aws presses [Referral submitted]",           // accepted and submitted
		"@sam_student presses [Interviewing]",               // a follow-up answered
		"second follow-up",                                  // and the second one
		"@sam_student presses [Rejected]",
		"@sam_student presses [Keep me in mind]",
		"@sam_student runs /referral status",
		"has expired", // an expiry
		"New requests: 2",
		"Referrals submitted: 1", // the digest
		"@maya_mod runs /referral-admin stats",
		"Kept in " + dir,
	} {
		if !strings.Contains(txt, want) {
			t.Errorf("demo transcript lacks %q", want)
		}
	}
	if strings.Contains(txt, "demo-token") {
		t.Errorf("demo transcript shows the token")
	}

	// -out keeps the transcript, the digest chart and the database.
	kept, err := os.ReadFile(filepath.Join(dir, "transcript.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(kept), "@maya_mod runs /referral-admin stats") || !strings.Contains(txt, string(kept)) {
		t.Errorf("transcript.txt (%d bytes) is not the demo's output", len(kept))
	}
	charts, _ := filepath.Glob(filepath.Join(dir, "digest-*.png"))
	if len(charts) != 1 {
		t.Fatalf("digest charts in %s = %v; want one", dir, charts)
	}
	f, err := os.Open(charts[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if c, err := png.DecodeConfig(f); err != nil || c.Width < 100 || c.Height < 100 {
		t.Errorf("png.DecodeConfig(%s) = %dx%d, %v; want a chart image", charts[0], c.Width, c.Height, err)
	}
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "demo.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var requests int
	if err := db.QueryRow(`SELECT COUNT(*) FROM requests`).Scan(&requests); err != nil || requests != 2 {
		t.Errorf("requests in demo.db = %d, %v; want 2", requests, err)
	}

	// A second run into the same directory would mix old requests into the new demo.
	err = run(context.Background(), []string{"referralbot", "demo", "-out", dir}, env(nil), &out, &errs)
	if err == nil || !strings.Contains(err.Error(), "demo.db") {
		t.Errorf("demo -out into a used directory = %v; want an error naming demo.db", err)
	}
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("discord:\n  token: ${DISCORD_TOKEN}\nreferrals:\n  nudges: [7d, 14d]\n"), 0o600)
	var out, errs bytes.Buffer
	token := "Bot-secret-token-1234567890"
	if err := run(context.Background(), []string{"referralbot", "check-config", "-config", good}, env(map[string]string{"DISCORD_TOKEN": token}), &out, &errs); err != nil {
		t.Fatalf("check-config good: %v (%s)", err, errs.String())
	}
	if strings.Contains(out.String(), token) || !strings.Contains(out.String(), "nudges") {
		t.Errorf("check-config output = %q; want the config with the token masked", out.String())
	}

	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("discord:\n  token: x\nreferrals:\n  offer_timeout: soon\n"), 0o600)
	err := run(context.Background(), []string{"referralbot", "check-config", "-config", bad}, env(nil), &out, &errs)
	if err == nil || !strings.Contains(err.Error(), "referrals.offer_timeout") {
		t.Errorf("check-config bad = %v; want an error naming referrals.offer_timeout", err)
	}
}

func TestBackupCommand(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "live.db")
	s, err := storage.Open(context.Background(), db, storage.Options{Policy: referral.Policy{DefaultCapacity: 4}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetupGuild(context.Background(), referral.GuildSettings{GuildID: "1", DigestChannelID: "2"}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cfg := filepath.Join(dir, "config.yaml")
	// No token: a backup does not need one.
	os.WriteFile(cfg, []byte("database:\n  path: "+db+"\n"), 0o600)
	out := filepath.Join(dir, "copy.db")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"referralbot", "backup", "-config", cfg, out}, env(nil), &stdout, &stderr); err != nil {
		t.Fatalf("backup: %v (%s)", err, stderr.String())
	}
	copyDB, err := sql.Open("sqlite3", "file:"+out+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer copyDB.Close()
	var check string
	var guilds int
	if err := copyDB.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	if err := copyDB.QueryRow(`SELECT COUNT(*) FROM guild_settings`).Scan(&guilds); err != nil || guilds != 1 {
		t.Fatalf("guild_settings in copy = %d, %v; want 1", guilds, err)
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"referralbot", "frobnicate"}, env(nil), &out, &errs); err == nil || !strings.Contains(err.Error(), "frobnicate") {
		t.Errorf("unknown command = %v; want an error naming it", err)
	}
}
