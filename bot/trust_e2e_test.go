package bot_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	_ "github.com/mattn/go-sqlite3"

	"github.com/referralbot/referralbot/discordtest"
	"github.com/referralbot/referralbot/referral"
)

// Who may refer (PRODUCT.md): the referrer role, pending referrers and
// admin approval, the role check before offers, reports by students.

const (
	trustJobURL     = "https://www.amazon.jobs/en/jobs/2977001/sde-intern-trust"
	trustOtherJob   = "https://www.amazon.jobs/en/jobs/2977002/sde-new-grad-trust"
	trustOfferText  = "is asking you for a referral"
	trustWaiting    = "so it's waiting"
	trustIntroOK    = "I'm a third-year CS student at State University. Last summer I interned at a logistics startup, where I built a Go service that cut route-planning time by 40%."
	trustNotAdmin   = "Only members with the Manage Server permission"
	trustPendingMsg = "pending until an admin approves you"
)

// trustSetup runs /referral-admin setup with the referrer role and the
// fallback channel.
func trustSetup(h *harness) {
	h.t.Helper()
	resp := h.run(admin, "referral-admin", "setup", opt("digest_channel", digestID), opt("fallback_channel", fallbackID), opt("referrer_role", refRoleID))
	if !strings.Contains(resp.Text(), "Saved") {
		h.t.Fatalf("setup = %q", resp.Text())
	}
}

// trustJoin runs /referrer join companies:Amazon and returns the reply text.
func trustJoin(h *harness, user string) string {
	h.t.Helper()
	return h.run(user, "referrer", "join", opt("companies", "Amazon")).Text()
}

// trustRequest has student submit a valid request at Amazon for jobURL.
func trustRequest(h *harness, student, jobURL string) string {
	h.t.Helper()
	modal := h.run(student, "referral", "request", opt("company", "Amazon"))
	if modal.Type != discordgo.InteractionResponseModal {
		h.t.Fatalf("/referral request = %v %q; want the modal", modal.Type, modal.Text())
	}
	resp := trustSubmit(h, student, modal, map[string]string{
		"job_url": jobURL, "role": "Software Development Engineer Intern", "intro": trustIntroOK,
		"resume_url": "https://drive.example.org/resume.pdf",
	})
	if !strings.Contains(resp.Text(), "is in") {
		h.t.Fatalf("request reply = %q; want the request accepted", resp.Text())
	}
	return resp.Text()
}

// trustSubmit submits a modal the bot opened and returns the bot's answer.
func trustSubmit(h *harness, user string, modal *discordtest.Response, values map[string]string) *discordtest.Response {
	h.t.Helper()
	ctx := h.ctx()
	in, err := h.dc.SubmitModal(ctx, discordtest.ModalSubmit{UserID: user, Modal: modal, Values: values})
	if err != nil {
		h.t.Fatalf("submit modal: %v", err)
	}
	resp, err := in.Answer(ctx)
	if err != nil {
		h.t.Fatalf("submit modal: no response: %v", err)
	}
	return resp
}

// trustStatus reads a referrer's status, how they became active and why
// they are paused straight from the database.
func trustStatus(t *testing.T, h *harness, user string) (status, via, reason string) {
	t.Helper()
	db := trustDB(t, h)
	err := db.QueryRow(`SELECT status, active_via, pause_reason FROM referrers WHERE guild_id = ? AND user_id = ?`, guildID, user).Scan(&status, &via, &reason)
	if err == sql.ErrNoRows {
		return "", "", ""
	}
	if err != nil {
		t.Fatalf("read referrer %s: %v", user, err)
	}
	return status, via, reason
}

// trustDB opens the bot's database read-only.
func trustDB(t *testing.T, h *harness) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+h.cfg.Database.Path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// trustNoOfferTo checks, once the outbox is empty, that user never got an offer.
func trustNoOfferTo(t *testing.T, h *harness, user string) {
	t.Helper()
	trustDrained(t, h)
	if n := trustSent(h, user, trustOfferText); n != 0 {
		t.Errorf("%s got %d offer DMs; want none\n%s", h.dc.Username(user), n, dmDump(h.dc.DMs(user)))
	}
}

