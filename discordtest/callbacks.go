package discordtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
)

// tokenLifetime is how long an interaction token works for followups and
// edits, as on Discord.
const tokenLifetime = 15 * time.Minute

// Interaction is a handle on an interaction a test sent to the bot.
type Interaction struct {
	ID    string
	Token string

	s *Server
}

// Response waits for the bot's callback and returns it.
func (i *Interaction) Response(ctx context.Context) (*Response, error) {
	return waitFor(ctx, i.s, func() (*Response, bool, error) {
		it, err := i.answeredLocked()
		if it == nil {
			return nil, false, err
		}
		return i.s.responseLocked(it), true, nil
	}, func() string { return i.s.noAnswerLocked(i.s.interactions[i.ID], "response") })
}

// Answer waits for what the user ends up seeing. It is the callback
// itself, unless that was a deferral: then, once the bot completes it, a
// deferred reply (type 5) reads as the reply it became (type 4), and a
// deferred update (type 6) as the update of the component's message (type
// 7) or, when the bot answered with a followup instead, as that followup
// (type 4). Deferred is set on such answers.
func (i *Interaction) Answer(ctx context.Context) (*Response, error) {
	return waitFor(ctx, i.s, func() (*Response, bool, error) {
		it, err := i.answeredLocked()
		if it == nil {
			return nil, false, err
		}
		typ := it.resp.typ
		if typ != discordgo.InteractionResponseDeferredChannelMessageWithSource && typ != discordgo.InteractionResponseDeferredMessageUpdate {
			return i.s.responseLocked(it), true, nil
		}
		var m *storedMessage
		final := discordgo.InteractionResponseChannelMessageWithSource
		if typ == discordgo.InteractionResponseDeferredChannelMessageWithSource {
			if orig := i.s.messages[it.originalID]; orig.flags&discordgo.MessageFlagsLoading == 0 {
				m = orig
			}
		} else if orig := i.s.messages[it.originalID]; orig.edits > it.originalEdits {
			m, final = orig, discordgo.InteractionResponseUpdateMessage
		}
		if m == nil {
			for _, id := range it.followups {
				if f := i.s.messages[id]; !f.deleted {
					m = f
					break
				}
			}
		}
		if m == nil {
			return nil, false, nil
		}
		snap := m.snapshot(i.s.bot.ID)
		raw, err := json.Marshal(&discordgo.InteractionResponseData{Content: snap.Content, Embeds: snap.Embeds,
			Components: snap.Components, AllowedMentions: snap.AllowedMentions, Flags: snap.Flags})
		if err != nil {
			return nil, false, err
		}
		r := &Response{Type: final, Deferred: true, Ephemeral: snap.Ephemeral(), Files: snap.Files, At: snap.EditedAt,
			InteractionID: it.id, raw: raw, message: snap}
		if r.At.IsZero() {
			r.At = snap.CreatedAt
		}
		return r.clone(), true, nil
	}, func() string { return i.s.noAnswerLocked(i.s.interactions[i.ID], "answer") })
}

// Original waits for the interaction's message and returns it: the reply
// (type 4), the deferred reply once edited or filled by a followup (type
// 5), or the message a component is on once updated (types 6 and 7).
func (i *Interaction) Original(ctx context.Context) (*Message, error) {
	return waitFor(ctx, i.s, func() (*Message, bool, error) {
		it, err := i.answeredLocked()
		if it == nil {
			return nil, false, err
		}
		m := i.s.messages[it.originalID]
		switch it.resp.typ {
		case discordgo.InteractionResponseChannelMessageWithSource, discordgo.InteractionResponseUpdateMessage:
		case discordgo.InteractionResponseDeferredChannelMessageWithSource:
			if m.flags&discordgo.MessageFlagsLoading != 0 {
				return nil, false, nil
			}
		case discordgo.InteractionResponseDeferredMessageUpdate:
			if m.edits <= it.originalEdits {
				return nil, false, nil
			}
		default:
			return nil, false, fmt.Errorf("discordtest: interaction %s was answered with type %d, which has no message", i.ID, it.resp.typ)
		}
		return m.snapshot(i.s.bot.ID), true, nil
	}, func() string { return i.s.noAnswerLocked(i.s.interactions[i.ID], "original message") })
}

// Followups lists the followup messages the bot sent (not deleted).
func (i *Interaction) Followups() []*Message {
	i.s.mu.Lock()
	defer i.s.mu.Unlock()
	it, err := i.lookupLocked()
	if err != nil {
		return nil
	}
	return i.s.followupsLocked(it)
}

