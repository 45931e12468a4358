package commands

import (
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
	Store       Store
	Now         func() time.Time
	Location    *time.Location // dates shown to users
	Policy      referral.Policy
	SMTPEnabled bool
	Mailer      Mailer // sends /referrer verify codes; nil = verification off
	Logger      *slog.Logger
	// Observe, when set, is told of every interaction: a short label
	// ("referral request", "button offer/accept", "modal request"), the
	// result ("ok", "refused", "error") and how long it took.
	Observe func(command, result string, d time.Duration)
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
}

type handler func(r *Router, ctx context.Context, c *call) (*discordgo.InteractionResponse, error)

// commandRoutes are the slash commands by "command subcommand".
var commandRoutes = map[string]handler{
	"referrer join":    (*Router).referrerJoin,
	"referrer pause":   (*Router).referrerPause,
	"referrer resume":  (*Router).referrerResume,
	"referrer leave":   (*Router).referrerLeave,
	"referrer profile": (*Router).referrerProfile,
	"referrer verify":  (*Router).referrerVerify,

	"referral request":   (*Router).requestCommand,
	"referral status":    (*Router).statusCommand,
	"referral withdraw":  (*Router).withdrawCommand,
	"referral outcome":   (*Router).outcomeCommand,
	"referral forget-me": (*Router).forgetCommand,

	"referral-admin setup":      adminOnly((*Router).adminSetup),
	"referral-admin approve":    adminOnly((*Router).adminApprove),
	"referral-admin remove":     adminOnly((*Router).adminRemove),
	"referral-admin referrers":  adminOnly((*Router).adminReferrers),
	"referral-admin digest-now": adminOnly((*Router).adminDigestNow),
	"referral-admin stats":      adminOnly((*Router).adminStats),
	"referral-admin export":     adminOnly((*Router).adminExport),
}

// componentRoutes are the buttons and modals by custom_id route.
var componentRoutes = map[string]handler{
	routeOfferAccept:   (*Router).offerAccept,
	routeOfferDecline:  (*Router).offerDecline,
	routeReqSubmitted:  (*Router).referralSubmitted,
	routeReqOutcome:    (*Router).outcomeButton,
	routeReqNoNews:     (*Router).noNewsButton,
	routeReqKeep:       (*Router).keepInMindButton,
	routeDraftEdit:     (*Router).editDraftButton,
	routeModalNew:      (*Router).requestModalSubmit,
	routeModalDraft:    (*Router).requestModalSubmit,
	routeForgetConfirm: (*Router).forgetConfirm,
	routeForgetCancel:  (*Router).forgetCancel,

	routeAdminReferrers: adminOnly((*Router).adminReferrersPage),
	routeReportAsk:      (*Router).reportAsk,
	routeReportConfirm:  (*Router).reportConfirm,
	routeReportCancel:   (*Router).reportCancel,
	routeVerifyEnter:    (*Router).verifyEnter,
	routeVerifyModal:    (*Router).verifyModalSubmit,
}

// refusal is an answer to the user for an action that was not done. Its
// text is shown as is, so it never carries internal details.
type refusal string

func (r refusal) Error() string { return string(r) }

