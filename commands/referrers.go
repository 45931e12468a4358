package commands

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

// pageBudget is the room for one page's lines; the header and footer
// take the rest of the message's maxContent.
const pageBudget = maxContent - 150

// referrersCommand is /referral-admin referrers: every referrer with status,
// companies, counts, last activity and verified domain, open reports, and
// the trust log, in pages with Previous and Next (referrersPage, pages
// counted from 1).
func referrersCommand() subcommand {
	return subcommand{def: subcommandDef("referrers", "Referrers of this server with status and counts"), run: (*Router).adminReferrers}
}

func (r *Router) adminReferrers(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	return r.referrersPage(ctx, c, 1, false)
}

// adminReferrersPage is the Previous and Next buttons of the list.
func (r *Router) adminReferrersPage(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	return r.referrersPage(ctx, c, int(min(c.id.ID, 1<<20)), true)
}

func (r *Router) referrersPage(ctx context.Context, c *call, page int, edit bool) (*discordgo.InteractionResponse, error) {
	ov, err := r.Store.ReferrerOverview(ctx, c.guildID)
	if err != nil {
		return nil, err
	}
	if len(ov.Rows) == 0 && len(ov.Actions) == 0 {
		if edit {
			return update(c.i, "No referrers any more. Alumni join with /referrer join."), nil
		}
		return ephemeral("No referrers yet. Alumni join with /referrer join."), nil
	}
	pages := referrerPages(ov, r.location())
	page = max(1, min(page, len(pages)))
	var rows []discordgo.MessageComponent
	if len(pages) > 1 {
		prev := button("Previous", pageID(max(1, page-1)), discordgo.SecondaryButton)
		next := button("Next", pageID(min(len(pages), page+1)), discordgo.SecondaryButton)
		if page == 1 {
			prev = disabled(prev)
			prev.CustomID = pageID(page) // still unique: Next carries page+1
		}
		if page == len(pages) {
			next = disabled(next)
			next.CustomID = pageID(page)
		}
		rows = append(rows, row(prev, next))
	}
	if edit {
		return update(c.i, pages[page-1], rows...), nil
	}
	return ephemeral(pages[page-1], rows...), nil
}

func pageID(page int) string { return referrersPage.with(int64(page)) }

// trustOrder puts first who needs an admin: reported, then pending.
func trustOrder(row referral.TrustRow) int {
	switch {
	case row.PauseReason == referral.PauseReported || len(row.OpenReports) > 0:
		return 0
	case row.Referrer.Status == referral.Pending:
		return 1
	case row.Referrer.Status == referral.Active:
		return 2
	}
	return 3
}

// referrerPages lays the list out in pages of at most maxContent
// characters: referrers first, then the trust log, newest first.
func referrerPages(ov referral.TrustOverview, loc *time.Location) []string {
	rows := append([]referral.TrustRow(nil), ov.Rows...)
	sort.SliceStable(rows, func(i, j int) bool { return trustOrder(rows[i]) < trustOrder(rows[j]) })

	type block struct {
		text     string
		referrer bool
	}
	var blocks []block
	for _, row := range rows {
		blocks = append(blocks, block{text: referral.Truncate(trustLine(row, loc), pageBudget), referrer: true})
	}
	if len(ov.Actions) > 0 {
		blocks = append(blocks, block{text: "\n**Trust log** (newest first)\n"})
		for _, a := range ov.Actions {
			blocks = append(blocks, block{text: actionLine(a, loc)})
		}
	}

	// Pack greedily, then write each page's header and footer.
	var bodies [][]block
	var cur []block
	size := 0
	for _, b := range blocks {
		n := runeLen(b.text)
		if size+n > pageBudget && len(cur) > 0 {
			bodies = append(bodies, cur)
			cur, size = nil, 0
		}
		cur = append(cur, b)
		size += n
	}
	bodies = append(bodies, cur)

	pages := make([]string, len(bodies))
	shown := 0
	for p, body := range bodies {
		var b strings.Builder
		fmt.Fprintf(&b, "**Referrers (%d)**", len(rows))
		if len(bodies) > 1 {
			fmt.Fprintf(&b, " · page %d of %d", p+1, len(bodies))
		}
		b.WriteString("\n")
		for _, blk := range body {
			b.WriteString(blk.text)
			if blk.referrer {
				shown++
			}
		}
		if more := len(rows) - shown; more > 0 {
			fmt.Fprintf(&b, "…and %d more on the next pages (Next).", more)
		} else if p < len(bodies)-1 {
			b.WriteString("…the trust log continues on the next page (Next).")
		}
		pages[p] = referral.Truncate(strings.TrimRight(b.String(), "\n"), maxContent)
	}
	return pages
}

