package commands

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

func verifyHarness(t *testing.T) (*harness, *fakeMailer) {
	h := newHarness(t)
	h.join(testAlumnus, true, "Amazon")
	m := &fakeMailer{}
	h.router.Mailer = m
	return h, m
}

func codeModal(userID, customID, code string) *discordgo.Interaction {
	return &discordgo.Interaction{
		ID: "i-modal", Type: discordgo.InteractionModalSubmit, GuildID: testGuild, Member: member(userID, 0), Token: "secret-token",
		Data: discordgo.ModalSubmitInteractionData{CustomID: customID, Components: []discordgo.MessageComponent{
			&discordgo.ActionsRow{Components: []discordgo.MessageComponent{&discordgo.TextInput{CustomID: codeInput, Value: code}}},
		}},
	}
}

var mailCode = regexp.MustCompile(`code is (\d{6})`)

// startVerify runs /referrer verify and returns the Enter code button's
// custom_id, the code id and the code mailed.
func startVerify(t *testing.T, h *harness, m *fakeMailer, email string) (string, int64, string) {
	t.Helper()
	resp := h.do(slash(testAlumnus, "referrer", "verify", str("email", email)))
	mustEphemeral(t, resp)
	btns := buttons(resp.Data.Components)
	if len(btns) != 1 || btns[0].Label != "Enter code" {
		t.Fatalf("verify = %q with buttons %+v; want Enter code", resp.Data.Content, btns)
	}
	c, _, err := parseCustomID(btns[0].CustomID)
	if err != nil || c.Pattern != verifyEnter {
		t.Fatalf("Enter code custom_id %q: %+v, %v", btns[0].CustomID, c, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	got := mailCode.FindStringSubmatch(m.sent[len(m.sent)-1].Text)
	if got == nil {
		t.Fatalf("mail %q has no code", m.sent[len(m.sent)-1].Text)
	}
	return btns[0].CustomID, c.ID, got[1]
}

func wrongCode(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

func TestVerifyNotConfiguredSaysSo(t *testing.T) {
	h := newHarness(t)
	h.router.Store = noStore{}
	resp := h.do(slash(testAlumnus, "referrer", "verify", str("email", "me@amazon.com")))
	mustEphemeral(t, resp)
	if !strings.Contains(resp.Data.Content, "not configured") || len(resp.Data.Components) != 0 || h.lastResult() != "referrer verify ok" {
		t.Errorf("verify without a mailer = %q (%s); want not configured, nothing stored", resp.Data.Content, h.lastResult())
	}
}

func TestVerifySendsCodeAndChecksIt(t *testing.T) {
	h, m := verifyHarness(t)
	enter, codeID, code := startVerify(t, h, m, "Jane.Doe@Amazon.com")
	if len(m.sent) != 1 || m.sent[0].To != "Jane.Doe@Amazon.com" || !strings.Contains(m.sent[0].Text, "verified @amazon.com") {
		t.Fatalf("mails = %+v; want one to the address typed, naming the domain", m.sent)
	}
	tk, err := h.store.VerificationStatus(context.Background(), codeID, testAlumnus)
	if err != nil || tk.Domain != "amazon.com" || tk.MailState != "sent" {
		t.Errorf("stored ticket = %+v, %v; want amazon.com, recorded as sent", tk, err)
	}

	modal := h.do(guildButton(testAlumnus, enter))
	if modal.Type != discordgo.InteractionResponseModal || modal.Data.CustomID != verifyModal.with(codeID) {
		t.Fatalf("Enter code = type %d %+v; want the modal", modal.Type, modal.Data)
	}
	if in := textInputs(modal.Data.Components); len(in) != 1 || in[0].CustomID != codeInput || in[0].MinLength != 6 || !in[0].Required {
		t.Errorf("modal inputs = %+v", in)
	}
	if r := h.do(guildButton(testStudent, enter)); !strings.Contains(r.Data.Content, "someone else") {
		t.Errorf("Enter code by someone else = %q", r.Data.Content)
	}

	// Letters don't count as a try; a wrong code does; the right one verifies.
	r := h.do(codeModal(testAlumnus, verifyModal.with(codeID), "12ab56"))
	if !strings.Contains(r.Data.Content, "didn't count") {
		t.Errorf("letters = %q", r.Data.Content)
	}
	r = h.do(codeModal(testAlumnus, verifyModal.with(codeID), wrongCode(code)))
	if !strings.Contains(r.Data.Content, "4 tries left") || buttonLabels(r.Data.Components) != "Enter code" {
		t.Errorf("wrong code = %q; want 4 tries left (letters didn't count)", r.Data.Content)
	}
	r = h.do(codeModal(testAlumnus, verifyModal.with(codeID), code[:3]+"-"+code[3:]))
	mustEphemeral(t, r)
	if !strings.Contains(r.Data.Content, "verified @amazon.com") {
		t.Errorf("right code = %q", r.Data.Content)
	}
	if got := h.lastResult(); got != "modal verify/modal ok" {
		t.Errorf("observed %q; want the verify modal labelled as such", got)
	}
	if row, err := h.store.ReferrerProfile(context.Background(), testGuild, testAlumnus); err != nil || row.Referrer.VerifiedDomain != "amazon.com" {
		t.Errorf("profile = %+v, %v; want verified @amazon.com", row.Referrer, err)
	}
	if r := h.do(guildButton(testAlumnus, enter)); !strings.Contains(r.Data.Content, "isn't waiting any more") {
		t.Errorf("Enter code after it was used = %q", r.Data.Content)
	}
}

func TestVerifyLockedAndExpired(t *testing.T) {
	h, m := verifyHarness(t)
	enter, codeID, code := startVerify(t, h, m, "jane@amazon.com")
	for range referral.MaxCodeTries - 1 {
		h.do(codeModal(testAlumnus, verifyModal.with(codeID), wrongCode(code)))
	}
	r := h.do(codeModal(testAlumnus, verifyModal.with(codeID), wrongCode(code)))
	if !strings.Contains(r.Data.Content, "last try") || len(r.Data.Components) != 0 {
		t.Errorf("last wrong code = %q", r.Data.Content)
	}
	if r := h.do(guildButton(testAlumnus, enter)); !strings.Contains(r.Data.Content, "Too many wrong codes") {
		t.Errorf("Enter code when locked = %q", r.Data.Content)
	}
	if r := h.do(slash(testAlumnus, "referrer", "verify", str("email", "jane@amazon.com"))); !strings.Contains(r.Data.Content, "Too many wrong codes") {
		t.Errorf("verify again when locked = %q", r.Data.Content)
	}

	// After the cool-down a new code works, until it expires.
	h.clock.Add(referral.CodeCooldown + time.Minute)
	enter, _, _ = startVerify(t, h, m, "jane@amazon.com")
	if r := h.do(slash(testAlumnus, "referrer", "verify", str("email", "jane@amazon.com"))); !strings.Contains(r.Data.Content, "less than a minute ago") {
		t.Errorf("a second code at once = %q; want to wait a minute", r.Data.Content)
	}
	h.clock.Add(referral.CodeTTL)
	if r := h.do(guildButton(testAlumnus, enter)); !strings.Contains(r.Data.Content, "expired") {
		t.Errorf("Enter code at expiry = %q", r.Data.Content)
	}
}

func TestVerifyMailFailureKeepsAddressOut(t *testing.T) {
	h, m := verifyHarness(t)
	m.err = errors.New("550 5.1.1 <jane@amazon.com>: Recipient address rejected")
	enter, codeID, _ := startVerify(t, h, m, "jane@amazon.com")
	tk, err := h.store.VerificationStatus(context.Background(), codeID, testAlumnus)
	if err != nil || tk.MailState != "failed" || tk.MailError == "" || strings.Contains(tk.MailError, "jane@") {
		t.Errorf("recorded ticket %+v, %v; want a failure without the address", tk, err)
	}
	if strings.Contains(h.log.String(), "jane@") {
		t.Errorf("the log has the address:\n%s", h.log.String())
	}
	r := h.do(guildButton(testAlumnus, enter))
	if !strings.Contains(r.Data.Content, "couldn't be sent") || !strings.Contains(r.Data.Content, "Recipient address rejected") || strings.Contains(r.Data.Content, "jane@") {
		t.Errorf("Enter code after a failed mail = %q", r.Data.Content)
	}
}

func TestVerifyRefusals(t *testing.T) {
	h, m := verifyHarness(t)
	for email, want := range map[string]string{
		"me@gmail.com":    "personal mail provider",
		"not an address":  "doesn't look like an email",
		"Me <me@aws.com>": "doesn't look like an email",
	} {
		r := h.do(slash(testAlumnus, "referrer", "verify", str("email", email)))
		mustEphemeral(t, r)
		if !strings.Contains(r.Data.Content, want) {
			t.Errorf("verify %q = %q; want %q", email, r.Data.Content, want)
		}
	}
	if r := h.do(slash(testStudent, "referrer", "verify", str("email", "me@amazon.com"))); !strings.Contains(r.Data.Content, "/referrer join") {
		t.Errorf("verify without a profile = %q", r.Data.Content)
	}
	if len(m.sent) != 0 {
		t.Errorf("%d mails sent; want none", len(m.sent))
	}
}
