package bot_test

import (
	"bytes"
	"fmt"
	"log"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/referralbot/referralbot/config"
	"github.com/referralbot/referralbot/discordtest"
)

// Logs never hold the token, the SMTP password or anything a user typed
// (issue 13, docs/PRIVACY.md). Every flow runs at debug level, and the
// whole log is scanned: the bot's own, and what discordgo writes to the
// standard logger meanwhile.

const privacyToken = "MTAwMDAwMDAwMDAwMDAwMDAx.PrivTk.q9Zx_privacy-token-W7v"

// Each typed value carries a made-up word of its own, so a value that
// leaks cut short or re-cased is still found.
var (
	privacyReferrerCompanies = "Initrode, Globex Quuxworks"
	privacyRoles             = map[string]string{alice: "Zorblax backend platform", bob: "Frobnitz infrastructure"}
	privacySchool            = "Quillfeather University"
	privacyEmail             = "wombat.alice@initrode-corp.com"
	privacyRefusedEmail      = "quokka.bob@globex-corp.com"
	privacyDraft             = map[string]string{
		"job_url":    "careers.initrode.example/jobs/Wugglepost-4711", // no https://: a draft
		"role":       "Snarfwidget Engineer Intern",
		"intro":      "I'm a third-year student of Vexillography at State University. Last summer I built a routing service that cut planning time by 40%.",
		"resume_url": "https://drive.example.org/Plinkerton-resume.pdf",
		"note":       "I meet the Marzipanic requirements of the posting and have shipped two Go services.",
	}
	privacyFixedJob = "https://careers.initrode.example/jobs/Wugglepost-4711"
	privacyTia      = map[string]string{
		"job_url":    "https://jobs.globex.example/Brindlequay-88",
		"role":       "Grommetsmith Data Intern",
		"intro":      "I'm a second-year statistics student who studies Hornswoggle modelling. I built a dashboard that my university's library now uses every day.",
		"resume_url": "https://files.example.net/Tarradiddle-cv.pdf",
		"note":       "The Gallimaufry project on my resume is the closest to this role.",
	}
	privacyWithdrawn = map[string]string{
		"job_url":    "https://careers.initrode.example/jobs/Snollygoster-12",
		"role":       "Kerfuffle Analyst Intern",
		"intro":      "I'm a third-year economics student at State University; I led a Bumfuzzle pricing study with a local retailer and presented it to their board.",
		"resume_url": "https://drive.example.org/Cattywampus-resume.pdf",
	}
)

