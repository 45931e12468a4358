package bot_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/referralbot/referralbot/bot"
	"github.com/referralbot/referralbot/discordtest"
)

const (
	tryAgain      = "I couldn't save that just now, please try again in a minute"
	gatePaused    = "database cannot be written; outbox, timed steps and digests paused"
	gateResumed   = "database can be written again"
	fullDiskError = "database or disk is full"
)

// TestFullDiskAnswersPausesAndResumes fills the database (PRAGMA
// max_page_count on the writer, after VACUUM) while a request is offered:
// the press and the submit that cannot be saved are answered "try again in
// a minute" and change nothing, /healthz says why, one log line says it,
// and the sweep stops; once space returns everything resumes by itself and
// nothing was lost.
func TestFullDiskAnswersPausesAndResumes(t *testing.T) {
	t.Parallel()
	h := startBotWith(t, bot.WithWriteProbe(50*time.Millisecond))
	h.adminSetup(true)
	h.joinReferrer(alice, "Amazon")
	// sam's request has long texts: any message carrying them (an offer)
	// needs a fresh page in the outbox, so it cannot be queued on a full disk.
	h.submitModal(sam, "Amazon", bigRequest(amazonJob), "is in")
	offer := h.waitDMButton(alice, "Accept")
	h.joinReferrer(bob, "Amazon")
	h.drained()
	if code, body := h.health(); code != http.StatusOK {
		t.Fatalf("/healthz before the disk filled = %d %q; want 200", code, body)
	}

	if err := h.bot.SimulateFullDisk(h.ctx(), true); err != nil {
		t.Fatalf("SimulateFullDisk: %v", err)
	}
	// Declining offers sam's request to bob: the offer cannot be queued.
	if resp := h.press(alice, offer, "Decline"); !resp.Ephemeral || !strings.Contains(resp.Text(), tryAgain) {
		t.Errorf("Decline on a full disk answered %q (ephemeral %v); want an ephemeral %q", resp.Text(), resp.Ephemeral, tryAgain)
	}
	if resp := h.submitModal(tia, "Amazon", bigRequest(googleJob), tryAgain); !resp.Ephemeral {
		t.Errorf("submit on a full disk answered %q not ephemerally", resp.Text())
	}
	code, body := h.health()
	if code != http.StatusServiceUnavailable || !strings.Contains(body, fullDiskError) {
		t.Errorf("/healthz on a full disk = %d %q; want 503 naming %q", code, body, fullDiskError)
	}
	// The offer's timeout falls due, but the sweep waits for space: it
	// neither runs the step nor marks it failed.
	h.clock.Advance(73 * time.Hour)
	h.bot.SweepNow(h.ctx())
	if c, err := h.bot.Counts(h.ctx()); err != nil || c.DueSteps == 0 {
		t.Errorf("Counts on a full disk = %+v, %v; want the offer timeout still due", c, err)
	}
	db := openReadOnly(t, h.cfg.Database.Path)
	var requests, failedSteps int
	if err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM requests), (SELECT COUNT(*) FROM steps WHERE attempts > 0 AND done_at IS NULL)`).Scan(&requests, &failedSteps); err != nil {
		t.Fatal(err)
	}
	if requests != 1 || failedSteps != 0 {
		t.Errorf("on a full disk: %d requests, %d steps marked failed; want 1 (sam's) and 0", requests, failedSteps)
	}
	if n := len(h.log.matching(gatePaused)); n != 1 {
		t.Errorf("logged %q %d times; want once\n%s", gatePaused, n, strings.Join(h.log.matching("level=ERROR"), "\n"))
	}
	for _, noisy := range []string{"sweep failed", "outbox update failed", "weekly digest failed"} {
		if lines := h.log.matching(noisy); len(lines) > 0 {
			t.Errorf("logged %q on a full disk; want only the one pause line:\n%s", noisy, strings.Join(lines, "\n"))
		}
	}

	if err := h.bot.SimulateFullDisk(h.ctx(), false); err != nil {
		t.Fatalf("SimulateFullDisk(false): %v", err)
	}
	eventually(t, "/healthz to answer 200 once space returned", func() bool {
		code, _ := h.health()
		return code == http.StatusOK
	})
	if n := len(h.log.matching(gateResumed)); n != 1 {
		t.Errorf("logged %q %d times; want once", gateResumed, n)
	}
	// The sweep resumed by itself (cron) and ran the due timeout: bob is asked.
	h.waitDMButton(bob, "Accept")
	if n := h.countSentDMs(bob, offerText); n != 1 {
		t.Errorf("bob got %d offers; want 1", n)
	}
	// tia's retry works, and nothing of the refused attempt is in the way.
	h.submitModal(tia, "Amazon", bigRequest(googleJob), "is in")
	h.drained()
	if n := len(h.log.matching(gatePaused)); n != 1 {
		t.Errorf("logged %q %d times in all; want once", gatePaused, n)
	}
	var check string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("PRAGMA integrity_check = %q, %v; want ok", check, err)
	}
}

const googleJob = "https://careers.google.com/jobs/results/1234567-swe-intern"

// bigRequest fills the request modal with an intro and a note of 1000
// CJK characters each (3 bytes apiece): a row that needs an overflow page.
func bigRequest(jobURL string) map[string]string {
	return map[string]string{
		"job_url": jobURL, "role": "Software Development Engineer Intern",
		"intro": cjkText(1000, 0), "note": cjkText(1000, 1), "resume_url": "https://drive.example.org/resume.pdf",
	}
}

// cjkText is n distinct-looking CJK ideographs, as a long intro in Chinese
// or Japanese would be.
func cjkText(n, seed int) string {
	var b strings.Builder
	for i := range n {
		b.WriteRune(rune(0x4E00 + (i*7919+seed*104729)%20000))
	}
	return b.String()
}

// submitModal opens the request modal for company, submits values and
// checks that the reply contains want.
func (h *harness) submitModal(student, company string, values map[string]string, want string) *discordtest.Response {
	h.t.Helper()
	modal := h.run(student, "referral", "request", opt("company", company))
	if modal.Type != discordgo.InteractionResponseModal {
		h.t.Fatalf("/referral request company:%s answered %v (%q); want the modal", company, modal.Type, modal.Text())
	}
	ctx := h.ctx()
	in, err := h.dc.SubmitModal(ctx, discordtest.ModalSubmit{UserID: student, Modal: modal, Values: values})
	if err != nil {
		h.t.Fatalf("submit request modal: %v", err)
	}
	resp, err := in.Answer(ctx)
	if err != nil {
		h.t.Fatalf("submit request modal: no response: %v", err)
	}
	if !strings.Contains(resp.Text(), want) {
		h.t.Fatalf("request reply = %q; want it to contain %q", resp.Text(), want)
	}
	return resp
}

// health reads /healthz.
func (h *harness) health() (int, string) {
	h.t.Helper()
	res, err := http.Get("http://" + h.bot.HTTPAddr() + "/healthz")
	if err != nil {
		h.t.Fatalf("GET /healthz: %v", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func openReadOnly(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// startBotWith is startBot with more bot options.
func startBotWith(t *testing.T, opts ...bot.Option) *harness {
	t.Helper()
	dc := newWorld(t)
	h := &harness{t: t, dc: dc, cfg: testConfig(t, dc), clock: &fakeClock{}, log: &logSink{t: t}}
	ctx, cancel := context.WithCancel(context.Background())
	logger := slog.New(slog.NewTextHandler(h.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b, err := bot.New(ctx, h.cfg, logger, append([]bot.Option{bot.WithClock(h.clock.Now), bot.WithOutboxPoll(100 * time.Millisecond)}, opts...)...)
	if err != nil {
		cancel()
		t.Fatalf("bot.New: %v", err)
	}
	h.bot, h.cancel, h.done = b, cancel, make(chan error, 1)
	go func() { h.done <- b.Run(ctx) }()
	select {
	case <-b.Ready():
	case err := <-h.done:
		t.Fatalf("bot stopped before ready: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatalf("bot not ready after 15s")
	}
	t.Cleanup(h.stop)
	return h
}
