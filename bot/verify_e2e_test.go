package bot_test

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/referralbot/referralbot/config"
	"github.com/referralbot/referralbot/discordtest"
)

// Work-email verification against a real SMTP server on 127.0.0.1 (go-smtp)
// that requires AUTH PLAIN and records every message it accepts.

const (
	verifyUser     = "referralbot"
	verifyPassword = "s3cret"
	verifyAddr     = "alice.smith@amazon.com"
)

// mailbox is the SMTP server's backend.
type mailbox struct {
	mu     sync.Mutex
	msgs   []receivedMail
	refuse string // recipients containing this are refused with 550
}

type receivedMail struct {
	from string
	to   []string
	data string
}

type smtpSession struct {
	box    *mailbox
	authed bool
	cur    receivedMail
}

func (b *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{box: b}, nil }

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != verifyUser || password != verifyPassword {
			return errors.New("invalid credentials")
		}
		s.authed = true
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	s.cur.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.box.mu.Lock()
	refuse := s.box.refuse
	s.box.mu.Unlock()
	if refuse != "" && strings.Contains(to, refuse) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<" + to + ">: Recipient address rejected"}
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = string(b)
	s.box.mu.Lock()
	s.box.msgs = append(s.box.msgs, s.cur)
	s.box.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset()        { s.cur = receivedMail{} }
func (s *smtpSession) Logout() error { return nil }

func (b *mailbox) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.msgs)
}

// startSMTP runs the SMTP server until the test ends and points the
// bot's smtp: settings at it.
func startSMTP(t *testing.T) (*mailbox, func(*config.Config)) {
	t.Helper()
	box := &mailbox{}
	srv := smtp.NewServer(box)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true // plain text on loopback, as a local relay
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	return box, func(c *config.Config) {
		c.SMTP = config.SMTP{Host: "127.0.0.1", Port: port, Username: verifyUser, Password: verifyPassword, From: "referrals@example.org"}
	}
}

var codeRe = regexp.MustCompile(`verification code is (\d{6})`)

// waitCode waits for the n-th mail (from 1) and returns its code.
func waitCode(t *testing.T, box *mailbox, n int) string {
	t.Helper()
	eventually(t, "the verification mail", func() bool { return box.count() >= n })
	box.mu.Lock()
	m := box.msgs[n-1]
	box.mu.Unlock()
	if len(m.to) != 1 || m.to[0] != verifyAddr || m.from != "referrals@example.org" {
		t.Errorf("mail from %q to %v; want from referrals@example.org to %s", m.from, m.to, verifyAddr)
	}
	got := codeRe.FindStringSubmatch(m.data)
	if got == nil {
		t.Fatalf("mail has no code:\n%s", m.data)
	}
	return got[1]
}

// verifyStart joins alice as a referrer and runs /referrer verify.
func verifyStart(t *testing.T, h *harness) *discordtest.Response {
	t.Helper()
	trustSetup(h)
	trustJoin(h, alice)
	return verifyRun(t, h)
}

func verifyRun(t *testing.T, h *harness) *discordtest.Response {
	t.Helper()
	resp := h.run(alice, "referrer", "verify", opt("email", verifyAddr))
	if !resp.Ephemeral {
		t.Errorf("verify reply is not ephemeral")
	}
	return resp
}

// enterCode presses Enter code on msg and submits code in the modal.
func enterCode(t *testing.T, h *harness, msg *discordtest.Message, code string) *discordtest.Response {
	t.Helper()
	modal := h.press(alice, msg, "Enter code")
	if modal.Type != discordgo.InteractionResponseModal {
		t.Fatalf("Enter code = %v %q; want the modal", modal.Type, modal.Text())
	}
	return trustSubmit(h, alice, modal, map[string]string{"code": code})
}

func wrongCode(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

func TestVerifyNotConfigured(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil)
	trustSetup(h)
	trustJoin(h, alice)
	resp := h.run(alice, "referrer", "verify", opt("email", verifyAddr))
	if !resp.Ephemeral || !strings.Contains(resp.Text(), "not configured") || len(resp.Buttons()) != 0 {
		t.Errorf("verify without smtp = %q; want an honest not configured, no button", resp.Text())
	}
}

