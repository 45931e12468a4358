package commands

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

func manyReferrers(n int) referral.TrustOverview {
	var ov referral.TrustOverview
	for k := range n {
		ref := referral.Referrer{GuildID: testGuild, UserID: itoa(int64(100000 + k)), Status: referral.Active, Capacity: 4,
			Companies: []referral.Company{{Name: strings.Repeat("Company ", 12)}}, VerifiedDomain: "example.com"}
		row := referral.TrustRow{ReferrerRow: referral.ReferrerRow{Referrer: ref, Stats: referral.ReferrerStats{LastActivity: testNow}}, ActiveVia: referral.ViaRole}
		if k == 150 {
			row.Referrer.Status, row.PauseReason = referral.Paused, referral.PauseReported
			row.OpenReports = []referral.Report{{RequestID: 42, ReporterID: testStudent, ReferrerID: ref.UserID, At: testNow}}
		}
		ov.Rows = append(ov.Rows, row)
	}
	for k := range referral.MaxActionsShown {
		ov.Actions = append(ov.Actions, referral.AdminAction{ActorID: testAdmin, Action: referral.ActionApprove, TargetID: itoa(int64(100000 + k)), At: testNow})
	}
	return ov
}

func TestTrustReferrerPagesFitAndListEveryone(t *testing.T) {
	ov := manyReferrers(200)
	pages := referrerPages(ov, time.UTC)
	if len(pages) < 2 {
		t.Fatalf("%d pages for 200 referrers", len(pages))
	}
	all := strings.Join(pages, "\n")
	for p, page := range pages {
		if n := runeLen(page); n > maxContent {
			t.Errorf("page %d has %d characters; want <= %d", p+1, n, maxContent)
		}
		if !strings.Contains(page, "page "+itoa(int64(p+1))+" of "+itoa(int64(len(pages)))) {
			t.Errorf("page %d lacks its number", p+1)
		}
	}
	for _, row := range ov.Rows {
		if n := strings.Count(all, mention(row.Referrer.UserID)+" · **"); n != 1 {
			t.Fatalf("%s listed %d times; want once", row.Referrer.UserID, n)
		}
	}
	if !strings.HasPrefix(strings.SplitN(pages[0], "\n", 2)[1], mention("100150")+" · **paused: reported**") {
		t.Errorf("the reported referrer is not first:\n%s", pages[0])
	}
	for _, want := range []string{"reported by <@" + testStudent + "> about request #42", "verified @example.com", "(referrer role)", "Trust log", "<@" + testAdmin + "> approved <@100099>", "more on the next pages"} {
		if !strings.Contains(all, want) {
			t.Errorf("pages lack %q", want)
		}
	}
}

func TestTrustActionLines(t *testing.T) {
	at := time.Date(2026, 11, 25, 18, 5, 0, 0, time.UTC)
	for _, tt := range []struct {
		a    referral.AdminAction
		want string
	}{
		{referral.AdminAction{ActorID: "1", Action: referral.ActionApprove, TargetID: "2", Detail: "report cleared", At: at}, "25 Nov 2026 18:05 · <@1> approved <@2> (report cleared)"},
		{referral.AdminAction{ActorID: "1", Action: referral.ActionRemove, TargetID: "2", At: at}, "<@1> removed <@2>"},
		{referral.AdminAction{Action: referral.ActionRoleLost, TargetID: "2", Detail: "offer of request #3 withdrawn", At: at}, "the bot: <@2> lost the referrer role, now pending (offer of request #3 withdrawn)"},
		{referral.AdminAction{ActorID: "5", Action: referral.ActionReport, TargetID: "2", Detail: "request #3", At: at}, "<@5> reported <@2> (request #3)"},
		{referral.AdminAction{Action: referral.ActionVerified, TargetID: "2", Detail: "amazon.com", At: at}, "<@2> verified @amazon.com\n"},
		{referral.AdminAction{Action: referral.ActionReport, TargetID: "2", At: at}, "someone reported <@2>"},
	} {
		if got := actionLine(tt.a, time.UTC); !strings.Contains(got, tt.want) {
			t.Errorf("actionLine(%s) = %q; want %q", tt.a.Action, got, tt.want)
		}
	}
}

func adminButton(perms int64, customID string) *discordgo.Interaction {
	i := guildButton(testAdmin, customID)
	i.Member.Permissions = perms
	return i
}

