package commands

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

func verifyHarness(t *testing.T) (*harness, *verifyFake, *fakeMailer) {
	h := newHarness(t)
	h.store.referrers[testGuild+"/"+testAlumnus] = referrerFixture()
	v := &verifyFake{fakeStore: h.store}
	m := &fakeMailer{}
	h.router.Store, h.router.Mailer, h.router.SMTPEnabled = v, m, true
	return h, v, m
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

func TestVerifyNotConfiguredSaysSo(t *testing.T) {
	h := newHarness(t)
	h.store.referrers[testGuild+"/"+testAlumnus] = referrerFixture()
	resp := h.do(slash(testAlumnus, "referrer", "verify", str("email", "me@amazon.com")))
	mustEphemeral(t, resp)
	if !strings.Contains(resp.Data.Content, "not configured") || len(resp.Data.Components) != 0 || h.store.callCount() != 0 {
		t.Errorf("verify without smtp = %q; want not configured, nothing stored", resp.Data.Content)
	}
}

func TestVerifySendsCodeAndChecksIt(t *testing.T) {
	h, v, m := verifyHarness(t)
	resp := h.do(slash(testAlumnus, "referrer", "verify", str("email", "Jane.Doe@Amazon.com")))
	mustEphemeral(t, resp)
	btns := buttons(resp.Data.Components)
	if len(btns) != 1 || btns[0].Label != "Enter code" || btns[0].CustomID != "verify/enter/55" {
		t.Fatalf("verify buttons = %+v; want Enter code", btns)
	}
	if len(m.sent) != 1 || m.sent[0].To != "Jane.Doe@Amazon.com" {
		t.Fatalf("mails = %+v; want one to the address typed", m.sent)
	}
	got := mailCode.FindStringSubmatch(m.sent[0].Text)
	if got == nil || got[1] != v.code || !strings.Contains(m.sent[0].Text, "verified @amazon.com") {
		t.Fatalf("mail text %q; want the code %s and the domain", m.sent[0].Text, v.code)
	}
	if v.ticket.Domain != "amazon.com" || v.mailed != 1 || v.failure != "" {
		t.Errorf("stored domain %q, mailed %d (%q); want amazon.com, recorded as sent", v.ticket.Domain, v.mailed, v.failure)
	}

	modal := h.do(guildButton(testAlumnus, "verify/enter/55"))
	if modal.Type != discordgo.InteractionResponseModal || modal.Data.CustomID != "verify/modal/55" {
		t.Fatalf("Enter code = type %d %+v; want the modal", modal.Type, modal.Data)
	}
	if in := textInputs(modal.Data.Components); len(in) != 1 || in[0].CustomID != codeInput || in[0].MinLength != 6 || !in[0].Required {
		t.Errorf("modal inputs = %+v", in)
	}
	if r := h.do(guildButton(testStudent, "verify/enter/55")); !strings.Contains(r.Data.Content, "someone else") {
		t.Errorf("Enter code by someone else = %q", r.Data.Content)
	}

	// Letters don't count as a try; a wrong code does; the right one verifies.
	r := h.do(codeModal(testAlumnus, "verify/modal/55", "12ab56"))
	if !strings.Contains(r.Data.Content, "didn't count") || v.tries != 0 {
		t.Errorf("letters = %q (%d tries)", r.Data.Content, v.tries)
	}
	wrong := "000000"
	if v.code == wrong {
		wrong = "000001"
	}
	r = h.do(codeModal(testAlumnus, "verify/modal/55", wrong))
	if !strings.Contains(r.Data.Content, "4 tries left") || buttonLabels(r.Data.Components) != "Enter code" {
		t.Errorf("wrong code = %q", r.Data.Content)
	}
	r = h.do(codeModal(testAlumnus, "verify/modal/55", v.code[:3]+"-"+v.code[3:]))
	mustEphemeral(t, r)
	if !strings.Contains(r.Data.Content, "verified @amazon.com") || v.verified != "amazon.com" {
		t.Errorf("right code = %q", r.Data.Content)
	}
	if got := h.lastResult(); got != "modal verify/modal ok" {
		t.Errorf("observed %q; want the verify modal labelled as such", got)
	}
}

func TestVerifyLockedAndExpired(t *testing.T) {
	h, v, _ := verifyHarness(t)
	h.do(slash(testAlumnus, "referrer", "verify", str("email", "jane@amazon.com")))
	v.tries = referral.MaxCodeTries - 1
	wrong := "999999"
	if v.code == wrong {
		wrong = "999998"
	}
	r := h.do(codeModal(testAlumnus, "verify/modal/55", wrong))
	if !strings.Contains(r.Data.Content, "last try") || len(r.Data.Components) != 0 {
		t.Errorf("last wrong code = %q", r.Data.Content)
	}
	v.ticket.LockedUntil = testNow.Add(referral.CodeCooldown)
	if r := h.do(guildButton(testAlumnus, "verify/enter/55")); !strings.Contains(r.Data.Content, "Too many wrong codes") {
		t.Errorf("Enter code when locked = %q", r.Data.Content)
	}
	v.ticket.LockedUntil = time.Time{} // the cool-down is over; now the code's age matters
	v.ticket.ExpiresAt = testNow
	if r := h.do(guildButton(testAlumnus, "verify/enter/55")); !strings.Contains(r.Data.Content, "expired") {
		t.Errorf("Enter code at expiry = %q", r.Data.Content)
	}
}

func TestVerifyMailFailureKeepsAddressOut(t *testing.T) {
	h, v, m := verifyHarness(t)
	m.err = errors.New("550 5.1.1 <jane@amazon.com>: Recipient address rejected")
	h.do(slash(testAlumnus, "referrer", "verify", str("email", "jane@amazon.com")))
	if v.failure == "" || strings.Contains(v.failure, "jane@") {
		t.Errorf("recorded failure %q; want one without the address", v.failure)
	}
	if strings.Contains(h.log.String(), "jane@") {
		t.Errorf("the log has the address:\n%s", h.log.String())
	}
	r := h.do(guildButton(testAlumnus, "verify/enter/55"))
	if !strings.Contains(r.Data.Content, "couldn't be sent") || !strings.Contains(r.Data.Content, "Recipient address rejected") || strings.Contains(r.Data.Content, "jane@") {
		t.Errorf("Enter code after a failed mail = %q", r.Data.Content)
	}
}

func TestVerifyRefusals(t *testing.T) {
	h, _, m := verifyHarness(t)
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
