package discordtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
)

// interactionRec is one interaction sent to the bot and what came back.
type interactionRec struct {
	id, token                  string
	typ                        discordgo.InteractionType
	userID, guildID, channelID string
	label                      string // for messages: "/referral request", "button Accept"
	deadline                   time.Duration
	deliveredAt                time.Time // zero until written to a live gateway connection
	sourceMsgID                string    // the message a component (or its modal) was on
	modalOrigin                *interactionRec
	submits                    []*interactionRec // submissions of the modal this one opened
	payload                    wireInteraction
	resp                       *responseRec
	lastErr                    string   // the last refused callback, for wait errors
	httpPending                bool     // http mode: POSTed, answer not yet applied
	failed                     string   // http mode: why the interaction failed; no answer can come
	endpoint                   string   // http mode: the endpoint the request went to last
	refusals                   []string // http mode: endpoints that refused the connection before it
	originalID                 string   // the message @original refers to
	originalEdits              int      // its edits when acknowledged with type 6
	followups                  []string
}

type responseRec struct {
	typ       discordgo.InteractionResponseType
	data      json.RawMessage
	files     []File
	at        time.Time
	ephemeral bool
}

type wireInteraction struct {
	ID             string            `json:"id"`
	ApplicationID  string            `json:"application_id"`
	Type           int               `json:"type"`
	Data           any               `json:"data,omitempty"`
	GuildID        string            `json:"guild_id,omitempty"`
	Channel        *wireChannel      `json:"channel,omitempty"`
	ChannelID      string            `json:"channel_id"`
	Member         *wireMember       `json:"member,omitempty"`
	User           *wireUser         `json:"user,omitempty"`
	Token          string            `json:"token"`
	Version        int               `json:"version"`
	Message        *wireMessage      `json:"message,omitempty"`
	AppPermissions string            `json:"app_permissions"`
	Locale         string            `json:"locale"`
	GuildLocale    string            `json:"guild_locale,omitempty"`
	Entitlements   []any             `json:"entitlements"`
	Owners         map[string]string `json:"authorizing_integration_owners"`
	Context        int               `json:"context"`
}

type wireCommandData struct {
	ID       string        `json:"id"`
	Name     string        `json:"name"`
	Type     int           `json:"type"`
	GuildID  string        `json:"guild_id,omitempty"`
	Options  []wireOption  `json:"options,omitempty"`
	Resolved *wireResolved `json:"resolved,omitempty"`
}

type wireOption struct {
	Name    string       `json:"name"`
	Type    int          `json:"type"`
	Value   any          `json:"value,omitempty"`
	Options []wireOption `json:"options,omitempty"`
	Focused bool         `json:"focused,omitempty"`
}

type wireResolved struct {
	Users    map[string]wireUser    `json:"users,omitempty"`
	Members  map[string]wireMember  `json:"members,omitempty"`
	Roles    map[string]wireRole    `json:"roles,omitempty"`
	Channels map[string]wireChannel `json:"channels,omitempty"`
}

func (r *wireResolved) empty() bool {
	return len(r.Users)+len(r.Members)+len(r.Roles)+len(r.Channels) == 0
}

// notYet tells userAction to wait for a change instead of failing.
type notYet string

func (n notYet) Error() string { return string(n) }

// RunCommand sends the bot an INTERACTION_CREATE for a slash command, built
// from the command the bot registered (guild first, then global). It fails
// at once if the command, subcommand or an option does not exist, a
// required option is missing or a value breaks the registered type,
// choices or bounds, as Discord's client would not send it. It waits
// (bounded by ctx) while no bot is connected or nothing is registered yet.
// default_member_permissions is not enforced, as if an admin had allowed
// the command for everyone: the bot must check permissions itself.
func (s *Server) RunCommand(ctx context.Context, c Command) (*Interaction, error) {
	return s.userAction(ctx, "run /"+strings.TrimSpace(c.Name+" "+c.Subcommand), func() (*interactionRec, error) {
		return s.commandLocked(c, false)
	})
}

// Autocomplete sends an autocomplete interaction (type 4) while the user
// types into the option named c.Focused, whose value is sent as the
// partial string. Answer it with Response.
func (s *Server) Autocomplete(ctx context.Context, c Command) (*Interaction, error) {
	return s.userAction(ctx, "autocomplete /"+strings.TrimSpace(c.Name+" "+c.Subcommand), func() (*interactionRec, error) {
		return s.commandLocked(c, true)
	})
}

