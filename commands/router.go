package commands

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/referralbot/referralbot/referral"
)

// Responder answers an interaction; *discordgo.Session satisfies it.
type Responder interface {
	InteractionRespond(i *discordgo.Interaction, r *discordgo.InteractionResponse, options ...discordgo.RequestOption) error
}

// Router answers every interaction of the bot: slash commands,
// autocomplete, buttons and modal submits.
type Router struct {
	Store  Store
	Mailer Mailer // sends /referrer verify codes; nil = verification off
	// AcceptCheck checks again at Accept that the referrer may still
	// refer (the referrer role); nil = no check.
	AcceptCheck AcceptCheck
	// Dashboard signs links to a server's web dashboard; nil when the bot
	// has no http.public_url, and the command says how to set it.
	Dashboard DashboardLinks
	Now       func() time.Time
	Location  *time.Location // dates shown to users
	Logger    *slog.Logger
	// Observe, when set, is told of every interaction: a short label
	// ("referral request", "button offer/accept", "modal request"), the
	// result ("ok", "refused", "error") and how long it took.
	Observe func(command, result string, d time.Duration)
	// Editor completes deferred answers; nil = never defer.
	Editor AnswerEditor
	// DeferAfter is how long a handler may take before its interaction
	// is deferred; 0 = DeferAfterDefault, negative = only slow ones. Handlers known to be slow
	// defer before they start.
	DeferAfter time.Duration
}

// Results passed to Observe.
const (
	resultOK      = "ok"
	resultRefused = "refused"
	resultError   = "error"
)

// call is one interaction as a handler sees it.
type call struct {
	i       *discordgo.Interaction
	userID  string
	guildID string
	opts    options  // slash command options of the subcommand
	id      customID // buttons and modals
	topic   topic    // how store refusals are worded
	request int64    // the request a refusal names, when there is one
	target  string   // the member an admin command acts on
	slow    bool     // the handler may take seconds: defer first
}

type handler func(r *Router, ctx context.Context, c *call) (*discordgo.InteractionResponse, error)

// Handle answers i exactly once, also when the handler fails or panics.
func (r *Router) Handle(ctx context.Context, resp Responder, i *discordgo.Interaction) {
	if i == nil {
		return
	}
	start := time.Now() // a measurement, so the real clock, not r.Now
	c := &call{i: i, guildID: i.GuildID}
	a := &answerer{i: i, resp: resp, editor: r.Editor}
	a.deferAfter(cmp.Or(r.DeferAfter, DeferAfterDefault))
	label, answer, err := r.dispatch(ctx, c, a)

	result := resultOK
	switch {
	case err == nil && answer != nil:
	case err != nil && refusalText(err, c) != "":
		result, answer = resultRefused, ephemeral(refusalText(err, c))
	case errors.Is(err, referral.ErrUnavailable):
		// The database can't be written (a full disk, say): nothing was
		// saved, and the bot logs that once, not per interaction.
		result, answer = resultError, ephemeral(unavailable)
		r.logger().Debug("interaction not saved: database unavailable", r.logAttrs(i, label, err)...)
	default:
		if err == nil {
			err = errors.New("handler gave no answer")
		}
		result, answer = resultError, ephemeral(apology)
		r.logger().Error("interaction failed", r.logAttrs(i, label, err)...)
	}
	if i.Type == discordgo.InteractionApplicationCommandAutocomplete && answer.Type != discordgo.InteractionApplicationCommandAutocompleteResult {
		// Autocomplete can only be answered with choices.
		answer = &discordgo.InteractionResponse{
			Type: discordgo.InteractionApplicationCommandAutocompleteResult,
			Data: &discordgo.InteractionResponseData{Choices: []*discordgo.ApplicationCommandOptionChoice{}},
		}
	}
	if rerr := a.answer(answer); rerr != nil {
		r.logger().Warn("interaction response failed", r.logAttrs(i, label, rerr)...)
	}
	if r.Observe != nil {
		r.Observe(label, result, time.Since(start))
	}
}

const unavailable = "I couldn't save that just now, please try again in a minute. Nothing was changed."

const apology = "Sorry, something went wrong on my side. Please try again in a minute; /referral status shows what was saved."

