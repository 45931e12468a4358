package discordtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
)

// nonceWindow is how long enforce_nonce deduplicates, as on Discord.
const nonceWindow = 5 * time.Minute

type nonceKey struct{ channelID, nonce string }

type nonceRec struct {
	messageID string
	at        time.Time
}

// storedMessage is the server's own copy; snapshots are decoded from it.
type storedMessage struct {
	id, channelID, guildID, dmUserID string
	interactionID                    string
	visibleTo                        string // ephemeral: the only user who sees it
	content                          string
	embeds, components, mentions     json.RawMessage // canonical JSON
	files                            []File
	nonce                            string
	flags                            discordgo.MessageFlags
	edits                            int
	createdAt, editedAt              time.Time
	deleted                          bool
}

func (m *storedMessage) snapshot(authorID string) *Message {
	out := &Message{
		ID: m.id, ChannelID: m.channelID, GuildID: m.guildID, AuthorID: authorID, DMUserID: m.dmUserID,
		InteractionID: m.interactionID, Content: m.content, Nonce: m.nonce, Flags: m.flags, Edits: m.edits,
		CreatedAt: m.createdAt, EditedAt: m.editedAt, Deleted: m.deleted, Files: m.files,
		raw: rawParts{embeds: m.embeds, components: m.components, mentions: m.mentions},
	}
	return out.clone()
}

func (s *Server) snapshotLocked(id string) *Message {
	m, ok := s.messages[id]
	if !ok {
		return nil
	}
	return m.snapshot(s.bot.ID)
}

// messageChange is a parsed create or edit body; nil fields are absent
// (JSON null counts as absent).
type messageChange struct {
	content      *string
	embeds       json.RawMessage
	components   json.RawMessage
	mentions     json.RawMessage
	flags        *int64
	nonce        string
	enforceNonce bool
	files        []File
	extra        bool // a poll or stickers, which also make a message non-empty
}

// parseMessage decodes and checks message fields the way Discord does,
// returning canonical JSON for embeds, components and allowed mentions.
// readMessage reads a message body (JSON or multipart) and checks it as
// Discord would; extra adds the endpoint's own checks. When valid is false,
// res is the error answer.
func readMessage(r *http.Request, extra func(*formErrors, messageChange)) (ch messageChange, res result, valid bool) {
	p, err := readPayload(r)
	if err != nil {
		return ch, unreadable(err), false
	}
	f := &formErrors{}
	ch, apiErr := parseMessage(f, p.json, p.files)
	if apiErr != nil {
		return ch, badJSON(apiErr), false
	}
	if extra != nil {
		extra(f, ch)
	}
	if !f.empty() {
		return ch, f.result(), false
	}
	return ch, res, true
}

func parseMessage(f *formErrors, raw []byte, files []File) (messageChange, *apiError) {
	var w struct {
		Content         *string         `json:"content"`
		Embeds          json.RawMessage `json:"embeds"`
		Components      json.RawMessage `json:"components"`
		AllowedMentions json.RawMessage `json:"allowed_mentions"`
		Flags           *int64          `json:"flags"`
		Nonce           json.RawMessage `json:"nonce"`
		EnforceNonce    bool            `json:"enforce_nonce"`
		Poll            json.RawMessage `json:"poll"`
		StickerIDs      []string        `json:"sticker_ids"`
	}
	if len(raw) == 0 {
		raw = []byte("{}")
	}
	if e := decodeJSON(raw, &w); e != nil {
		return messageChange{}, e
	}
	ch := messageChange{content: w.Content, flags: w.Flags, enforceNonce: w.EnforceNonce, files: files,
		extra: present(w.Poll) || len(w.StickerIDs) > 0}
	if ch.content != nil {
		f.maxLen("content", *ch.content, 2000)
	}
	v2 := w.Flags != nil && discordgo.MessageFlags(*w.Flags)&discordgo.MessageFlagsIsComponentsV2 != 0
	if present(w.Embeds) {
		var es []*discordgo.MessageEmbed
		if err := json.Unmarshal(w.Embeds, &es); err != nil {
			f.add("embeds", "MODEL_TYPE_CONVERT", "Could not decode embeds: %v", err)
		} else {
			validateEmbeds(f, es)
			ch.embeds = mustJSON(orEmpty(es))
		}
	}
	if present(w.Components) {
		cs, err := parseComponents(w.Components)
		if err != nil {
			f.add("components", "UNION_TYPE_CHOICES", "Could not decode components: %v", err)
		} else {
			validateComponents(f, cs, v2)
			ch.components = mustJSON(orEmpty(cs))
		}
	}
	if present(w.AllowedMentions) {
		var am discordgo.MessageAllowedMentions
		if err := json.Unmarshal(w.AllowedMentions, &am); err != nil {
			f.add("allowed_mentions", "MODEL_TYPE_CONVERT", "Could not decode allowed_mentions: %v", err)
		} else {
			validateAllowedMentions(f, &am)
			ch.mentions = mustJSON(am)
		}
	}
	if present(w.Nonce) {
		var str string
		var num json.Number
		switch {
		case json.Unmarshal(w.Nonce, &str) == nil:
			ch.nonce = str
		case json.Unmarshal(w.Nonce, &num) == nil:
			ch.nonce = num.String()
		default:
			f.add("nonce", "BASE_TYPE_BAD", "nonce must be a string or an integer")
		}
		f.maxLen("nonce", ch.nonce, 25)
	}
	return ch, nil
}