func TestVerifyCodeFlow(t *testing.T) {
	t.Parallel()
	box, withSMTP := startSMTP(t)
	h := startBot(t, withSMTP)
	resp := verifyStart(t, h)
	if !strings.Contains(resp.Text(), "Enter code") || len(resp.Buttons()) != 1 {
		t.Fatalf("verify = %q; want a code on its way and an Enter code button", resp.Text())
	}
	code := waitCode(t, box, 1)

	// A wrong code counts, the right one verifies.
	wrong := enterCode(t, h, resp.Message(), wrongCode(code))
	if !strings.Contains(wrong.Text(), "doesn't match") || !strings.Contains(wrong.Text(), "4 tries left") {
		t.Errorf("wrong code = %q; want 4 tries left", wrong.Text())
	}
	ok := enterCode(t, h, wrong.Message(), code[:3]+" "+code[3:]) // pasted with a space
	if !strings.Contains(ok.Text(), "verified @amazon.com") {
		t.Fatalf("right code = %q; want verified @amazon.com", ok.Text())
	}
	if again := h.press(alice, resp.Message(), "Enter code"); !strings.Contains(again.Text(), "isn't waiting any more") {
		t.Errorf("Enter code after success = %q; want the code used up", again.Text())
	}

	// Only the domain is stored: no address, no code.
	db := trustDB(t, h)
	var domain string
	var codes int
	if err := db.QueryRow(`SELECT verified_domain, (SELECT COUNT(*) FROM email_codes) FROM referrers WHERE user_id = ?`, alice).Scan(&domain, &codes); err != nil {
		t.Fatal(err)
	}
	if domain != "amazon.com" || codes != 0 {
		t.Errorf("stored domain %q with %d codes left; want amazon.com and none", domain, codes)
	}
	files, _ := filepath.Glob(h.cfg.Database.Path + "*")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(strings.ToLower(string(data)), "alice.smith") {
			t.Errorf("%s contains the email address", filepath.Base(f))
		}
	}

	// Offers and the admins' list show it.
	if prof := h.run(alice, "referrer", "profile").Text(); !strings.Contains(prof, "verified @amazon.com") {
		t.Errorf("profile = %q; want verified @amazon.com", prof)
	}
	trustRequest(h, sam, trustJobURL)
	if offer := h.waitDM(alice, trustOfferText); !strings.Contains(offer.Text(), "verified @amazon.com") {
		t.Errorf("offer = %q; want verified @amazon.com", offer.Text())
	}
	list := h.run(admin, "referral-admin", "referrers").Text()
	for _, want := range []string{"<@" + alice + "> · **active** (referrer role) · verified @amazon.com", "<@" + alice + "> verified @amazon.com"} {
		if !strings.Contains(list, want) {
			t.Errorf("/referral-admin referrers lacks %q:\n%s", want, list)
		}
	}
}

func TestVerifyCodeExpires(t *testing.T) {
	t.Parallel()
	box, withSMTP := startSMTP(t)
	h := startBot(t, withSMTP)
	resp := verifyStart(t, h)
	code := waitCode(t, box, 1)

	// Asking again at once is refused: one mail a minute.
	if again := verifyRun(t, h); !strings.Contains(again.Text(), "less than a minute ago") {
		t.Errorf("second verify at once = %q; want to wait a minute", again.Text())
	}

	modal := h.press(alice, resp.Message(), "Enter code")
	h.clock.Advance(16 * time.Minute)
	late := trustSubmit(h, alice, modal, map[string]string{"code": code})
	if !strings.Contains(late.Text(), "expired") {
		t.Errorf("code after 16 minutes = %q; want expired", late.Text())
	}
	if btn := h.press(alice, resp.Message(), "Enter code"); !strings.Contains(btn.Text(), "expired") {
		t.Errorf("Enter code after 16 minutes = %q; want expired", btn.Text())
	}
	if st := trustVerified(t, h); st != "" {
		t.Errorf("verified domain %q after an expired code; want none", st)
	}

	// A new code works.
	resp = verifyRun(t, h)
	code = waitCode(t, box, 2)
	if ok := enterCode(t, h, resp.Message(), code); !strings.Contains(ok.Text(), "verified @amazon.com") {
		t.Errorf("new code = %q; want verified", ok.Text())
	}
}