// answeredLocked is the interaction once the bot has answered it; nil
// while it has not, with an error if it never will.
func (i *Interaction) answeredLocked() (*interactionRec, error) {
	it, err := i.lookupLocked()
	if err == nil && it.resp == nil && it.failed != "" {
		err = fmt.Errorf("discordtest: interaction %s (%s) failed: %s", it.id, it.label, it.failed)
	}
	if err != nil || it.resp == nil {
		return nil, err
	}
	return it, nil
}

func (i *Interaction) lookupLocked() (*interactionRec, error) {
	if it, found := i.s.interactions[i.ID]; found {
		return it, nil
	}
	return nil, fmt.Errorf("discordtest: unknown interaction %q", i.ID)
}

// WaitFollowup returns the first followup (earlier ones included)
// satisfying match (nil matches any), waiting until ctx ends.
func (i *Interaction) WaitFollowup(ctx context.Context, match func(*Message) bool) (*Message, error) {
	return waitFor(ctx, i.s, func() (*Message, bool, error) {
		it, err := i.lookupLocked()
		if err != nil {
			return nil, false, err
		}
		return firstMatch(i.s.followupsLocked(it), match)
	}, func() string {
		return i.s.noAnswerLocked(i.s.interactions[i.ID], "followup") + "; followups: " +
			describeMessages(i.s.followupsLocked(i.s.interactions[i.ID]))
	})
}

func (s *Server) followupsLocked(it *interactionRec) []*Message {
	var out []*Message
	for _, id := range it.followups {
		if m := s.messages[id]; !m.deleted {
			out = append(out, m.snapshot(s.bot.ID))
		}
	}
	return out
}

// noAnswerLocked explains a wait that timed out.
func (s *Server) noAnswerLocked(it *interactionRec, what string) string {
	msg := fmt.Sprintf("wait for the %s to interaction %s (%s)", what, it.id, it.label)
	switch {
	case it.failed != "":
		msg += ": " + it.failed
	case it.deliveredAt.IsZero():
		msg += ": not yet delivered to the bot (gateway down?)"
	case it.resp == nil:
		msg += fmt.Sprintf(": no callback %v after delivery", time.Since(it.deliveredAt).Round(time.Millisecond))
	default:
		msg += fmt.Sprintf(": answered with type %d", it.resp.typ)
	}
	if it.lastErr != "" {
		msg += "; last refused callback: " + it.lastErr
	}
	return msg
}

func (s *Server) responseLocked(it *interactionRec) *Response {
	r := &Response{Type: it.resp.typ, Ephemeral: it.resp.ephemeral, Files: it.resp.files, At: it.resp.at,
		InteractionID: it.id, raw: it.resp.data}
	if it.originalID != "" {
		r.message = s.snapshotLocked(it.originalID)
	}
	return r.clone()
}

// allowedResponses lists the callback types Discord accepts per
// interaction type.
var allowedResponses = map[discordgo.InteractionType][]discordgo.InteractionResponseType{
	discordgo.InteractionApplicationCommand:             {4, 5, 9},
	discordgo.InteractionMessageComponent:               {4, 5, 6, 7, 9},
	discordgo.InteractionModalSubmit:                    {4, 5, 6, 7},
	discordgo.InteractionApplicationCommandAutocomplete: {8},
}

