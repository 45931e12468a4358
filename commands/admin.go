package commands

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

// adminPermissions are the permissions that allow /referral-admin.
const adminPermissions = discordgo.PermissionManageGuild | discordgo.PermissionAdministrator

// adminOnly checks the member's permissions before h runs. Discord hides
// the command from others by default_member_permissions, but a server can
// override that, so the handler decides again.
func adminOnly(h handler) handler {
	return func(r *Router, ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
		if c.guildID == "" || c.i.Member == nil {
			return nil, refusal("/referral-admin works in a server only.")
		}
		if c.i.Member.Permissions&adminPermissions == 0 {
			return nil, refusal("Only members with the Manage Server permission can use /referral-admin.")
		}
		return h(r, ctx, c)
	}
}

// setupCommand is /referral-admin setup. It replaces all three settings, so
// the reply shows exactly what is in effect.
func setupCommand() subcommand {
	return subcommand{
		def: subcommandDef("setup", "Choose the digest channel, DM fallback channel and referrer role",
			channelOption("digest_channel", "Where the weekly digest is posted", true),
			channelOption("fallback_channel", "Where to ping members whose DMs are closed", false),
			&discordgo.ApplicationCommandOption{
				Type: discordgo.ApplicationCommandOptionRole, Name: "referrer_role",
				Description: "Members with this role are trusted referrers at once",
			},
		),
		run: (*Router).adminSetup,
	}
}

func (r *Router) adminSetup(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	s := referral.GuildSettings{
		GuildID:           c.guildID,
		DigestChannelID:   c.opts.string("digest_channel"),
		FallbackChannelID: c.opts.string("fallback_channel"),
		ReferrerRoleID:    c.opts.string("referrer_role"),
	}
	if s.DigestChannelID == "" {
		return nil, refusal("Choose the channel for the weekly digest in digest_channel.")
	}
	if err := r.Store.SetupGuild(ctx, s); err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("Saved.\n")
	fmt.Fprintf(&b, "Weekly digest: %s. Nothing is posted now; the digest comes on schedule, or at once with /referral-admin digest-now.\n", channelMention(s.DigestChannelID))
	if s.FallbackChannelID != "" {
		fmt.Fprintf(&b, "DM fallback: members whose DMs are closed are pinged in %s.\n", channelMention(s.FallbackChannelID))
	} else {
		b.WriteString("DM fallback: none, so members whose DMs are closed can't be reached (counted as undeliverable in /referral-admin stats).\n")
	}
	if s.ReferrerRoleID != "" {
		fmt.Fprintf(&b, "Referrer role: members with %s are active as soon as they join; others wait for /referral-admin approve.", roleMention(s.ReferrerRoleID))
	} else {
		b.WriteString("Referrer role: none, so every new referrer is pending until you approve them with /referral-admin approve.")
	}
	return ephemeral(b.String()), nil
}

// approveCommand is /referral-admin approve user:.
func approveCommand() subcommand {
	return subcommand{
		def: subcommandDef("approve", "Make a pending referrer active", userOption("The referrer to approve")),
		run: (*Router).adminApprove, topic: aboutApprove,
	}
}

func (r *Router) adminApprove(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	userID := c.opts.string("user")
	if userID == "" {
		return nil, refusal("Choose the referrer to approve in the user option.")
	}
	ref, err := r.Store.ApproveReferrer(ctx, c.guildID, userID, c.userID)
	if err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("%s is approved as a referrer for %s.", mention(userID), referral.Truncate(companyNames(ref.Companies), 500))
	if ref.Status == referral.Paused {
		msg += " They're paused right now, so offers start when they resume."
	} else {
		msg += " Waiting requests for these companies can now go to them."
	}
	return ephemeral(msg), nil
}

// removeCommand is /referral-admin remove user:.
func removeCommand() subcommand {
	return subcommand{
		def: subcommandDef("remove", "End a referrer's profile; their open offers move on", userOption("The referrer to remove")),
		run: (*Router).adminRemove, topic: aboutRemove,
	}
}

func (r *Router) adminRemove(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	userID := c.opts.string("user")
	if userID == "" {
		return nil, refusal("Choose the referrer to remove in the user option.")
	}
	if err := r.Store.RemoveReferrer(ctx, c.guildID, userID, c.userID); err != nil {
		return nil, err
	}
	return ephemeral(fmt.Sprintf("Removed %s's referrer profile. Offers that were waiting for their answer go to the next referrer.", mention(userID))), nil
}

// digestNowCommand is /referral-admin digest-now.
func digestNowCommand() subcommand {
	return subcommand{def: subcommandDef("digest-now", "Post this week's digest now"), run: (*Router).adminDigestNow, slow: true}
}

func (r *Router) adminDigestNow(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	const setupFirst = "Run /referral-admin setup first to choose the digest channel."
	s, err := r.Store.GuildSettings(ctx, c.guildID)
	if errors.Is(err, referral.ErrNotFound) {
		return nil, refusal(setupFirst)
	}
	if err != nil {
		return nil, err
	}
	if s.DigestChannelID == "" {
		return nil, refusal(setupFirst)
	}
	if _, err := r.Store.PostDigestNow(ctx, c.guildID, r.now()); err != nil {
		return nil, err
	}
	return ephemeral("Posted this week's digest to " + channelMention(s.DigestChannelID) + " (it shows up in a moment). It counts as this week's digest, so the scheduled one won't post again."), nil
}

// statsCommand is /referral-admin stats.
func statsCommand() subcommand {
	return subcommand{def: subcommandDef("stats", "Referral numbers for this server"), run: (*Router).adminStats}
}