// Handle answers i exactly once, also when the handler fails or panics.
func (r *Router) Handle(ctx context.Context, resp Responder, i *discordgo.Interaction) {
	if i == nil {
		return
	}
	start := time.Now() // a measurement, so the real clock, not r.Now
	label, answer, err := r.dispatch(ctx, i)

	result := resultOK
	var ref refusal
	switch {
	case err == nil && answer != nil:
	case errors.As(err, &ref):
		result, answer = resultRefused, ephemeral(string(ref))
	case err != nil && refusalFor(err) != "":
		result, answer = resultRefused, ephemeral(refusalFor(err))
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
	if rerr := resp.InteractionRespond(i, answer); rerr != nil {
		r.logger().Warn("interaction response failed", r.logAttrs(i, label, rerr)...)
	}
	if r.Observe != nil {
		r.Observe(label, result, time.Since(start))
	}
}

const apology = "Sorry, something went wrong on my side. Please try again in a minute; /referral status shows what was saved."

// dispatch finds the handler of i and runs it.
func (r *Router) dispatch(ctx context.Context, i *discordgo.Interaction) (label string, answer *discordgo.InteractionResponse, err error) {
	if i.Type == discordgo.InteractionPing {
		return "ping", &discordgo.InteractionResponse{Type: discordgo.InteractionResponsePong}, nil
	}
	c := &call{i: i, guildID: i.GuildID}
	label, h, err := route(i, c)
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
	answer, err = h(r, ctx, c)
	return label, answer, err
}

// route picks the handler of i and fills c with its options or custom_id.
func route(i *discordgo.Interaction, c *call) (string, handler, error) {
	switch i.Type {
	case discordgo.InteractionApplicationCommand, discordgo.InteractionApplicationCommandAutocomplete:
		data, ok := i.Data.(discordgo.ApplicationCommandInteractionData)
		if !ok {
			return "unknown", nil, refusal(unknownCommand)
		}
		name, opts := commandPath(data)
		c.opts = opts
		if i.Type == discordgo.InteractionApplicationCommandAutocomplete {
			if name != "referral request" {
				return "autocomplete " + name, (*Router).noChoices, nil
			}
			return "autocomplete " + name, (*Router).requestAutocomplete, nil
		}
		h, ok := commandRoutes[name]
		if !ok {
			return name, nil, refusal(unknownCommand)
		}
		return name, h, nil
	case discordgo.InteractionMessageComponent, discordgo.InteractionModalSubmit:
		kind, raw := "button", ""
		switch d := i.Data.(type) {
		case discordgo.MessageComponentInteractionData:
			raw = d.CustomID
		case discordgo.ModalSubmitInteractionData:
			kind, raw = "modal", d.CustomID
		}
		id, err := parseCustomID(raw)
		h, ok := componentRoutes[id.Route]
		if err != nil || !ok {
			return kind + " unknown", nil, refusal(unknownButton)
		}
		c.id = id
		if kind == "modal" && id.Route != routeVerifyModal {
			return "modal request", h, nil
		}
		return kind + " " + id.Route, h, nil
	}
	return "unknown", nil, refusal(unknownCommand)
}

const (
	unknownCommand = "I don't know that command. The bot may have been updated; try again in a minute."
	unknownButton  = "This button is no longer in use. Try the matching slash command instead."
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

// refusalFor turns the store's refusals that a handler did not word itself
// into a polite answer; "" means the error is not a refusal.
func refusalFor(err error) string {
	var transition referral.ErrTransition
	switch {
	case errors.Is(err, referral.ErrNotFound):
		return "I couldn't find that. It may have been deleted; /referral status lists your requests."
	case errors.Is(err, referral.ErrNotYours):
		return "That belongs to someone else, so I left it alone."
	case errors.Is(err, referral.ErrMovedOn):
		return "Thanks, but this request has moved on, so there's nothing to do here."
	case errors.Is(err, referral.ErrAlreadyDone):
		return "Already done; nothing changed."
	case errors.Is(err, referral.ErrTooManyOpen):
		return "You have as many open requests as allowed. Withdraw one with /referral withdraw first."
	case errors.Is(err, referral.ErrDuplicateJob):
		return "You already have an open request for this job link; /referral status shows it."
	case errors.Is(err, referral.ErrNotReferrer), errors.Is(err, referral.ErrNoReferrerHere):
		return "You don't have a referrer profile in this server. Create one with /referrer join."
	case errors.Is(err, referral.ErrWrongState), errors.As(err, &transition):
		return "That isn't possible at the request's current stage; /referral status shows where it stands."
	case errors.Is(err, referral.ErrSelfReferral):
		return "You can't refer yourself."
	case errors.Is(err, referral.ErrNothingToForget):
		return "There's nothing stored about you, so nothing was deleted."
	}
	return ""
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