func (s *Server) interactionCallback(r *http.Request) result {
	p, err := readPayload(r)
	if err != nil {
		return unreadable(err)
	}
	var body struct {
		Type discordgo.InteractionResponseType `json:"type"`
		Data json.RawMessage                   `json:"data"`
	}
	if e := decodeJSON(p.json, &body); e != nil {
		return badJSON(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, found := s.interactions[r.PathValue("id")]
	if !found || it.token != r.PathValue("token") {
		return notFound(codeUnknownInteraction, "Unknown interaction", "no interaction with this id and token")
	}
	res := s.callbackLocked(it, body.Type, body.Data, p.files)
	if res.err != nil && res.err.Code != codeAlreadyAcked {
		it.lastErr = res.err.describe()
		s.notifyLocked()
	}
	return res
}

func (s *Server) callbackLocked(it *interactionRec, typ discordgo.InteractionResponseType, data json.RawMessage, files []File) result {
	if it.resp != nil {
		return failure(http.StatusBadRequest, codeAlreadyAcked, "Interaction has already been acknowledged.",
			fmt.Sprintf("second callback (type %d) to %s, first was type %d", typ, it.label, it.resp.typ))
	}
	if late := time.Since(it.deliveredAt); it.deliveredAt.IsZero() || late > it.deadline {
		return notFound(codeUnknownInteraction, "Unknown interaction",
			fmt.Sprintf("callback %v after delivery, past the %v deadline", late.Round(time.Millisecond), it.deadline))
	}
	f := &formErrors{}
	if !slices.Contains(allowedResponses[it.typ], typ) ||
		(it.typ == discordgo.InteractionModalSubmit && (typ == 6 || typ == 7) && it.sourceMsgID == "") {
		f.add("type", "INTERACTION_RESPONSE_TYPE_INVALID", "Response type %d is not valid for interaction type %d (%s)", typ, it.typ, it.label)
		return f.result()
	}
	now := time.Now()
	resp := &responseRec{typ: typ, data: data, files: files, at: now}
	switch typ {
	case discordgo.InteractionResponseChannelMessageWithSource, discordgo.InteractionResponseDeferredChannelMessageWithSource:
		f.prefix = "data."
		ch, apiErr := parseMessage(f, data, files)
		if apiErr != nil {
			return badJSON(apiErr)
		}
		if !f.empty() {
			return f.result()
		}
		m := s.newInteractionMessageLocked(it, ch)
		if typ == discordgo.InteractionResponseDeferredChannelMessageWithSource {
			m.content, m.embeds, m.components, m.files = "", nil, nil, nil
			m.flags |= discordgo.MessageFlagsLoading
		} else if m.isEmpty(ch.extra) {
			return emptyMessage()
		}
		resp.ephemeral = m.flags&discordgo.MessageFlagsEphemeral != 0
		s.messages[m.id] = m
		it.originalID = m.id
	case discordgo.InteractionResponseDeferredMessageUpdate, discordgo.InteractionResponseUpdateMessage:
		src, found := s.messages[it.sourceMsgID]
		if !found || src.deleted {
			return notFound(codeUnknownMessage, "Unknown Message", "the component's message is gone")
		}
		resp.ephemeral = src.flags&discordgo.MessageFlagsEphemeral != 0
		it.originalID, it.originalEdits = src.id, src.edits
		if typ == discordgo.InteractionResponseUpdateMessage {
			f.prefix = "data."
			ch, apiErr := parseMessage(f, data, files)
			if apiErr != nil {
				return badJSON(apiErr)
			}
			if !f.empty() {
				return f.result()
			}
			next := *src
			next.apply(ch)
			if next.isEmpty(ch.extra) {
				return emptyMessage()
			}
			next.edits++
			next.editedAt = now
			*src = next
		}
	case discordgo.InteractionApplicationCommandAutocompleteResult:
		d := decodeResponseData(data)
		if d == nil {
			f.add("data", "BASE_TYPE_REQUIRED", "This field is required")
		} else {
			validateChoices(f, d.Choices)
		}
	case discordgo.InteractionResponseModal:
		var raw struct {
			Components json.RawMessage `json:"components"`
		}
		if present(data) {
			_ = json.Unmarshal(data, &raw)
		}
		if _, err := parseComponents(raw.Components); err != nil {
			f.add("data.components", "UNION_TYPE_CHOICES", "Could not decode components: %v", err)
		} else {
			validateModal(f, decodeResponseData(data))
		}
	}
	if !f.empty() {
		return f.result()
	}
	it.resp = resp
	snap := s.responseLocked(it)
	s.addEventLocked(Event{Kind: "response", UserID: it.userID, ChannelID: it.channelID, GuildID: it.guildID,
		Response: snap, Message: snap.message, Summary: fmt.Sprintf("to @%s %s: %s", s.usernameLocked(it.userID), it.label, responseSummary(snap))})
	return noContent()
}

// newInteractionMessageLocked is a reply or followup in the interaction's
// channel, ephemeral if flags say so.
func (s *Server) newInteractionMessageLocked(it *interactionRec, ch messageChange) *storedMessage {
	m := &storedMessage{id: s.newIDLocked(), channelID: it.channelID, guildID: it.guildID, interactionID: it.id, createdAt: s.nowLocked()}
	if c := s.channels[it.channelID]; c != nil {
		m.dmUserID = c.dmUserID
	}
	m.apply(ch)
	if ch.flags != nil && discordgo.MessageFlags(*ch.flags)&discordgo.MessageFlagsEphemeral != 0 {
		m.flags |= discordgo.MessageFlagsEphemeral
		m.visibleTo = it.userID
	}
	return m
}

func responseSummary(r *Response) string {
	switch r.Type {
	case discordgo.InteractionResponseChannelMessageWithSource:
		return "reply " + messageSummary(r.message)
	case discordgo.InteractionResponseDeferredChannelMessageWithSource:
		if r.Ephemeral {
			return "deferred (ephemeral)"
		}
		return "deferred"
	case discordgo.InteractionResponseDeferredMessageUpdate:
		return "deferred update of message " + r.message.ID
	case discordgo.InteractionResponseUpdateMessage:
		return "updated message " + r.message.ID + ": " + messageSummary(r.message)
	case discordgo.InteractionApplicationCommandAutocompleteResult:
		var names []string
		if r.Data != nil {
			for _, c := range r.Data.Choices {
				names = append(names, c.Name)
			}
		}
		return fmt.Sprintf("%d choice(s): %s", len(names), strings.Join(names, ", "))
	case discordgo.InteractionResponseModal:
		var ids []string
		for _, f := range r.Fields() {
			ids = append(ids, f.CustomID)
		}
		return fmt.Sprintf("modal %q (%s) with fields %s", r.Data.Title, r.Data.CustomID, strings.Join(ids, ", "))
	}
	return "type " + strconv.Itoa(int(r.Type))
}

// webhookLocked finds the interaction behind /webhooks/{app}/{token}.
func (s *Server) webhookLocked(r *http.Request) (*interactionRec, result, bool) {
	if app := r.PathValue("app"); app != s.appID {
		return nil, notFound(codeUnknownWebhook, "Unknown Webhook", "webhook "+app+" is not the application"), false
	}
	it, found := s.tokens[r.PathValue("token")]
	if !found || (!it.deliveredAt.IsZero() && time.Since(it.deliveredAt) > tokenLifetime) {
		return nil, failure(http.StatusUnauthorized, codeInvalidToken, "Invalid Webhook Token", "unknown or expired interaction token"), false
	}
	if it.resp == nil {
		return nil, notFound(codeUnknownWebhook, "Unknown Webhook", "the interaction is not acknowledged yet"), false
	}
	return it, result{}, true
}

func (s *Server) createFollowup(r *http.Request) result {
	ch, res, valid := readMessage(r, nil)
	if !valid {
		return res
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, res, found := s.webhookLocked(r)
	if !found {
		return res
	}
	m := s.messages[it.originalID]
	if it.resp.typ == discordgo.InteractionResponseDeferredChannelMessageWithSource && m.flags&discordgo.MessageFlagsLoading != 0 {
		// The first followup after a deferred reply fills it, keeping the
		// deferral's ephemeral flag.
		next := *m
		next.apply(ch)
		if next.isEmpty(ch.extra) {
			return emptyMessage()
		}
		next.flags &^= discordgo.MessageFlagsLoading
		*m = next
	} else {
		m = s.newInteractionMessageLocked(it, ch)
		if m.isEmpty(ch.extra) {
			return emptyMessage()
		}
		s.messages[m.id] = m
	}
	it.followups = append(it.followups, m.id)
	snap := m.snapshot(s.bot.ID)
	s.addEventLocked(Event{Kind: "followup", UserID: it.userID, ChannelID: m.channelID, GuildID: m.guildID, Message: snap,
		Summary: fmt.Sprintf("to @%s %s: followup %s", s.usernameLocked(it.userID), it.label, messageSummary(snap))})
	if r.URL.Query().Get("wait") != "true" {
		return noContent()
	}
	return ok(s.wireMessageLocked(m))
}

// webhookMessageLocked resolves @original or a followup ID.
func (s *Server) webhookMessageLocked(r *http.Request) (*interactionRec, *storedMessage, result, bool) {
	it, res, found := s.webhookLocked(r)
	if !found {
		return nil, nil, res, false
	}
	id := r.PathValue("message")
	if id == "@original" {
		id = it.originalID
	} else if !slices.Contains(it.followups, id) {
		id = ""
	}
	m, found := s.messages[id]
	if !found || m.deleted {
		return nil, nil, notFound(codeUnknownMessage, "Unknown Message",
			fmt.Sprintf("no message %s for %s (response type %d)", r.PathValue("message"), it.label, it.resp.typ)), false
	}
	return it, m, result{}, true
}

func (s *Server) getWebhookMessage(r *http.Request) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, m, res, found := s.webhookMessageLocked(r)
	if !found {
		return res
	}
	return ok(s.wireMessageLocked(m))
}

func (s *Server) editWebhookMessage(r *http.Request) result {
	ch, res, valid := readMessage(r, nil)
	if !valid {
		return res
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, m, res, found := s.webhookMessageLocked(r)
	if !found {
		return res
	}
	return s.editLocked(m, ch, it.userID)
}

func (s *Server) deleteWebhookMessage(r *http.Request) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, m, res, found := s.webhookMessageLocked(r)
	if !found {
		return res
	}
	s.deleteLocked(m)
	return noContent()
}