func TestTrustReferrersPageButtons(t *testing.T) {
	h := newHarness(t)
	for k := range 40 {
		h.join(itoa(int64(1000+k)), true, strings.Repeat("Company ", 6)+itoa(int64(k)))
	}
	resp := h.do(adminCall(discordgo.PermissionManageGuild, "referrers"))
	mustEphemeral(t, resp)
	btns := buttons(resp.Data.Components)
	if len(btns) != 2 || btns[0].Label != "Previous" || !btns[0].Disabled || btns[1].Label != "Next" || btns[1].Disabled || btns[1].CustomID != "admin/referrers/2" {
		t.Fatalf("first page buttons = %+v; want Previous disabled, Next to page 2", btns)
	}
	for _, b := range btns {
		if _, _, err := parseCustomID(b.CustomID); err != nil {
			t.Errorf("button %q custom_id %q does not parse", b.Label, b.CustomID)
		}
	}

	next := h.do(adminButton(discordgo.PermissionManageGuild, "admin/referrers/2"))
	if next.Type != discordgo.InteractionResponseUpdateMessage || !strings.Contains(next.Data.Content, "page 2 of") {
		t.Fatalf("Next = type %d %q; want the message updated to page 2", next.Type, next.Data.Content)
	}
	mustNotPing(t, next.Data.AllowedMentions)
	if b := buttons(next.Data.Components); len(b) != 2 || b[0].Disabled || b[0].CustomID != "admin/referrers/1" {
		t.Errorf("page 2 buttons = %+v; want Previous to page 1", b)
	}
	// A page past the end shows the last one, with Next disabled.
	last := h.do(adminButton(discordgo.PermissionManageGuild, "admin/referrers/999"))
	if b := buttons(last.Data.Components); len(b) != 2 || !b[1].Disabled {
		t.Errorf("past the end: buttons %+v; want Next disabled", b)
	}

	// Only admins may page, and the store is not asked (noStore panics).
	h.router.Store = noStore{}
	refused := h.do(adminButton(discordgo.PermissionSendMessages, "admin/referrers/2"))
	mustEphemeral(t, refused)
	if !strings.Contains(refused.Data.Content, "Manage Server") || h.lastResult() != "button admin/referrers refused" {
		t.Errorf("non-admin Next = %q (%s); want a refusal", refused.Data.Content, h.lastResult())
	}
}

func TestTrustReportAskConfirm(t *testing.T) {
	h := newHarness(t)
	h.join("302", true, "Amazon") // the next referrer after a report
	req := h.accepted()
	id := itoa(req.ID)
	ask := h.do(dmButton(testStudent, "report/ask/"+id))
	mustEphemeral(t, ask)
	if got := buttonLabels(ask.Data.Components); got != "Yes, report,Cancel" {
		t.Errorf("ask buttons = %q", got)
	}
	if !strings.Contains(ask.Data.Content, "Report <@"+testAlumnus+">") || !strings.Contains(ask.Data.Content, "another referrer") {
		t.Errorf("ask = %q", ask.Data.Content)
	}
	for _, cid := range []string{"report/ask/" + id, "report/confirm/" + id} {
		r := h.do(dmButton(testAlumnus, cid))
		mustEphemeral(t, r)
		if !strings.Contains(r.Data.Content, "isn't yours") {
			t.Errorf("%s by the referrer = %q; want a refusal", cid, r.Data.Content)
		}
	}
	if r := h.do(dmButton(testStudent, "report/cancel/"+id)); r.Type != discordgo.InteractionResponseUpdateMessage || !strings.Contains(r.Data.Content, "Not reported") {
		t.Errorf("cancel = %q", r.Data.Content)
	}
	done := h.do(dmButton(testStudent, "report/confirm/"+id))
	if done.Type != discordgo.InteractionResponseUpdateMessage || !strings.Contains(done.Data.Content, "Reported") ||
		!strings.Contains(done.Data.Content, "goes to another referrer") || len(buttons(done.Data.Components)) != 0 {
		t.Errorf("confirm = type %d %q", done.Type, done.Data.Content)
	}
	mustNotPing(t, done.Data.AllowedMentions)
	if again := h.do(dmButton(testStudent, "report/confirm/"+id)); !strings.Contains(again.Data.Content, "already reported") {
		t.Errorf("second confirm = %q", again.Data.Content)
	}
	row, err := h.store.ReferrerProfile(context.Background(), testGuild, testAlumnus)
	if err != nil || row.Referrer.Status != referral.Paused || row.Referrer.PauseReason != referral.PauseReported {
		t.Errorf("reported referrer = %+v, %v; want paused by the report", row.Referrer, err)
	}
	if resp := h.do(slash(testAlumnus, "referrer", "resume")); !strings.Contains(resp.Data.Content, "only an admin can end this pause") {
		t.Errorf("resume by a reported referrer = %q; want a refusal", resp.Data.Content)
	}

	// A request nobody accepted has no referrer to report.
	waiting := h.request("202", "https://amazon.jobs/en/jobs/9")
	h.do(slash("202", "referral", "withdraw", num("request", float64(waiting.ID))))
	if r := h.do(dmButton("202", "report/ask/"+itoa(waiting.ID))); !strings.Contains(r.Data.Content, "this one has none") {
		t.Errorf("report of a request without a referrer = %q", r.Data.Content)
	}
}

func TestTrustNoticesRender(t *testing.T) {
	for _, kind := range []referral.NoticeKind{referral.NoticeReport, referral.NoticeRoleLost} {
		n := hostileNotice(kind)
		m, err := RenderNotice(n, time.UTC)
		if err != nil {
			t.Fatalf("RenderNotice(%s): %v", kind, err)
		}
		mustNotPing(t, m.AllowedMentions)
		if runeLen(m.Content) > maxContent || m.Content == "" {
			t.Errorf("%s: %d characters", kind, runeLen(m.Content))
		}
	}
	m, _ := RenderNotice(referral.Notice{Kind: referral.NoticeReport, RequestID: 9, StudentID: "1", ReferrerID: "2", Company: "Amazon", Role: "SDE"}, time.UTC)
	if !strings.Contains(m.Content, "<@1> reported <@2> about request #9") {
		t.Errorf("report post = %q", m.Content)
	}
}