// dispatch finds the handler of c.i and runs it.
func (r *Router) dispatch(ctx context.Context, c *call, a *answerer) (label string, answer *discordgo.InteractionResponse, err error) {
	i := c.i
	if i.Type == discordgo.InteractionPing {
		return "ping", &discordgo.InteractionResponse{Type: discordgo.InteractionResponsePong}, nil
	}
	label, h, err := route(c)
	if err != nil {
		return label, nil, err
	}
	u := interactionUser(i)
	if u == nil || u.ID == "" {
		return label, nil, refusal("I couldn't tell who you are, so I did nothing.")
	}
	c.userID = u.ID
	// A bug in one handler must still answer the user and keep the bot up.
	defer func() {
		if p := recover(); p != nil {
			answer, err = nil, fmt.Errorf("panic: %v", p)
		}
	}()
	r.roleRegained(ctx, c, label)
	if c.slow {
		a.deferNow()
	}
	answer, err = h(r, ctx, c)
	return label, answer, err
}

// roleRegained makes a pending referrer who holds the server's referrer
// role again active when they look at their profile or resume, without a
// new join (which does the same itself). A failure only delays it.
func (r *Router) roleRegained(ctx context.Context, c *call, label string) {
	if c.i.Type != discordgo.InteractionApplicationCommand || (label != "referrer profile" && label != "referrer resume") ||
		c.i.Member == nil || c.guildID == "" {
		return
	}
	if _, err := r.Store.RoleRegained(ctx, c.guildID, c.userID, c.i.Member.Roles); err != nil && r.Logger != nil {
		r.Logger.Warn("role regained check failed", "guild_id", c.guildID, "user_id", c.userID, "err", err)
	}
}

// route picks the handler of c.i and fills c with its options or custom_id.
func route(c *call) (string, handler, error) {
	i := c.i
	switch i.Type {
	case discordgo.InteractionApplicationCommand, discordgo.InteractionApplicationCommandAutocomplete:
		data, ok := i.Data.(discordgo.ApplicationCommandInteractionData)
		if !ok {
			return "unknown", nil, refusal(unknownCommand)
		}
		name, opts := commandPath(data)
		c.opts = opts
		rt, known := slashRoutes()[name]
		if i.Type == discordgo.InteractionApplicationCommandAutocomplete {
			if !known || rt.complete == nil {
				return "autocomplete " + name, (*Router).noChoices, nil
			}
			return "autocomplete " + name, rt.complete, nil
		}
		if !known {
			return name, nil, refusal(unknownCommand)
		}
		c.topic = rt.topic
		if n, ok := opts.int("request"); ok && n > 0 {
			c.request = n
		}
		c.target = opts.string("user")
		c.slow = rt.slow
		return name, rt.run, nil
	case discordgo.InteractionMessageComponent, discordgo.InteractionModalSubmit:
		kind, raw, unknown := "button", "", unknownButton
		switch d := i.Data.(type) {
		case discordgo.MessageComponentInteractionData:
			raw = d.CustomID
		case discordgo.ModalSubmitInteractionData:
			kind, raw, unknown = "modal", d.CustomID, unknownModal
		}
		id, rt, err := parseCustomID(raw)
		if err != nil {
			return kind + " unknown", nil, refusal(unknown)
		}
		c.id, c.topic = id, rt.topic
		if id.Pattern.idName() == "request" {
			c.request = id.ID
		}
		label := rt.label
		if label == "" {
			label = id.Pattern.literal()
		}
		return kind + " " + label, rt.handle, nil
	}
	return "unknown", nil, refusal(unknownCommand)
}

const (
	unknownCommand = "I don't know that command. The bot may have been updated; try again in a minute."
	unknownButton  = "This button is no longer in use. Try the matching slash command instead."
	unknownModal   = "This form is from an older version of the bot, so I couldn't read it and nothing was saved. Please start again with the slash command (for a request, /referral request)."
)

// interactionUser is who acted: the member in a server, the user in a DM.
func interactionUser(i *discordgo.Interaction) *discordgo.User {
	if i.Member != nil && i.Member.User != nil {
		return i.Member.User
	}
	return i.User
}

// commandPath returns "command subcommand" and the subcommand's options.
func commandPath(data discordgo.ApplicationCommandInteractionData) (string, options) {
	name := data.Name
	opts := data.Options
	for len(opts) == 1 && opts[0] != nil && (opts[0].Type == discordgo.ApplicationCommandOptionSubCommand || opts[0].Type == discordgo.ApplicationCommandOptionSubCommandGroup) {
		name += " " + opts[0].Name
		opts = opts[0].Options
	}
	return name, newOptions(opts)
}

func (r *Router) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Router) location() *time.Location {
	if r.Location != nil {
		return r.Location
	}
	return time.UTC
}

func (r *Router) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// logAttrs identifies an interaction in logs by ids only: no user text, no token.
func (r *Router) logAttrs(i *discordgo.Interaction, label string, err error) []any {
	userID := ""
	if u := interactionUser(i); u != nil {
		userID = u.ID
	}
	return []any{"command", label, "interaction_id", i.ID, "guild_id", i.GuildID, "user_id", userID, "err", err}
}