// trustDrained waits until the outbox has nothing left to send.
func trustDrained(t *testing.T, h *harness) {
	t.Helper()
	eventually(t, "the outbox to drain", func() bool {
		c, err := h.bot.Counts(context.Background())
		return err == nil && c.Pending == 0
	})
}

// trustSent counts the DMs sent to user whose text, as sent, contained
// want; a button press that edits a DM later does not change it.
func trustSent(h *harness, user, want string) int {
	n := 0
	for _, e := range h.dc.Events() {
		if e.Kind == "dm" && e.UserID == user && e.Message != nil && strings.Contains(e.Message.Text(), want) {
			n++
		}
	}
	return n
}

func TestTrustRoleHolderActiveAtOnce(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil)
	trustSetup(h)
	if txt := trustJoin(h, alice); !strings.Contains(txt, "You're **active**") {
		t.Fatalf("join with the referrer role = %q; want active at once", txt)
	}
	if st, via, _ := trustStatus(t, h, alice); st != "active" || via != referral.ViaRole {
		t.Errorf("alice is %s via %q; want active via role", st, via)
	}
	trustRequest(h, sam, trustJobURL)
	offer := h.waitDM(alice, trustOfferText)
	if !hasEnabledButton(offer, "Accept") {
		t.Errorf("offer DM has no Accept button")
	}
	// The role was checked with Discord before the offer went out.
	checked := false
	for _, r := range h.dc.Requests() {
		if r.Method == "GET" && r.Path == "/guilds/"+guildID+"/members/"+alice {
			checked = true
		}
	}
	if !checked {
		t.Errorf("no GET /guilds/%s/members/%s before the offer; the role was not checked", guildID, alice)
	}
}

func TestTrustPendingReferrerApproval(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil)
	trustSetup(h)
	h.dc.SetMemberRoles(guildID, carol) // carol doesn't hold the referrer role
	if txt := trustJoin(h, carol); !strings.Contains(txt, trustPendingMsg) {
		t.Fatalf("join without the role = %q; want pending until approved", txt)
	}

	// A pending referrer gets no offers: the request waits.
	if txt := trustRequest(h, sam, trustJobURL); !strings.Contains(txt, "it's waiting") {
		t.Errorf("request reply = %q; want it waiting", txt)
	}
	trustNoOfferTo(t, h, carol)

	// A member without Manage Server can't approve, whatever Discord shows them.
	resp := h.run(tia, "referral-admin", "approve", opt("user", carol))
	if !resp.Ephemeral || !strings.Contains(resp.Text(), trustNotAdmin) {
		t.Errorf("approve by a student = %q; want an ephemeral refusal", resp.Text())
	}
	if st, _, _ := trustStatus(t, h, carol); st != "pending" {
		t.Errorf("after a refused approve carol is %s; want pending", st)
	}
	trustNoOfferTo(t, h, carol)

	// An admin's approve releases the waiting request.
	resp = h.run(admin, "referral-admin", "approve", opt("user", carol))
	if !strings.Contains(resp.Text(), "is approved") {
		t.Fatalf("approve by an admin = %q", resp.Text())
	}
	offer := h.waitDM(carol, trustOfferText)
	if !strings.Contains(offer.Text(), "Software Development Engineer Intern") {
		t.Errorf("carol's offer = %q; want sam's request", offer.Text())
	}
	if st, via, _ := trustStatus(t, h, carol); st != "active" || via != referral.ViaAdmin {
		t.Errorf("carol is %s via %q; want active via admin", st, via)
	}
	list := h.run(admin, "referral-admin", "referrers").Text()
	for _, want := range []string{"<@" + carol + "> · **active** (approved)", "<@" + admin + "> approved <@" + carol + ">", "Trust log"} {
		if !strings.Contains(list, want) {
			t.Errorf("/referral-admin referrers lacks %q:\n%s", want, list)
		}
	}
}