// PressButton clicks the button labelled p.Label (or with p.CustomID) on
// the current version of p.Message. It fails if there is no such button,
// it is disabled or a link, or the user cannot see the message (another
// user's DM or ephemeral reply).
func (s *Server) PressButton(ctx context.Context, p Press) (*Interaction, error) {
	what := fmt.Sprintf("press %q", p.Label+p.CustomID)
	if p.Message == nil {
		return nil, fmt.Errorf("discordtest: %s: Press.Message is nil", what)
	}
	return s.userAction(ctx, what, func() (*interactionRec, error) { return s.pressLocked(p) })
}

// SubmitModal submits a modal the bot opened (a type 9 Response). Inputs
// missing from m.Values keep their pre-filled value; unknown custom_ids,
// empty required inputs and values outside min_length/max_length are
// errors, as Discord's client would not submit them.
func (s *Server) SubmitModal(ctx context.Context, m ModalSubmit) (*Interaction, error) {
	if m.Modal == nil {
		return nil, errors.New("discordtest: submit modal: ModalSubmit.Modal is nil")
	}
	what := "submit modal"
	if m.Modal.Data != nil {
		what += " " + strconv.Quote(m.Modal.Data.CustomID)
	}
	return s.userAction(ctx, what, func() (*interactionRec, error) { return s.submitLocked(m) })
}

// userAction prepares an interaction (under the lock) and sends it once a
// bot session exists; a disconnected but resumable session gets it on
// resume.
func (s *Server) userAction(ctx context.Context, what string, prepare func() (*interactionRec, error)) (*Interaction, error) {
	waiting := ""
	return waitFor(ctx, s, func() (*Interaction, bool, error) {
		rec, err := prepare()
		var ny notYet
		switch {
		case errors.As(err, &ny):
			waiting = ny.Error()
			return nil, false, nil
		case err != nil:
			return nil, false, fmt.Errorf("discordtest: %s: %w", what, err)
		case s.httpMode && s.closed:
			return nil, false, ErrClosed
		case s.httpMode && len(s.endpoints) == 0:
			waiting = "no interactions endpoint is set (SetInteractionEndpoints)"
			return nil, false, nil
		case s.httpMode:
			s.recordInteractionLocked(rec)
			s.wg.Add(1) // under the lock and not closed: Close waits for it
			go s.deliver(s.prepareDeliveryLocked(rec))
			return &Interaction{ID: rec.id, Token: rec.token, s: s}, true, nil
		case s.current == nil:
			waiting = "no bot is connected to the gateway"
			if s.gatewayErr != "" {
				waiting += " (last gateway problem: " + s.gatewayErr + ")"
			}
			return nil, false, nil
		}
		s.sendInteractionLocked(rec)
		return &Interaction{ID: rec.id, Token: rec.token, s: s}, true, nil
	}, func() string { return what + ": " + waiting })
}

func (s *Server) sendInteractionLocked(rec *interactionRec) {
	s.recordInteractionLocked(rec)
	s.dispatchLocked(s.current, "INTERACTION_CREATE", rec.payload, rec.id)
}

// recordInteractionLocked gives rec its id and token and logs it.
func (s *Server) recordInteractionLocked(rec *interactionRec) {
	rec.id = s.newIDLocked()
	rec.token = "aW50ZXJhY3Rpb246" + rec.id + ":" + randomHex(24)
	rec.deadline = s.InteractionDeadline
	rec.payload.ID, rec.payload.Token = rec.id, rec.token
	rec.payload.ApplicationID, rec.payload.Version = s.appID, 1
	s.interactions[rec.id] = rec
	s.tokens[rec.token] = rec
	if rec.modalOrigin != nil {
		rec.modalOrigin.submits = append(rec.modalOrigin.submits, rec)
	}
	kind := map[discordgo.InteractionType]string{
		discordgo.InteractionApplicationCommand:             "command",
		discordgo.InteractionApplicationCommandAutocomplete: "autocomplete",
		discordgo.InteractionMessageComponent:               "button",
		discordgo.InteractionModalSubmit:                    "modal",
	}[rec.typ]
	s.addEventLocked(Event{Kind: kind, UserID: rec.userID, ChannelID: rec.channelID, GuildID: rec.guildID,
		Summary: fmt.Sprintf("@%s %s", s.usernameLocked(rec.userID), rec.label)})
}