// stdLog collects what the standard logger (discordgo's) writes.
type stdLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *stdLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *stdLog) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// Not parallel: it swaps the standard logger's output for its run.
func TestPrivacyLogsHoldNoSecretsOrTypedText(t *testing.T) {
	std := &stdLog{}
	prevOut, prevFlags := log.Writer(), log.Flags()
	log.SetOutput(std)
	t.Cleanup(func() { log.SetOutput(prevOut); log.SetFlags(prevFlags) })

	box, withSMTP := startSMTP(t)
	f := startFlow(t, func(c *config.Config) {
		withSMTP(c)
		c.Discord.Token = privacyToken
		c.Log.Level = "debug"
		c.Referrals.Nudges = []config.Duration{config.Duration(time.Hour), config.Duration(2 * time.Hour)}
	})
	h := f.h
	typed := []string{privacyReferrerCompanies, "Initrode", "Globex", "Quuxworks", privacySchool, "Quillfeather",
		privacyEmail, "wombat.alice", privacyRefusedEmail, "quokka.bob", privacyFixedJob}
	for _, v := range privacyRoles {
		typed = append(typed, v)
	}
	for _, m := range []map[string]string{privacyDraft, privacyTia, privacyWithdrawn} {
		for _, v := range m {
			typed = append(typed, v)
		}
	}
	for _, word := range []string{"Zorblax", "Frobnitz", "Wugglepost", "Snarfwidget", "Vexillography", "Plinkerton", "Marzipanic",
		"Brindlequay", "Grommetsmith", "Hornswoggle", "Tarradiddle", "Gallimaufry", "Snollygoster", "Kerfuffle", "Bumfuzzle", "Cattywampus",
		"Blorptastic", "Snickersnee", "Flibbertigibbet"} {
		typed = append(typed, word)
	}
	var codes []string

	// Referrers join with companies, roles and a school.
	for _, r := range []string{alice, bob} {
		f.join(r, privacyReferrerCompanies, opt("roles", privacyRoles[r]), opt("school", privacySchool))
	}

	// Work-email verification: a wrong code, the right one, and a mail
	// the server refuses (its answer quotes the address).
	resp := h.run(alice, "referrer", "verify", opt("email", privacyEmail))
	code := privacyMailedCode(t, box, 1)
	codes = append(codes, code, wrongCode(code))
	enterCode(t, h, resp.Message(), wrongCode(code))
	if got := enterCode(t, h, resp.Message(), code).Text(); !strings.Contains(got, "verified") {
		t.Fatalf("the right code = %q; want verified", got)
	}
	box.mu.Lock()
	box.refuse = "quokka"
	box.mu.Unlock()
	h.run(bob, "referrer", "verify", opt("email", privacyRefusedEmail))
	h.bot.WaitMails()
	if len(h.log.matching("verification mail failed")) == 0 {
		t.Fatalf("the refused mail was not logged; the scan below would prove nothing about it")
	}

	// sam: a draft, Edit request, the fixed request; the first referrer
	// declines, the second accepts and submits; two follow-ups (No news
	// yet, Rejected), then Keep me in mind; a second request withdrawn.
	draftReply := flowSubmitModal(h, flowOpenRequestModal(h, sam, "Initrode"), privacyDraft)
	if !hasResponseButton(draftReply, "Edit request") {
		t.Fatalf("the draft reply = %q; want Edit request", draftReply.Text())
	}
	edit := h.press(sam, draftReply.Message(), "Edit request")
	sent := flowSubmitModal(h, edit, map[string]string{"job_url": privacyFixedJob})
	id := flowPreviewNumber(t, sent)
	first, offer := flowWaitOfferAny(h, id, alice, bob)
	h.press(first, offer, "Decline")
	second := flowOther(alice, bob, first)
	accepted := h.press(second, flowWaitOffer(h, second, id), "Accept").Message()
	h.waitDM(sam, acceptedText)
	h.press(second, accepted, "Referral submitted")
	h.waitDM(sam, submittedText)
	h.clock.Advance(61 * time.Minute)
	h.settle()
	h.press(sam, privacyLastDM(t, h, sam, followUpText), "No news yet")
	h.clock.Advance(61 * time.Minute)
	h.settle()
	rejected := h.press(sam, privacyLastDM(t, h, sam, followUpText), "Rejected")
	h.press(sam, rejected.Message(), "Keep me in mind")
	h.waitDM(second, "keep them in mind")
	wid, _ := f.request(sam, "Initrode", privacyWithdrawn)
	h.run(sam, "referral", "withdraw", opt("request", wid))
	h.run(sam, "referral", "status")

	// Typed text that is refused, only autocompleted, or waits for a
	// referrer.
	h.run(carol, "referrer", "join", opt("companies", "@everyone Blorptastic"))
	in, err := h.dc.Autocomplete(h.ctx(), discordtest.Command{GuildID: guildID, ChannelID: generalID, UserID: sam,
		Name: "referral", Subcommand: "request", Options: []discordtest.Option{opt("company", "Snickersnee")}, Focused: "company"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Answer(h.ctx()); err != nil {
		t.Fatalf("autocomplete: %v", err)
	}
	waiting := flowGoodRequest("Flibbertigibbet")
	f.request(sam, "Flibbertigibbet", waiting)

	// tia: a request whose referrer she reports; the next one accepts and
	// she records an outcome; then forget-me.
	tid, _ := f.request(tia, "Globex Quuxworks", privacyTia)
	ref, toffer := flowWaitOfferAny(h, tid, alice, bob)
	h.press(ref, toffer, "Accept")
	tiaAccepted := h.waitDM(tia, acceptedText)
	ask := h.press(tia, tiaAccepted, "Report")
	h.press(tia, ask.Message(), "Yes, report")
	next := flowOther(alice, bob, ref)
	h.press(next, flowWaitOffer(h, next, tid), "Accept")
	h.run(tia, "referral", "outcome", opt("request", tid), opt("result", "interview"))

	// Admins read and export; the digest goes out.
	for _, sub := range []string{"stats", "referrers", "export", "digest-now"} {
		h.run(admin, "referral-admin", sub)
	}
	h.run(alice, "referrer", "profile")
	forget := h.run(tia, "referral", "forget-me")
	h.press(tia, forget.Message(), "Delete my data")
	flowSettle(h)
	h.restart() // start and stop lines too
	h.stop()

	if len(h.log.matching("level=DEBUG")) == 0 {
		t.Fatalf("no debug lines logged; want the run at debug level")
	}
	secrets := map[string]string{"the bot token": privacyToken, "the SMTP password": verifyPassword}
	for _, v := range typed {
		secrets[fmt.Sprintf("typed text %q", v)] = v
	}
	logs := append(h.log.matching(), strings.Split(std.String(), "\n")...)
	for what, v := range secrets {
		needle := strings.ToLower(v)
		for _, line := range logs {
			if strings.Contains(strings.ToLower(line), needle) {
				t.Errorf("the log holds %s:\n%s", what, line)
				break
			}
		}
	}
	for _, c := range codes {
		re := regexp.MustCompile(`(^|[^0-9])` + c + `([^0-9]|$)`)
		for _, line := range logs {
			if re.MatchString(line) {
				t.Errorf("the log holds the verification code %s:\n%s", c, line)
				break
			}
		}
	}
	t.Logf("scanned %d log lines for %d secrets and typed texts and %d codes", len(logs), len(secrets), len(codes))
}

// privacyMailedCode waits for the n-th mail and returns its code.
func privacyMailedCode(t *testing.T, box *mailbox, n int) string {
	t.Helper()
	eventually(t, "the verification mail", func() bool { return box.count() >= n })
	box.mu.Lock()
	defer box.mu.Unlock()
	got := codeRe.FindStringSubmatch(box.msgs[n-1].data)
	if got == nil {
		t.Fatalf("mail has no code:\n%s", box.msgs[n-1].data)
	}
	return got[1]
}

// privacyLastDM is the latest DM to user containing want, as it is now.
func privacyLastDM(t *testing.T, h *harness, user, want string) *discordtest.Message {
	t.Helper()
	var last *discordtest.Message
	for _, m := range h.dc.DMs(user) {
		if strings.Contains(m.Text(), want) {
			last = m
		}
	}
	if last == nil {
		t.Fatalf("no DM to %s containing %q:\n%s", user, want, dmDump(h.dc.DMs(user)))
	}
	return last
}
