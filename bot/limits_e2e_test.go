package bot_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/referralbot/referralbot/config"
	"github.com/referralbot/referralbot/discordtest"
)

// Abuse limits (issue 13): a member who sends too much in a short window
// is told to slow down and nothing is done; everyone else, and
// autocomplete, go on as before.

var slowDownRE = regexp.MustCompile(`Slow down.*Try again in (\d+) s`)

// slowDownWait reads N from a "slow down, try again in N s" answer, or -1.
func slowDownWait(resp *discordtest.Response) int {
	m := slowDownRE.FindStringSubmatch(resp.Text())
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func TestLimitsSlowDownPerMember(t *testing.T) {
	t.Parallel()
	h := startBot(t, func(c *config.Config) { c.Limits = config.Default().Limits }) // 10 in 10 s
	h.adminSetup(false)
	h.joinReferrer(alice, "Amazon")

	// An invalid form (two interactions: the command and the submit)
	// leaves sam a reply with a button; then eight more make ten.
	draftReply := h.invalidRequest(sam, "Amazon")
	for i := range 8 {
		if resp := h.run(sam, "referral", "status"); slowDownWait(resp) >= 0 || !resp.Ephemeral {
			t.Fatalf("/referral status #%d = %q; want an answer within the limit of 10", i+3, resp.Text())
		}
	}
	// The 11th is refused, ephemeral, and nothing is done: no profile.
	resp := h.run(sam, "referrer", "join", opt("companies", "Stripe"))
	if n := slowDownWait(resp); n < 1 || n > 10 || !resp.Ephemeral {
		t.Fatalf("11th interaction in 10 s = %q (ephemeral %v); want an ephemeral \"slow down, try again in N s\" with N in 1..10", resp.Text(), resp.Ephemeral)
	}
	// A button press counts too, and is answered without opening the form.
	if resp := h.press(sam, draftReply, "Edit request"); slowDownWait(resp) < 0 || resp.Type == discordgo.InteractionResponseModal {
		t.Errorf("a press while over the limit = %v %q; want slow down", resp.Type, resp.Text())
	}
	// Autocomplete fires per keystroke: answered with choices, not counted.
	for range 3 {
		in, err := h.dc.Autocomplete(h.ctx(), discordtest.Command{GuildID: guildID, ChannelID: generalID, UserID: sam,
			Name: "referral", Subcommand: "request", Options: []discordtest.Option{{Name: "company", Value: "Ama"}}, Focused: "company"})
		if err != nil {
			t.Fatal(err)
		}
		ac, err := in.Answer(h.ctx())
		if err != nil {
			t.Fatalf("autocomplete while over the limit: no answer: %v", err)
		}
		if ac.Type != discordgo.InteractionApplicationCommandAutocompleteResult || len(ac.Data.Choices) == 0 || ac.Data.Choices[0].Name != "Amazon" {
			t.Errorf("autocomplete while over the limit = type %v %+v; want the Amazon choice", ac.Type, ac.Data)
		}
	}
	// Another member is not held back.
	if resp := h.run(tia, "referral", "status"); slowDownWait(resp) >= 0 {
		t.Errorf("tia's /referral status = %q; want an answer: the limit is per member", resp.Text())
	}
	if v := h.metric("referralbot_interactions_limited_total"); v != "2" {
		t.Errorf("referralbot_interactions_limited_total = %s; want 2 (the join and the press)", v)
	}
	if lines := h.log.matching("over the per-member limit", "level=INFO", "user_id="+sam); len(lines) != 1 {
		t.Errorf("%d info lines about sam's limit; want 1 per run of refusals:\n%s", len(lines), strings.Join(lines, "\n"))
	}

	// Once the window has passed, sam is free again, and the refused
	// join had done nothing.
	h.clock.Advance(10 * time.Second)
	if resp := h.run(sam, "referrer", "profile"); slowDownWait(resp) >= 0 || strings.Contains(resp.Text(), "Stripe") {
		t.Errorf("/referrer profile after the window = %q; want an answer and no Stripe profile from the refused join", resp.Text())
	}
	if resp := h.run(sam, "referrer", "join", opt("companies", "Stripe")); !strings.Contains(resp.Text(), "Stripe") {
		t.Errorf("/referrer join after the window = %q; want it done", resp.Text())
	}
}

// invalidRequest sends an invalid request form for student and returns
// the reply with its Edit request button.
func (h *harness) invalidRequest(student, company string) *discordtest.Message {
	h.t.Helper()
	resp := flowSubmitModal(h, flowOpenRequestModal(h, student, company), map[string]string{
		"job_url": "jobs.example.com/1", "role": "Intern", "intro": goodIntro, // the link lacks https://
		"resume_url": "https://drive.example.org/r.pdf",
	})
	if !hasResponseButton(resp, "Edit request") {
		h.t.Fatalf("invalid request reply = %q; want an Edit request button", resp.Text())
	}
	return resp.Message()
}

func hasResponseButton(resp *discordtest.Response, label string) bool {
	for _, b := range resp.Buttons() {
		if b.Label == label {
			return true
		}
	}
	return false
}

// Thirty invalid submits of the same form keep one draft, overwritten;
// the Edit request button of the first and of the last reply both open
// the latest text.
func TestLimitsInvalidSubmitsKeepOneDraft(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil)
	h.adminSetup(false)
	h.joinReferrer(alice, "Amazon")
	intro := func(i int) string { return fmt.Sprintf("%s (attempt %d)", goodIntro, i) }
	var first, last *discordtest.Message
	for i := range 30 {
		resp := flowSubmitModal(h, flowOpenRequestModal(h, sam, "Amazon"), map[string]string{
			"job_url": "jobs.example.com/4711", "role": "SDE Intern", "intro": intro(i), // the link lacks https://
			"resume_url": "https://drive.example.org/resume.pdf",
		})
		if !hasResponseButton(resp, "Edit request") || strings.Contains(resp.Text(), "Request #") {
			t.Fatalf("invalid submit %d = %q; want a draft with Edit request", i, resp.Text())
		}
		if i == 0 {
			first = resp.Message()
		}
		last = resp.Message()
	}
	// A draft for another company is a draft of its own.
	flowSubmitModal(h, flowOpenRequestModal(h, sam, "Stripe"), map[string]string{
		"job_url": "jobs.example.com/99", "role": "SDE Intern", "intro": goodIntro,
		"resume_url": "https://drive.example.org/resume.pdf",
	})

	db := trustDB(t, h)
	var n, amazonN int
	if err := db.QueryRow(`SELECT COUNT(*), COUNT(*) FILTER (WHERE company_key = 'amazon') FROM drafts WHERE student_id = ?`, sam).Scan(&n, &amazonN); err != nil {
		t.Fatal(err)
	}
	if n != 2 || amazonN != 1 {
		t.Errorf("drafts after 30 invalid Amazon submits and 1 Stripe = %d (%d Amazon); want 2 (1 Amazon)", n, amazonN)
	}
	for name, m := range map[string]*discordtest.Message{"first": first, "last": last} {
		edit := h.press(sam, m, "Edit request")
		if edit.Type != discordgo.InteractionResponseModal {
			t.Fatalf("Edit request on the %s reply = %v %q; want the modal", name, edit.Type, edit.Text())
		}
		if got, _ := edit.Field("intro"); got != intro(29) {
			t.Errorf("Edit request on the %s reply pre-fills intro = %q; want the latest, %q", name, got, intro(29))
		}
	}
	if st := h.run(sam, "referral", "status").Text(); !strings.Contains(st, "no requests") {
		t.Errorf("/referral status with only drafts = %q; want no requests listed", st)
	}
}