func (s *Server) markDeliveredLocked(interactionID string) {
	if it, found := s.interactions[interactionID]; found && it.deliveredAt.IsZero() {
		it.deliveredAt = time.Now()
	}
}

// actorLocked fills who acts where: member in a guild, user in a DM.
func (s *Server) actorLocked(wi *wireInteraction, userID, guildID, channelID string, roles []string, perms int64) (string, error) {
	if _, known := s.users[userID]; !known {
		return "", fmt.Errorf("unknown user %q (AddUser first)", userID)
	}
	wi.AppPermissions = strconv.FormatInt(botChannelPermissions, 10)
	wi.Locale = "en-US"
	wi.Entitlements = []any{}
	if guildID == "" {
		dm := s.dmChannelLocked(userID)
		if channelID != "" && channelID != dm.id {
			return "", fmt.Errorf("channel %s is not the DM channel of %s (%s); set GuildID for guild channels", channelID, userID, dm.id)
		}
		u := s.wireUserLocked(userID)
		ch := s.wireChannelLocked(dm)
		wi.User, wi.Channel, wi.ChannelID = &u, &ch, dm.id
		wi.Context = int(discordgo.InteractionContextBotDM)
		wi.Owners = map[string]string{"0": "0"}
		return dm.id, nil
	}
	g, found := s.guilds[guildID]
	if !found {
		return "", fmt.Errorf("unknown guild %q (AddGuild first)", guildID)
	}
	m, found := g.members[userID]
	if !found {
		return "", fmt.Errorf("user %s is not a member of guild %s (AddMember first)", userID, guildID)
	}
	if channelID == "" {
		channelID = g.firstChannel()
	}
	c, found := s.channels[channelID]
	if !found || c.guildID != guildID {
		return "", fmt.Errorf("channel %q is not a channel of guild %s", channelID, guildID)
	}
	if roles == nil {
		roles = m.roles
	}
	if perms == 0 {
		perms = s.permissionsLocked(g, userID, roles)
	}
	wm := s.wireMemberLocked(guildID, &memberRec{userID: userID, roles: roles, joinedAt: m.joinedAt}, true, false)
	wm.Permissions = strconv.FormatInt(perms, 10)
	ch := s.wireChannelLocked(c)
	ch.Permissions = wm.Permissions
	wi.Member, wi.GuildID, wi.GuildLocale = &wm, guildID, "en-US"
	wi.Channel, wi.ChannelID = &ch, c.id
	wi.Context = int(discordgo.InteractionContextGuild)
	wi.Owners = map[string]string{"0": guildID}
	return c.id, nil
}

func (s *Server) pressLocked(p Press) (*interactionRec, error) {
	m, found := s.messages[p.Message.ID]
	if !found {
		return nil, fmt.Errorf("message %q was not sent by the bot", p.Message.ID)
	}
	if m.deleted {
		return nil, fmt.Errorf("message %s was deleted", m.id)
	}
	var hit *discordgo.Button
	var labels []string
	for _, b := range buttons(decodeComponents(m.components)) {
		labels = append(labels, strconv.Quote(b.Label))
		if hit == nil && ((p.CustomID != "" && b.CustomID == p.CustomID) || (p.CustomID == "" && b.Label == p.Label)) {
			hit = &b
		}
	}
	switch {
	case hit == nil:
		return nil, fmt.Errorf("message %s has no button %q (buttons: %s)", m.id, p.Label+p.CustomID, orNone(labels))
	case hit.Disabled:
		return nil, fmt.Errorf("button %q on message %s is disabled", hit.Label, m.id)
	case hit.Style == discordgo.LinkButton || hit.CustomID == "":
		return nil, fmt.Errorf("button %q is a link; it sends no interaction", hit.Label)
	case m.dmUserID != "" && p.UserID != m.dmUserID && !p.Forged:
		return nil, fmt.Errorf("user %s cannot see message %s: it is in the DM of %s", p.UserID, m.id, m.dmUserID)
	case m.visibleTo != "" && p.UserID != m.visibleTo && !p.Forged:
		return nil, fmt.Errorf("user %s cannot see message %s: it is ephemeral for %s", p.UserID, m.id, m.visibleTo)
	case p.GuildID != "" && p.GuildID != m.guildID:
		return nil, fmt.Errorf("message %s is not in guild %s", m.id, p.GuildID)
	}
	rec := &interactionRec{typ: discordgo.InteractionMessageComponent, userID: p.UserID, guildID: m.guildID,
		sourceMsgID: m.id, label: fmt.Sprintf("presses %q", hit.Label)}
	wm := s.wireMessageLocked(m)
	rec.payload = wireInteraction{Type: int(rec.typ), Message: &wm,
		Data: map[string]any{"custom_id": hit.CustomID, "component_type": int(discordgo.ButtonComponent)}}
	channelID := m.channelID
	if p.Forged && m.dmUserID != "" {
		channelID = "" // the forger's own DM channel: they cannot act in someone else's
	}
	ch, err := s.actorLocked(&rec.payload, p.UserID, m.guildID, channelID, nil, 0)
	if err != nil {
		return nil, err
	}
	rec.channelID = ch
	return rec, nil
}