func TestVerifyTooManyTries(t *testing.T) {
	t.Parallel()
	box, withSMTP := startSMTP(t)
	h := startBot(t, withSMTP)
	resp := verifyStart(t, h)
	code := waitCode(t, box, 1)
	msg := resp.Message()
	for try := 1; try <= 5; try++ {
		r := enterCode(t, h, msg, wrongCode(code))
		if try < 5 {
			if !strings.Contains(r.Text(), "doesn't match") {
				t.Fatalf("wrong code %d = %q", try, r.Text())
			}
			msg = r.Message()
			continue
		}
		if !strings.Contains(r.Text(), "last try") || len(r.Buttons()) != 0 {
			t.Errorf("fifth wrong code = %q; want locked, no button", r.Text())
		}
	}
	// Locked: the right code, the button and a new code are all refused.
	if r := h.press(alice, resp.Message(), "Enter code"); !strings.Contains(r.Text(), "Too many wrong codes") {
		t.Errorf("Enter code when locked = %q", r.Text())
	}
	h.clock.Advance(2 * time.Minute)
	if r := verifyRun(t, h); !strings.Contains(r.Text(), "Too many wrong codes") {
		t.Errorf("verify when locked = %q", r.Text())
	}
	if box.count() != 1 {
		t.Errorf("%d mails sent; want no new mail while locked", box.count())
	}
	if st := trustVerified(t, h); st != "" {
		t.Errorf("verified domain %q while locked; want none", st)
	}

	// After the cool-down a new code can be had.
	h.clock.Advance(time.Hour)
	resp = verifyRun(t, h)
	code = waitCode(t, box, 2)
	if ok := enterCode(t, h, resp.Message(), code); !strings.Contains(ok.Text(), "verified @amazon.com") {
		t.Errorf("code after the cool-down = %q; want verified", ok.Text())
	}
}

func TestVerifyMailRefused(t *testing.T) {
	t.Parallel()
	box, withSMTP := startSMTP(t)
	box.refuse = "alice.smith"
	h := startBot(t, withSMTP)
	resp := verifyStart(t, h)
	var r *discordtest.Response
	eventually(t, "the refusal to be recorded", func() bool {
		r = h.press(alice, resp.Message(), "Enter code")
		return r.Type != discordgo.InteractionResponseModal
	})
	if !strings.Contains(r.Text(), "couldn't be sent") || strings.Contains(r.Text(), "alice.smith") {
		t.Errorf("Enter code after a refused mail = %q; want an explanation without the address", r.Text())
	}
}

func TestVerifyRefusesPersonalMail(t *testing.T) {
	t.Parallel()
	box, withSMTP := startSMTP(t)
	h := startBot(t, withSMTP)
	trustSetup(h)
	trustJoin(h, alice)
	if r := h.run(alice, "referrer", "verify", opt("email", "alice@gmail.com")); !strings.Contains(r.Text(), "personal mail provider") {
		t.Errorf("verify with gmail = %q", r.Text())
	}
	if r := h.run(sam, "referrer", "verify", opt("email", "sam@amazon.com")); !strings.Contains(r.Text(), "/referrer join") {
		t.Errorf("verify without a profile = %q; want to join first", r.Text())
	}
	h.bot.WaitMails()
	if box.count() != 0 {
		t.Errorf("%d mails sent; want none", box.count())
	}
}

// trustVerified is alice's verified domain in the database.
func trustVerified(t *testing.T, h *harness) string {
	t.Helper()
	var d string
	if err := trustDB(t, h).QueryRow(`SELECT verified_domain FROM referrers WHERE user_id = ?`, alice).Scan(&d); err != nil {
		t.Fatal(err)
	}
	return d
}