func TestTrustRemoveHandsOffersOn(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil)
	trustSetup(h)
	trustJoin(h, alice)
	trustJoin(h, bob)
	trustRequest(h, sam, trustJobURL)
	offer := h.waitDM(alice, trustOfferText) // alice ranks first (same load, lower id)

	resp := h.run(admin, "referral-admin", "remove", opt("user", alice))
	if !strings.Contains(resp.Text(), "Removed") {
		t.Fatalf("remove = %q", resp.Text())
	}
	h.waitDM(bob, trustOfferText)
	if late := h.press(alice, offer, "Accept"); !strings.Contains(late.Text(), "moved on") {
		t.Errorf("alice's Accept after removal = %q; want moved on", late.Text())
	}
	list := h.run(admin, "referral-admin", "referrers").Text()
	if strings.Contains(list, "<@"+alice+"> ·") || !strings.Contains(list, "<@"+admin+"> removed <@"+alice+">") {
		t.Errorf("referrers after remove:\n%s\nwant alice gone from the list and the removal in the log", list)
	}
}

func TestTrustRoleLostNoNewOffers(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil)
	trustSetup(h)
	trustJoin(h, alice)
	trustJoin(h, bob)
	h.dc.SetMemberRoles(guildID, alice) // alice loses the referrer role

	// alice would rank first; the check before delivery finds the role gone.
	trustRequest(h, sam, trustJobURL)
	h.waitDM(bob, trustOfferText)
	h.waitDM(alice, "no longer have this server's referrer role")
	trustNoOfferTo(t, h, alice)
	if st, via, _ := trustStatus(t, h, alice); st != "pending" || via != "" {
		t.Errorf("alice is %s via %q; want pending", st, via)
	}
	db := trustDB(t, h)
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM admin_actions WHERE action = 'role_lost' AND admin_id = '' AND target_id = ?`, alice).Scan(&n); err != nil || n != 1 {
		t.Errorf("role_lost actions by the bot = %d (%v); want 1", n, err)
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM offers WHERE referrer_user_id = ? AND state = 'cancelled' AND reason = 'undelivered'`, alice).Scan(&n); err != nil || n != 1 {
		t.Errorf("alice has %d withdrawn undelivered offers (%v); want 1", n, err)
	}

	// A second request: alice is pending now and never asked.
	trustRequest(h, tia, trustOtherJob)
	eventually(t, "bob's second offer", func() bool { return h.countDMs(bob, trustOfferText) == 2 })
	trustNoOfferTo(t, h, alice)

	list := h.run(admin, "referral-admin", "referrers").Text()
	for _, want := range []string{"<@" + alice + "> · **pending**", "the bot: <@" + alice + "> lost the referrer role"} {
		if !strings.Contains(list, want) {
			t.Errorf("/referral-admin referrers lacks %q:\n%s", want, list)
		}
	}
}

func TestTrustRoleLostRequestWaits(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil)
	trustSetup(h)
	trustJoin(h, alice)
	h.dc.SetMemberRoles(guildID, alice)
	trustRequest(h, sam, trustJobURL)
	h.waitDM(sam, trustWaiting)
	trustNoOfferTo(t, h, alice)

	// Approved by an admin, alice is trusted without the role.
	h.run(admin, "referral-admin", "approve", opt("user", alice))
	h.waitDM(alice, trustOfferText)
}

func TestTrustRoleCheckedAgainAfterCache(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil)
	trustSetup(h)
	trustJoin(h, alice)
	trustRequest(h, sam, trustJobURL)
	h.waitDM(alice, trustOfferText)

	h.dc.SetMemberRoles(guildID, alice)
	h.clock.Advance(2 * time.Minute) // past the one-minute cache of alice's roles
	trustRequest(h, tia, trustOtherJob)
	h.waitDM(tia, trustWaiting)
	trustDrained(t, h)
	if n := h.countDMs(alice, trustOfferText); n != 1 {
		t.Errorf("alice got %d offers; want only the one from before she lost the role", n)
	}
	// The offer she had already received went back to matching too.
	h.waitDM(sam, trustWaiting)
	if st, _, _ := trustStatus(t, h, alice); st != "pending" {
		t.Errorf("alice is %s; want pending", st)
	}
}