func present(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }

func orEmpty[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("discordtest: marshal: " + err.Error())
	}
	return b
}

// apply changes the message; the caller checks isEmpty afterwards.
func (m *storedMessage) apply(ch messageChange) {
	if ch.content != nil {
		m.content = *ch.content
	}
	if ch.embeds != nil {
		m.embeds = ch.embeds
	}
	if ch.components != nil {
		m.components = ch.components
	}
	if ch.mentions != nil {
		m.mentions = ch.mentions
	}
	if ch.flags != nil {
		// Only these can change after creation; the rest are Discord's.
		const settable = discordgo.MessageFlagsSuppressEmbeds | discordgo.MessageFlagsSuppressNotifications | discordgo.MessageFlagsIsComponentsV2
		m.flags = m.flags&^settable | discordgo.MessageFlags(*ch.flags)&settable
	}
	m.files = append(m.files, ch.files...)
}

func (m *storedMessage) isEmpty(extra bool) bool {
	return m.content == "" && !hasItems(m.embeds) && len(m.files) == 0 && !extra &&
		!(m.flags&discordgo.MessageFlagsIsComponentsV2 != 0 && hasItems(m.components))
}

func hasItems(raw json.RawMessage) bool {
	return len(raw) > 2 // more than "[]"
}

func emptyMessage() result {
	return failure(http.StatusBadRequest, codeEmptyMessage, "Cannot send an empty message",
		"no content, embeds or files")
}

type wireAttachment struct {
	ID          string `json:"id"`
	Filename    string `json:"filename"`
	Size        int    `json:"size"`
	URL         string `json:"url"`
	ProxyURL    string `json:"proxy_url"`
	ContentType string `json:"content_type,omitempty"`
}

type wireMessage struct {
	ID              string           `json:"id"`
	Type            int              `json:"type"`
	ChannelID       string           `json:"channel_id"`
	GuildID         string           `json:"guild_id,omitempty"`
	Author          wireUser         `json:"author"`
	Content         string           `json:"content"`
	Timestamp       string           `json:"timestamp"`
	EditedTimestamp *string          `json:"edited_timestamp"`
	TTS             bool             `json:"tts"`
	MentionEveryone bool             `json:"mention_everyone"`
	Mentions        []wireUser       `json:"mentions"`
	MentionRoles    []string         `json:"mention_roles"`
	Attachments     []wireAttachment `json:"attachments"`
	Embeds          json.RawMessage  `json:"embeds"`
	Components      json.RawMessage  `json:"components"`
	Pinned          bool             `json:"pinned"`
	Flags           int              `json:"flags"`
	Nonce           string           `json:"nonce,omitempty"`
	WebhookID       string           `json:"webhook_id,omitempty"`
	ApplicationID   string           `json:"application_id,omitempty"`
}

