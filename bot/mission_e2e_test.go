package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// A referrer whose role is taken away after the offer reached them cannot
// accept it: the press is refused, the request moves on, they become
// pending and the trust log says so; with the role back, their next
// /referrer command makes them active again.
func TestAcceptChecksTheReferrerRoleAgain(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil)
	trustSetup(h)
	trustJoin(h, alice)
	trustJoin(h, bob)
	trustRequest(h, sam, trustJobURL)
	offer := h.waitDM(alice, trustOfferText) // alice ranks first

	h.dc.SetMemberRoles(guildID, alice)
	h.clock.Advance(2 * time.Minute) // past the one-minute role cache
	resp := h.press(alice, offer, "Accept")
	if !resp.Ephemeral || !strings.Contains(resp.Text(), "no longer hold the referrer role for this server") {
		t.Fatalf("Accept without the role = %q (ephemeral %v); want the ephemeral role refusal", resp.Text(), resp.Ephemeral)
	}
	h.waitDM(bob, trustOfferText)
	if st, via, _ := trustStatus(t, h, alice); st != "pending" || via != "" {
		t.Errorf("alice is %s via %q; want pending", st, via)
	}
	var n int
	if err := trustDB(t, h).QueryRow(`SELECT COUNT(*) FROM admin_actions WHERE action = 'role_lost' AND admin_id = '' AND target_id = ?`, alice).Scan(&n); err != nil || n != 1 {
		t.Errorf("role_lost actions = %d (%v); want 1", n, err)
	}
	if again := h.press(alice, offer, "Accept"); !strings.Contains(again.Text(), "moved on") {
		t.Errorf("second Accept = %q; want moved on", again.Text())
	}
	trustDrained(t, h)
	if n := h.countDMs(sam, "Good news"); n != 0 {
		t.Errorf("sam got %d accepted DMs; want none", n)
	}

	h.dc.SetMemberRoles(guildID, alice, refRoleID)
	h.run(alice, "referrer", "profile")
	if st, via, _ := trustStatus(t, h, alice); st != "active" || via != "role" {
		t.Errorf("alice after the role came back and a command is %s via %q; want active via role", st, via)
	}
}

// Decline asks why; "needs more detail" from two referrers tells the
// student once, with tips and an Edit request button that keeps the
// request's number; the reasons show in stats.
func TestDeclineThatTeaches(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil)
	trustSetup(h)
	trustJoin(h, alice)
	trustJoin(h, bob)
	trustJoin(h, carol)
	trustRequest(h, sam, trustJobURL)

	first := h.waitDM(alice, trustOfferText)
	declined := h.press(alice, first, "Decline")
	if !strings.Contains(declined.Text(), "goes to another referrer") || len(declined.Buttons()) != 5 {
		t.Fatalf("Decline = %q with %d buttons; want it moved on and 5 reasons", declined.Text(), len(declined.Buttons()))
	}
	for i, want := range []string{"No fitting opening on my side", "The request needs more detail", "I can't refer right now", "Other", "Skip"} {
		if got := declined.Buttons()[i].Label; got != want {
			t.Errorf("reason button %d = %q; want %q", i, got, want)
		}
	}
	noted := h.press(alice, declined.Message(), "The request needs more detail")
	if !strings.Contains(noted.Text(), "tips on what to add") {
		t.Errorf("needs detail = %q; want the student to get tips", noted.Text())
	}

	second := h.waitDM(bob, trustOfferText)
	d2 := h.press(bob, second, "Decline")
	if r := h.press(bob, d2.Message(), "The request needs more detail"); !strings.Contains(r.Text(), "already asked") {
		t.Errorf("second needs detail = %q; want the student already asked", r.Text())
	}
	tipDM := h.waitDM(sam, "asked for a little more detail")
	for _, leak := range []string{"<@" + alice + ">", "<@" + bob + ">", "alice", "bob"} {
		if strings.Contains(tipDM.Text(), leak) {
			t.Errorf("the student's DM names a referrer (%q):\n%s", leak, tipDM.Text())
		}
	}
	trustDrained(t, h)
	if n := trustSent(h, sam, "asked for a little more detail"); n != 1 {
		t.Errorf("needs-detail DMs to sam = %d; want 1", n)
	}

	// Edit request reopens the form with the current text and keeps the number.
	modal := h.press(sam, tipDM, "Edit request")
	if modal.Type != discordgo.InteractionResponseModal {
		t.Fatalf("Edit request = %v %q; want the modal", modal.Type, modal.Text())
	}
	if v, _ := modal.Field("intro"); v != trustIntroOK {
		t.Errorf("modal intro = %q; want the request's current intro", v)
	}
	better := trustIntroOK + " I also led a team of four that shipped a campus app used by 3,000 students."
	edited := trustSubmit(h, sam, modal, map[string]string{"job_url": trustJobURL, "role": "Software Development Engineer Intern",
		"intro": better, "resume_url": "https://drive.example.org/resume.pdf"})
	if !strings.Contains(edited.Text(), "is updated") || !strings.Contains(edited.Text(), "place in line") {
		t.Fatalf("edit = %q; want the request updated in place", edited.Text())
	}
	var intro string
	var id int64
	if err := trustDB(t, h).QueryRow(`SELECT id, intro FROM requests WHERE student_id = ?`, sam).Scan(&id, &intro); err != nil || intro != better || id != 1 {
		t.Errorf("request after the edit = #%d %q, %v; want #1 with the new intro", id, intro, err)
	}
	h.waitDM(carol, trustOfferText) // asked when bob declined, before the edit
	trustDrained(t, h)
	if n := trustSent(h, alice, trustOfferText) + trustSent(h, bob, trustOfferText); n != 2 {
		t.Errorf("offers to alice and bob = %d; want 2 (nobody asked twice after the edit)", n)
	}

	stats := h.run(admin, "referral-admin", "stats")
	if !strings.Contains(statsText(stats), "The request needs more detail: 2") {
		t.Errorf("stats lack the decline reasons:\n%s", statsText(stats))
	}
}

// "I can't refer right now" offers a week's pause.
func TestDeclineCantReferNowOffersPause(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil)
	trustSetup(h)
	trustJoin(h, alice)
	trustRequest(h, sam, trustJobURL)
	d := h.press(alice, h.waitDM(alice, trustOfferText), "Decline")
	cant := h.press(alice, d.Message(), "I can't refer right now")
	if len(cant.Buttons()) != 1 || cant.Buttons()[0].Label != "Pause me for 7 days" {
		t.Fatalf("can't refer now = %q with %v; want a pause button", cant.Text(), cant.Buttons())
	}
	paused := h.press(alice, cant.Message(), "Pause me for 7 days")
	if !strings.Contains(paused.Text(), "Paused until") {
		t.Errorf("pause = %q; want paused until a date", paused.Text())
	}
	if st, _, _ := trustStatus(t, h, alice); st != "paused" {
		t.Errorf("alice is %s; want paused", st)
	}
}

// statsText is an embed reply as one string.
func statsText(r interface{ Text() string }) string { return r.Text() }