// trustLine is one referrer: status and how they became active, verified
// domain, companies, counts, last activity, and open reports.
func trustLine(row referral.TrustRow, loc *time.Location) string {
	ref, st := row.Referrer, row.Stats
	status := "**" + string(ref.Status) + "**"
	switch {
	case row.PauseReason == referral.PauseReported:
		status = "**paused: reported**"
	case ref.Status == referral.Active && row.ActiveVia == referral.ViaRole:
		status += " (referrer role)"
	case ref.Status == referral.Active && row.ActiveVia == referral.ViaAdmin:
		status += " (approved)"
	case ref.Status == referral.Paused && !ref.PausedUntil.IsZero():
		status += " until " + day(ref.PausedUntil, loc)
	}
	parts := []string{mention(ref.UserID), status}
	if ref.VerifiedDomain != "" {
		parts = append(parts, "verified @"+ref.VerifiedDomain)
	}
	parts = append(parts,
		referral.Truncate(companyNames(ref.Companies), 80),
		fmt.Sprintf("%d/%d used", st.UsedInWindow, ref.Capacity),
		fmt.Sprintf("asked %d, accepted %d, submitted %d, job offers %d", st.Offered, st.Accepted, st.Submitted, st.Offers))
	if !st.LastActivity.IsZero() {
		parts = append(parts, "last active "+day(st.LastActivity, loc))
	}
	line := strings.Join(parts, " · ") + "\n"
	for i, rep := range row.OpenReports {
		if i == 3 {
			line += "  ⚠ and " + plural(len(row.OpenReports)-i, "more open report", "more open reports") + "\n"
			break
		}
		line += fmt.Sprintf("  ⚠ reported by %s about request #%d on %s: open until you approve or remove them\n",
			mention(rep.ReporterID), rep.RequestID, day(rep.At, loc))
	}
	return line
}

// actionLine is one line of the trust log: when, who, what.
func actionLine(a referral.AdminAction, loc *time.Location) string {
	when := a.At.In(loc).Format("2 Jan 2006 15:04")
	var what string
	switch a.Action {
	case referral.ActionApprove:
		what = fmt.Sprintf("%s approved %s", mention(a.ActorID), mention(a.TargetID))
	case referral.ActionRemove:
		what = fmt.Sprintf("%s removed %s", mention(a.ActorID), mention(a.TargetID))
	case referral.ActionRoleLost:
		what = fmt.Sprintf("the bot: %s lost the referrer role, now pending", mention(a.TargetID))
	case referral.ActionReport:
		what = fmt.Sprintf("%s reported %s", mention(a.ActorID), mention(a.TargetID))
	case referral.ActionVerified:
		what = fmt.Sprintf("%s verified @%s", mention(a.TargetID), a.Detail)
		a.Detail = ""
	default:
		what = fmt.Sprintf("%s: %s %s", mention(a.ActorID), a.Action, mention(a.TargetID))
	}
	if a.Detail != "" {
		what += " (" + referral.Truncate(a.Detail, 100) + ")"
	}
	return when + " · " + what + "\n"
}
