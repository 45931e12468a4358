package commands

import (
	"sync"

	"github.com/bwmarrin/discordgo"
)

// A commandGroup is one top-level slash command and its subcommands.
type commandGroup struct {
	name        string
	description string
	// admin commands are hidden from members without Manage Server by
	// default_member_permissions, and adminOnly checks again, because a
	// server can override what Discord shows.
	admin bool
	subs  []subcommand
}

// A subcommand is its registered definition (name, options, limits) beside
// its handler; each file defines the subcommands it handles.
type subcommand struct {
	def      *discordgo.ApplicationCommandOption
	run      handler
	complete handler // answers autocomplete; nil = no suggestions
	topic    topic   // how store refusals are worded
	slow     bool    // may take seconds (it reads or writes a lot): deferred before it runs
}

// commandGroups are every slash command of the bot, in registration order.
// PRODUCT.md names them; tests outside the project rely on them.
func commandGroups() []commandGroup {
	return []commandGroup{
		{
			name: "referrer", description: "Refer students to jobs at your company",
			subs: []subcommand{joinCommand(), pauseCommand(), resumeCommand(), leaveCommand(), profileCommand(), verifyCommand()},
		},
		{
			name: "referral", description: "Ask an alumnus for a job referral",
			subs: []subcommand{requestCommand(), statusCommand(), withdrawCommand(), outcomeCommand(), forgetCommand(), helpCommand()},
		},
		{
			name: "referral-admin", description: "Set up and follow referrals in this server", admin: true,
			subs: []subcommand{setupCommand(), approveCommand(), removeCommand(), referrersCommand(), digestNowCommand(), statsCommand(), exportCommand(), dashboardCommand()},
		},
	}
}

// Definitions are the slash commands to register.
func Definitions() []*discordgo.ApplicationCommand {
	guildOnly := &[]discordgo.InteractionContextType{discordgo.InteractionContextGuild}
	var out []*discordgo.ApplicationCommand
	for _, g := range commandGroups() {
		cmd := &discordgo.ApplicationCommand{
			Name: g.name, Description: g.description, DMPermission: new(false), Contexts: guildOnly,
		}
		if g.admin {
			cmd.DefaultMemberPermissions = new(int64(discordgo.PermissionManageGuild))
		}
		for _, s := range g.subs {
			cmd.Options = append(cmd.Options, s.def)
		}
		out = append(out, cmd)
	}
	return out
}

// slashRoute is a subcommand as the router runs it.
type slashRoute struct {
	subcommand
	run handler // the subcommand's handler, behind adminOnly in admin groups
}

// slashRoutes index the subcommands by "command subcommand".
var slashRoutes = sync.OnceValue(func() map[string]slashRoute {
	m := map[string]slashRoute{}
	for _, g := range commandGroups() {
		for _, s := range g.subs {
			rt := slashRoute{subcommand: s, run: s.run}
			if g.admin {
				rt.run = adminOnly(s.run)
			}
			m[g.name+" "+s.def.Name] = rt
		}
	}
	return m
})

func subcommandDef(name, description string, opts ...*discordgo.ApplicationCommandOption) *discordgo.ApplicationCommandOption {
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
