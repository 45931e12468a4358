package commands

import (
	"context"

	"github.com/bwmarrin/discordgo"
)

// dashboardCommand is /referral-admin dashboard: a link to the server's
// read-only web dashboard, for the admin alone.
func dashboardCommand() subcommand {
	return subcommand{def: subcommandDef("dashboard", "A private link to this server's referral dashboard (15 minutes)"), run: (*Router).adminDashboard}
}

// dashboardNotSet is the answer when the bot has no public address.
const dashboardNotSet = "The web dashboard is off because the bot doesn't know its public address. " +
	"Whoever runs the bot sets `http.public_url` in its config to the address where your browser reaches the bot's http server " +
	"(for example `https://referrals.example.org`, usually a reverse proxy in front of `http.listen`), and restarts it."

func (r *Router) adminDashboard(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	if r.Dashboard == nil {
		return nil, refusal(dashboardNotSet)
	}
	link, err := r.Dashboard.Link(ctx, c.guildID, r.now())
	if err != nil {
		return nil, err
	}
	return ephemeral("Here is this server's referral dashboard: the funnel, weekly activity, waiting companies and referrers' load. "+
		"The link is yours alone, read-only, and works for 15 minutes; run this command again for a new one. Don't paste it in a channel.",
		row(discordgo.Button{Label: "Open dashboard", Style: discordgo.LinkButton, URL: link})), nil
}
