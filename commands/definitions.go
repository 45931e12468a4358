package commands

import (
	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

// Definitions are the slash commands to register. Names and options are
// the contract of PRODUCT.md; tests outside the project rely on them.
func Definitions() []*discordgo.ApplicationCommand {
	guildOnly := &[]discordgo.InteractionContextType{discordgo.InteractionContextGuild}
	manageServer := int64(discordgo.PermissionManageGuild)
	return []*discordgo.ApplicationCommand{
		{
			Name:         "referrer",
			Description:  "Refer students to jobs at your company",
			DMPermission: new(false),
			Contexts:     guildOnly,
			Options: []*discordgo.ApplicationCommandOption{
				subcommand("join", "Become (or update your profile as) a referrer for your companies",
					stringOption("companies", "Companies you can refer to, comma-separated, e.g. \"Amazon, AWS\"", true, 1000),
					stringOption("roles", "Roles you know well, e.g. \"software engineering, data science\"", false, 200),
					stringOption("school", "Your school, so students from it are matched with you first", false, 100),
					intOption("capacity", "Referrals you can make per 30 days (1-20)", false, referral.MinCapacity, referral.MaxCapacity),
				),
				subcommand("pause", "Stop receiving referral offers for a while",
					intOption("days", "Resume automatically after this many days; leave empty to pause until /referrer resume", false, 1, 365),
				),
				subcommand("resume", "Receive referral offers again"),
				subcommand("leave", "Delete your referrer profile in this server"),
				subcommand("profile", "Your referrer profile, capacity left and counts"),
				subcommand("verify", "Verify your work email to show \"verified @domain\" in offers",
					stringOption("email", "Your work email address", true, 254),
				),
			},
		},
		{
			Name:         "referral",
			Description:  "Ask an alumnus for a job referral",
			DMPermission: new(false),
			Contexts:     guildOnly,
			Options: []*discordgo.ApplicationCommandOption{
				subcommand("request", "Ask for a referral at a company",
					autocompleteOption("company", "The company you're applying to", referral.MaxCompanyLen),
				),
				subcommand("status", "Your requests and where each one stands"),
				subcommand("withdraw", "Withdraw one of your open requests",
					requestOption("The request number to withdraw (see /referral status)"),
				),
				subcommand("outcome", "Tell what happened after your referral",
					requestOption("The request number (see /referral status)"),
					outcomeOption(),
				),
				subcommand("forget-me", "Delete your personal data from the bot"),
			},
		},
		{
			Name:                     "referral-admin",
			Description:              "Set up and follow referrals in this server",
			DefaultMemberPermissions: &manageServer,
			DMPermission:             new(false),
			Contexts:                 guildOnly,
			Options: []*discordgo.ApplicationCommandOption{
				subcommand("setup", "Choose the digest channel, DM fallback channel and referrer role",
					channelOption("digest_channel", "Where the weekly digest is posted", true),
					channelOption("fallback_channel", "Where to ping members whose DMs are closed", false),
					&discordgo.ApplicationCommandOption{
						Type: discordgo.ApplicationCommandOptionRole, Name: "referrer_role",
						Description: "Members with this role are trusted referrers at once",
					},
				),
				subcommand("approve", "Make a pending referrer active", userOption("The referrer to approve")),
				subcommand("remove", "End a referrer's profile; their open offers move on", userOption("The referrer to remove")),
				subcommand("referrers", "Referrers of this server with status and counts"),
				subcommand("digest-now", "Post this week's digest now"),
				subcommand("stats", "Referral numbers for this server"),
				subcommand("export", "Download requests as CSV (no resume links, no intros)"),
			},
		},
	}
}

func subcommand(name, description string, opts ...*discordgo.ApplicationCommandOption) *discordgo.ApplicationCommandOption {
	return &discordgo.ApplicationCommandOption{
		Type: discordgo.ApplicationCommandOptionSubCommand, Name: name, Description: description, Options: opts,
	}
}

func stringOption(name, description string, required bool, maxLength int) *discordgo.ApplicationCommandOption {
	return &discordgo.ApplicationCommandOption{
		Type: discordgo.ApplicationCommandOptionString, Name: name, Description: description,
		Required: required, MaxLength: maxLength,
	}
}

func autocompleteOption(name, description string, maxLength int) *discordgo.ApplicationCommandOption {
	o := stringOption(name, description, true, maxLength)
	o.Autocomplete = true
	return o
}

func intOption(name, description string, required bool, min, max int) *discordgo.ApplicationCommandOption {
	return &discordgo.ApplicationCommandOption{
		Type: discordgo.ApplicationCommandOptionInteger, Name: name, Description: description,
		Required: required, MinValue: new(float64(min)), MaxValue: float64(max),
	}
}

func requestOption(description string) *discordgo.ApplicationCommandOption {
	return &discordgo.ApplicationCommandOption{
		Type: discordgo.ApplicationCommandOptionInteger, Name: "request", Description: description,
		Required: true, MinValue: new(float64(1)),
	}
}

func outcomeOption() *discordgo.ApplicationCommandOption {
	o := &discordgo.ApplicationCommandOption{
		Type: discordgo.ApplicationCommandOptionString, Name: "result", Description: "What happened", Required: true,
	}
	for _, out := range referral.Outcomes() {
		o.Choices = append(o.Choices, &discordgo.ApplicationCommandOptionChoice{Name: out.Label(), Value: string(out)})
	}
	return o
}

func channelOption(name, description string, required bool) *discordgo.ApplicationCommandOption {
	return &discordgo.ApplicationCommandOption{
		Type: discordgo.ApplicationCommandOptionChannel, Name: name, Description: description, Required: required,
		ChannelTypes: []discordgo.ChannelType{discordgo.ChannelTypeGuildText, discordgo.ChannelTypeGuildNews},
	}
}

func userOption(description string) *discordgo.ApplicationCommandOption {
	return &discordgo.ApplicationCommandOption{
		Type: discordgo.ApplicationCommandOptionUser, Name: "user", Description: description, Required: true,
	}
}
