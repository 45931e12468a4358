package commands

import (
	"context"
	"errors"
	"strings"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

// helpCommand is /referral help: the commands for the caller's role, one
// line each, written from the same definitions Discord shows.
func helpCommand() subcommand {
	return subcommand{def: subcommandDef("help", "What you can do with this bot: the commands for you"), run: (*Router).help}
}

func (r *Router) help(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	referrer := false
	var status referral.ReferrerStatus
	if c.guildID != "" {
		row, err := r.Store.ReferrerProfile(ctx, c.guildID, c.userID)
		switch {
		case err == nil:
			referrer, status = true, row.Referrer.Status
		case errors.Is(err, referral.ErrNotReferrer), errors.Is(err, referral.ErrNoReferrerHere), errors.Is(err, referral.ErrNotFound):
		default:
			return nil, err
		}
	}
	admin := c.i.Member != nil && c.i.Member.Permissions&adminPermissions != 0
	groups := map[string][]subcommand{}
	for _, g := range commandGroups() {
		groups[g.name] = g.subs
	}

	var b strings.Builder
	b.WriteString("**Referrals here, in short**\n")
	b.WriteString("Students ask for a referral; an alumnus at that company gets it by DM, one at a time, and I follow up until you hear back.\n")
	b.WriteString("\n**Ask for a referral**\n")
	for _, s := range groups["referral"] {
		if s.def.Name != "help" {
			helpLine(&b, "referral", s.def)
		}
	}
	if referrer {
		b.WriteString("\n**As a referrer** (your profile here is " + string(status) + ")\n")
		for _, s := range groups["referrer"] {
			if s.def.Name == "verify" && r.Mailer == nil {
				continue // not configured here, so not worth a line
			}
			helpLine(&b, "referrer", s.def)
		}
		b.WriteString("Offers come by DM with Accept and Decline; after accepting, press Referral submitted.\n")
	} else {
		b.WriteString("\n**Work at a company students apply to?** Volunteer as a referrer:\n")
		for _, s := range groups["referrer"] {
			if s.def.Name == "join" {
				helpLine(&b, "referrer", s.def)
			}
		}
	}
	if admin {
		b.WriteString("\n**Running the bot** (you have Manage Server)\n")
		for _, s := range groups["referral-admin"] {
			helpLine(&b, "referral-admin", s.def)
		}
	}
	return ephemeral(strings.TrimRight(b.String(), "\n")), nil
}

// helpLine is one command: its name, options (optional ones in brackets)
// and description.
func helpLine(b *strings.Builder, group string, def *discordgo.ApplicationCommandOption) {
	b.WriteString("`/" + group + " " + def.Name)
	for _, o := range def.Options {
		if o.Required {
			b.WriteString(" " + o.Name + ":")
		} else {
			b.WriteString(" [" + o.Name + ":]")
		}
	}
	b.WriteString("` " + def.Description + "\n")
}