func (s *Server) wireMessageLocked(m *storedMessage) wireMessage {
	w := wireMessage{
		ID: m.id, ChannelID: m.channelID, GuildID: m.guildID, Author: s.wireUserLocked(s.bot.ID),
		Content: m.content, Timestamp: m.createdAt.UTC().Format(time.RFC3339Nano),
		Mentions: []wireUser{}, MentionRoles: []string{}, Attachments: []wireAttachment{},
		Embeds: m.embeds, Components: m.components, Flags: int(m.flags), Nonce: m.nonce,
	}
	if w.Embeds == nil {
		w.Embeds = json.RawMessage("[]")
	}
	if w.Components == nil {
		w.Components = json.RawMessage("[]")
	}
	if !m.editedAt.IsZero() {
		t := m.editedAt.UTC().Format(time.RFC3339Nano)
		w.EditedTimestamp = &t
	}
	if m.interactionID != "" {
		w.Type = int(discordgo.MessageTypeChatInputCommand)
		w.WebhookID, w.ApplicationID = s.appID, s.appID
	}
	for i, f := range m.files {
		id := m.id + strconv.Itoa(i)
		url := fmt.Sprintf("%s/attachments/%s/%s/%s", s.base, m.channelID, id, f.Name)
		w.Attachments = append(w.Attachments, wireAttachment{ID: id, Filename: f.Name, Size: len(f.Data),
			URL: url, ProxyURL: url, ContentType: f.ContentType})
	}
	return w
}

func (s *Server) postMessage(r *http.Request) result {
	ch, res, valid := readMessage(r, func(f *formErrors, ch messageChange) {
		if ch.flags != nil && discordgo.MessageFlags(*ch.flags)&discordgo.MessageFlagsEphemeral != 0 {
			f.add("flags", "MESSAGE_FLAGS_INVALID", "Ephemeral messages exist only as interaction responses")
		}
	})
	if !valid {
		return res
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, found := s.channels[r.PathValue("channel")]
	if !found {
		return notFound(codeUnknownChannel, "Unknown Channel", "channel "+r.PathValue("channel"))
	}
	if c.dmUserID != "" && s.dmClosed[c.dmUserID] {
		return failure(http.StatusForbidden, codeCannotDM, "Cannot send messages to this user",
			"DMs of "+s.usernameLocked(c.dmUserID)+" are closed (CloseDMs)")
	}
	now := s.nowLocked()
	if ch.enforceNonce && ch.nonce != "" {
		if prev, seen := s.nonces[nonceKey{c.id, ch.nonce}]; seen && now.Sub(prev.at) < nonceWindow {
			if m, ok2 := s.messages[prev.messageID]; ok2 {
				res := ok(s.wireMessageLocked(m))
				return res
			}
		}
	}
	m := &storedMessage{id: s.newIDLocked(), channelID: c.id, guildID: c.guildID, dmUserID: c.dmUserID,
		nonce: ch.nonce, createdAt: now}
	m.apply(ch)
	if m.isEmpty(ch.extra) {
		return emptyMessage()
	}
	s.messages[m.id] = m
	s.posts[c.id] = append(s.posts[c.id], m.id)
	if ch.nonce != "" {
		s.nonces[nonceKey{c.id, ch.nonce}] = nonceRec{m.id, now}
	}
	snap := m.snapshot(s.bot.ID)
	if c.dmUserID != "" {
		s.addEventLocked(Event{Kind: "dm", UserID: c.dmUserID, ChannelID: c.id, Message: snap,
			Summary: fmt.Sprintf("DM to @%s: %s", s.usernameLocked(c.dmUserID), messageSummary(snap))})
	} else {
		s.addEventLocked(Event{Kind: "post", ChannelID: c.id, GuildID: c.guildID, Message: snap,
			Summary: fmt.Sprintf("post in #%s: %s", c.name, messageSummary(snap))})
	}
	return ok(s.wireMessageLocked(m))
}

// channelMessageLocked finds a message addressed through the channel
// endpoint; ephemeral messages are not reachable there.
func (s *Server) channelMessageLocked(r *http.Request) (*storedMessage, result, bool) {
	cid, mid := r.PathValue("channel"), r.PathValue("message")
	if _, found := s.channels[cid]; !found {
		return nil, notFound(codeUnknownChannel, "Unknown Channel", "channel "+cid), false
	}
	m, found := s.messages[mid]
	if !found || m.deleted || m.channelID != cid || m.visibleTo != "" {
		return nil, notFound(codeUnknownMessage, "Unknown Message", "message "+mid+" in channel "+cid), false
	}
	return m, result{}, true
}

func (s *Server) getMessage(r *http.Request) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, res, found := s.channelMessageLocked(r)
	if !found {
		return res
	}
	return ok(s.wireMessageLocked(m))
}