func (r *Router) adminStats(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	st, err := r.Store.Stats(ctx, c.guildID, r.now())
	if err != nil {
		return nil, err
	}
	w := st.Week
	fields := digestLabels(w)
	median := "none in these 7 days"
	if w.MedianAccept > 0 {
		median = humanDuration(w.MedianAccept)
	}
	fields = append(fields,
		&discordgo.MessageEmbedField{Name: "Median time to accept", Value: median, Inline: true},
		&discordgo.MessageEmbedField{Name: "Referrers", Value: fmt.Sprintf("%d active · %d pending · %d paused",
			st.Referrers.Active, st.Referrers.Pending, st.Referrers.Paused), Inline: true},
		&discordgo.MessageEmbedField{Name: "Undeliverable messages", Value: strconv.Itoa(st.Undeliverable) +
			" (DMs closed and no fallback channel)", Inline: true},
		&discordgo.MessageEmbedField{Name: "All time", Value: totalsLine(w.Total)},
	)
	if reasons, err := r.Store.DeclineReasonCounts(ctx, c.guildID); err == nil && len(reasons) > 0 {
		fields = append(fields, &discordgo.MessageEmbedField{Name: "Why referrers declined (all time)", Value: declineReasonsLine(reasons)})
	}
	desc := companyRows(st.Companies)
	if wanted := wantedLine(w.Wanted); wanted != "" {
		desc += "\n\n" + wanted
	}
	return ephemeralEmbed("", &discordgo.MessageEmbed{
		Title:       "Referral stats, " + periodTitle(w, r.location()),
		Description: desc,
		Fields:      fields,
	}), nil
}

// companyRows is one line per company, within the embed description limit.
func companyRows(list []referral.CompanyStats) string {
	if len(list) == 0 {
		return "No companies yet."
	}
	var b strings.Builder
	b.WriteString("**By company**\n")
	for n, cs := range list {
		line := fmt.Sprintf("%s: %s · %d waiting · %d open · %d submitted\n",
			referral.Truncate(cs.Company, maxShortShown), plural(cs.Referrers, "referrer", "referrers"), cs.Waiting, cs.Open, cs.Submitted)
		if b.Len()+len(line)+600 > maxEmbedDesc { // room for the wanted line
			fmt.Fprintf(&b, "…and %d more", len(list)-n)
			break
		}
		b.WriteString(line)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// exportHeader is the CSV's first row; no resume links, no intros.
var exportHeader = []string{"id", "company", "role", "state", "outcome", "student_id", "referrer_id", "created_at", "accepted_at", "submitted_at"}

// exportCommand is /referral-admin export: the requests as a CSV attachment.
func exportCommand() subcommand {
	return subcommand{def: subcommandDef("export", "Download requests as CSV (no resume links, no intros)"), run: (*Router).adminExport, slow: true}
}

// exportMaxBytes keeps the CSV one attachment Discord takes: servers
// without boosts accept 10 MiB a message, and the request around the file
// needs a little of it.
const exportMaxBytes = 9 << 20

func (r *Router) adminExport(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	data, written, total, err := r.exportCSV(ctx, c.guildID, exportMaxBytes)
	if err != nil {
		return nil, err
	}
	text := fmt.Sprintf("%s, without resume links and intros.", plural(total, "request", "requests"))
	if written < total {
		text = fmt.Sprintf("The newest %d of %d requests, without resume links and intros: the older ones don't fit in one file (Discord takes up to 10 MB). The dashboard (/referral-admin dashboard) has the numbers for all of them.", written, total)
	}
	resp := ephemeral(text)
	resp.Data.Files = []*discordgo.File{{
		Name:        "requests-" + c.guildID + ".csv",
		ContentType: "text/csv",
		Reader:      bytes.NewReader(data),
	}}
	return resp, nil
}

// exportCSV writes the server's requests, newest first, as long as the
// file stays within maxBytes; the rest are only counted.
func (r *Router) exportCSV(ctx context.Context, guildID string, maxBytes int) (data []byte, written, total int, err error) {
	var buf, line bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(exportHeader); err != nil {
		return nil, 0, 0, err
	}
	w.Flush()
	lw := csv.NewWriter(&line)
	full := false
	err = r.Store.ExportRequests(ctx, guildID, func(row referral.ExportRow) error {
		total++
		if full {
			return nil
		}
		line.Reset()
		if err := lw.Write(exportRecord(row)); err != nil {
			return err
		}
		lw.Flush()
		if buf.Len()+line.Len() > maxBytes {
			full = true
			return nil
		}
		buf.Write(line.Bytes())
		written++
		return nil
	})
	if err == nil {
		err = lw.Error()
	}
	if err != nil {
		return nil, 0, 0, fmt.Errorf("export csv: %w", err)
	}
	return buf.Bytes(), written, total, nil
}

func exportRecord(row referral.ExportRow) []string {
	return []string{
		strconv.FormatInt(row.ID, 10), spreadsheetSafe(row.Company), spreadsheetSafe(row.Role),
		string(row.State), string(row.Outcome), row.StudentID, row.ReferrerID,
		csvTime(row.CreatedAt), csvTime(row.AcceptedAt), csvTime(row.SubmittedAt),
	}
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// spreadsheetSafe keeps user text from running as a formula when an admin
// opens the export in a spreadsheet.
func spreadsheetSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// declineReasonsLine lists the reasons referrers gave, in the order offered.
func declineReasonsLine(counts map[referral.DeclineReason]int) string {
	var parts []string
	for _, reason := range referral.DeclineReasons() {
		if n := counts[reason]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d", reason.Label(), n))
		}
	}
	return strings.Join(parts, " · ")
}