func (s *Server) submitLocked(ms ModalSubmit) (*interactionRec, error) {
	origin, found := s.interactions[ms.Modal.InteractionID]
	if !found || origin.resp == nil || origin.resp.typ != discordgo.InteractionResponseModal {
		return nil, errors.New("the modal in ModalSubmit.Modal is not a type 9 response the bot sent")
	}
	for _, sub := range origin.submits {
		if sub.resp != nil {
			return nil, errors.New("this modal was already submitted and answered; open it again")
		}
	}
	userID := ms.UserID
	if userID == "" {
		userID = origin.userID
	}
	if userID != origin.userID {
		return nil, fmt.Errorf("the modal was shown to %s, not %s", origin.userID, userID)
	}
	guildID, channelID := ms.GuildID, ms.ChannelID
	if guildID == "" && channelID == "" || guildID == origin.guildID && channelID == "" {
		guildID, channelID = origin.guildID, origin.channelID
	}
	modal := decodeResponseData(origin.resp.data)
	fields := (&Response{Data: modal}).Fields()
	inputs := map[string]bool{}
	for _, ti := range fields {
		inputs[ti.CustomID] = true
	}
	for k := range ms.Values {
		if !inputs[k] {
			return nil, fmt.Errorf("the modal has no field %q (fields: %s)", k, orNone(slices.Sorted(maps.Keys(inputs))))
		}
	}
	var rows []any
	var parts []string
	for _, ti := range fields {
		v := ti.Value
		if nv, set := ms.Values[ti.CustomID]; set {
			v = nv
		}
		n := utf8.RuneCountInString(v)
		switch {
		case ti.Required && v == "":
			return nil, fmt.Errorf("field %q is required; Discord would not submit it empty", ti.CustomID)
		case v != "" && n < ti.MinLength:
			return nil, fmt.Errorf("field %q has %d characters, below its min_length %d; Discord would not submit it", ti.CustomID, n, ti.MinLength)
		case ti.MaxLength > 0 && n > ti.MaxLength:
			return nil, fmt.Errorf("field %q has %d characters, above its max_length %d; Discord would not submit it", ti.CustomID, n, ti.MaxLength)
		}
		rows = append(rows, map[string]any{"type": int(discordgo.ActionsRowComponent), "components": []any{
			map[string]any{"type": int(discordgo.TextInputComponent), "custom_id": ti.CustomID, "value": v}}})
		parts = append(parts, fmt.Sprintf("%s=%q", ti.CustomID, excerpt(v, 40)))
	}
	rec := &interactionRec{typ: discordgo.InteractionModalSubmit, userID: userID, guildID: guildID,
		modalOrigin: origin, sourceMsgID: origin.sourceMsgID,
		label: fmt.Sprintf("submits modal %q: %s", modal.CustomID, strings.Join(parts, " "))}
	rec.payload = wireInteraction{Type: int(rec.typ), Data: map[string]any{"custom_id": modal.CustomID, "components": rows}}
	if m, found := s.messages[origin.sourceMsgID]; found && !m.deleted {
		wm := s.wireMessageLocked(m)
		rec.payload.Message = &wm
	}
	ch, err := s.actorLocked(&rec.payload, userID, guildID, channelID, nil, 0)
	if err != nil {
		return nil, err
	}
	rec.channelID = ch
	return rec, nil
}