func (s *Server) editMessage(r *http.Request) result {
	ch, res, valid := readMessage(r, nil)
	if !valid {
		return res
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, res, found := s.channelMessageLocked(r)
	if !found {
		return res
	}
	return s.editLocked(m, ch, "")
}

// editLocked applies an edit and records it; an edit that would leave the
// message empty is refused and changes nothing.
func (s *Server) editLocked(m *storedMessage, ch messageChange, userID string) result {
	next := *m
	next.apply(ch)
	if next.isEmpty(ch.extra) {
		return emptyMessage()
	}
	next.edits++
	next.editedAt = s.nowLocked()
	next.flags &^= discordgo.MessageFlagsLoading
	*m = next
	snap := m.snapshot(s.bot.ID)
	if userID == "" {
		userID = m.dmUserID
	}
	s.addEventLocked(Event{Kind: "edit", UserID: userID, ChannelID: m.channelID, GuildID: m.guildID, Message: snap,
		Summary: fmt.Sprintf("edited message %s: %s", m.id, messageSummary(snap))})
	return ok(s.wireMessageLocked(m))
}

func (s *Server) deleteMessage(r *http.Request) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, res, found := s.channelMessageLocked(r)
	if !found {
		return res
	}
	s.deleteLocked(m)
	return noContent()
}

func (s *Server) deleteLocked(m *storedMessage) {
	m.deleted = true
	s.addEventLocked(Event{Kind: "delete", UserID: m.dmUserID, ChannelID: m.channelID, GuildID: m.guildID,
		Summary: "deleted message " + m.id})
}

// DMs lists the DMs the bot sent to the user through the channel endpoint
// (not deleted), oldest first, as current snapshots. Replies to
// interactions in the DM are read from their Interaction.
func (s *Server) DMs(userID string) []*Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dmsLocked(userID)
}

func (s *Server) dmsLocked(userID string) []*Message {
	id, found := s.dmChannel[userID]
	if !found {
		return nil
	}
	return s.postsLocked(id)
}

// ChannelMessages lists what the bot posted in a channel through the
// channel endpoint (not deleted), oldest first. Interaction replies and
// followups are read from their Interaction instead.
func (s *Server) ChannelMessages(channelID string) []*Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.postsLocked(channelID)
}

func (s *Server) postsLocked(channelID string) []*Message {
	var out []*Message
	for _, id := range s.posts[channelID] {
		if m := s.messages[id]; !m.deleted {
			out = append(out, m.snapshot(s.bot.ID))
		}
	}
	return out
}

// WaitDM returns the first DM to the user (earlier ones included) that
// satisfies match (nil matches any), waiting for it until ctx ends.
func (s *Server) WaitDM(ctx context.Context, userID string, match func(*Message) bool) (*Message, error) {
	return waitFor(ctx, s, func() (*Message, bool, error) {
		return firstMatch(s.dmsLocked(userID), match)
	}, func() string {
		return fmt.Sprintf("wait for a DM to %s: %s", s.usernameLocked(userID), describeMessages(s.dmsLocked(userID)))
	})
}

// WaitChannelMessage is WaitDM for a channel's posts.
func (s *Server) WaitChannelMessage(ctx context.Context, channelID string, match func(*Message) bool) (*Message, error) {
	return waitFor(ctx, s, func() (*Message, bool, error) {
		return firstMatch(s.postsLocked(channelID), match)
	}, func() string {
		return fmt.Sprintf("wait for a post in channel %s: %s", channelID, describeMessages(s.postsLocked(channelID)))
	})
}

func firstMatch(ms []*Message, match func(*Message) bool) (*Message, bool, error) {
	for _, m := range ms {
		if match == nil || match(m) {
			return m, true, nil
		}
	}
	return nil, false, nil
}

func describeMessages(ms []*Message) string {
	if len(ms) == 0 {
		return "none so far"
	}
	parts := make([]string, 0, len(ms))
	for _, m := range ms {
		parts = append(parts, strconv.Quote(excerpt(m.Text(), 60)))
	}
	return fmt.Sprintf("%d so far, none matching: %s", len(ms), strings.Join(parts, ", "))
}

// messageSummary is a one-line description for transcripts.
func messageSummary(m *Message) string {
	out := strconv.Quote(excerpt(m.Text(), 100))
	if bs := m.Buttons(); len(bs) > 0 {
		labels := make([]string, 0, len(bs))
		for _, b := range bs {
			l := b.Label
			if b.Disabled {
				l += " (disabled)"
			}
			labels = append(labels, l)
		}
		out += " [" + strings.Join(labels, "] [") + "]"
	}
	for _, f := range m.Files {
		out += fmt.Sprintf(" +file %s (%d bytes)", f.Name, len(f.Data))
	}
	if m.Ephemeral() {
		out = "(ephemeral) " + out
	}
	return out
}

func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