func TestTrustReportPausesReferrer(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil)
	trustSetup(h)
	trustJoin(h, alice)
	trustJoin(h, bob)
	trustRequest(h, sam, trustJobURL)
	offer := h.waitDM(alice, trustOfferText)
	h.press(alice, offer, "Accept")
	accepted := h.waitDM(sam, "agreed to refer you")
	if !hasEnabledButton(accepted, "Report") {
		t.Fatalf("accepted DM has no Report button: %v", accepted.Buttons())
	}

	ask := h.press(sam, accepted, "Report")
	if !ask.Ephemeral || !strings.Contains(ask.Text(), "Report <@"+alice+">") {
		t.Fatalf("Report = %q; want an ephemeral question about alice", ask.Text())
	}
	if got := h.press(sam, ask.Message(), "Cancel").Text(); !strings.Contains(got, "Not reported") {
		t.Errorf("Cancel = %q", got)
	}
	if st, _, _ := trustStatus(t, h, alice); st != "active" {
		t.Fatalf("after Cancel alice is %s; want active", st)
	}

	ask = h.press(sam, accepted, "Report")
	done := h.press(sam, ask.Message(), "Yes, report")
	if !strings.Contains(done.Text(), "Reported") || !strings.Contains(done.Text(), "another referrer") {
		t.Errorf("confirm = %q; want reported and the request moving on", done.Text())
	}
	if st, _, reason := trustStatus(t, h, alice); st != "paused" || reason != referral.PauseReported {
		t.Errorf("alice is %s (%q); want paused, reported", st, reason)
	}

	// The admins are told in the fallback channel, nobody is pinged.
	post, err := h.dc.WaitChannelMessage(h.ctx(), fallbackID, func(m *discordtest.Message) bool { return strings.Contains(m.Text(), "reported") })
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<@" + sam + "> reported <@" + alice + ">", "#"} {
		if !strings.Contains(post.Text(), want) {
			t.Errorf("fallback post %q lacks %q", post.Text(), want)
		}
	}
	if am := post.AllowedMentions; am == nil || am.Parse == nil || len(am.Parse) != 0 || len(am.Users) != 0 || len(am.Roles) != 0 {
		t.Errorf("fallback post allowed_mentions = %+v; want no pings", am)
	}

	// The request goes to bob; new requests too; alice gets nothing.
	h.waitDM(bob, trustOfferText)
	trustRequest(h, tia, trustOtherJob)
	eventually(t, "bob's second offer", func() bool { return h.countDMs(bob, trustOfferText) == 2 })
	trustDrained(t, h)
	if n := trustSent(h, alice, trustOfferText); n != 1 {
		t.Errorf("alice got %d offers; want only the one before the report", n)
	}

	if got := h.run(alice, "referrer", "profile").Text(); !strings.Contains(got, "after a student's report") {
		t.Errorf("profile of a reported referrer = %q; want it to say why they are paused", got)
	}
	// alice can't end the pause herself; a second report changes nothing.
	if got := h.run(alice, "referrer", "resume").Text(); !strings.Contains(got, "until a server admin") {
		t.Errorf("resume by a reported referrer = %q; want a refusal", got)
	}
	ask = h.press(sam, accepted, "Report")
	if got := h.press(sam, ask.Message(), "Yes, report").Text(); !strings.Contains(got, "already reported") {
		t.Errorf("second confirm = %q; want already reported", got)
	}
	list := h.run(admin, "referral-admin", "referrers").Text()
	for _, want := range []string{"<@" + alice + "> · **paused: reported**", "reported by <@" + sam + ">", "<@" + sam + "> reported <@" + alice + ">"} {
		if !strings.Contains(list, want) {
			t.Errorf("/referral-admin referrers lacks %q:\n%s", want, list)
		}
	}
	if strings.Index(list, "<@"+alice+"> ·") > strings.Index(list, "<@"+bob+"> ·") {
		t.Errorf("the reported referrer is not listed first:\n%s", list)
	}

	// An admin's approve resolves it.
	if got := h.run(admin, "referral-admin", "approve", opt("user", alice)).Text(); !strings.Contains(got, "is approved") {
		t.Fatalf("approve of a reported referrer = %q", got)
	}
	if st, via, reason := trustStatus(t, h, alice); st != "active" || via != referral.ViaAdmin || reason != "" {
		t.Errorf("after approve alice is %s via %q (%q); want active via admin", st, via, reason)
	}
	list = h.run(admin, "referral-admin", "referrers").Text()
	if strings.Contains(list, "reported by") || !strings.Contains(list, "report cleared") {
		t.Errorf("after approve the list still shows an open report or lacks the clearing:\n%s", list)
	}
}
