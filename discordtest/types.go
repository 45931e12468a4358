package discordtest

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
)

// User is a Discord user in the fake's world.
type User struct {
	ID         string
	Username   string
	GlobalName string
	Bot        bool
}

// Guild is a server in the fake's world. The bot is a member of every guild.
type Guild struct {
	ID       string
	Name     string
	OwnerID  string
	Channels []Channel // text channels
	Roles    []Role    // the @everyone role (ID = guild ID) is added if missing
}

// Channel is a guild text channel.
type Channel struct {
	ID   string
	Name string
}

// Role is a guild role. Permissions feed the member permissions of
// interactions when Command.Permissions is zero.
type Role struct {
	ID          string
	Name        string
	Permissions int64
}

// Command is a user running a slash command (or typing into an autocomplete
// option, see Server.Autocomplete).
type Command struct {
	GuildID   string // empty: in the bot's DM, global commands only
	ChannelID string // empty: the guild's first channel (or the user's DM)
	UserID    string
	// Permissions is the member's permission bitfield; zero means computed
	// from the member's roles (the owner has all permissions).
	Permissions int64
	Roles       []string // nil: the member's roles in the world
	Name        string   // e.g. "referral"
	Subcommand  string   // e.g. "request"; "group sub" for a subcommand group
	Options     []Option
	Focused     string // Autocomplete only: the option being typed
}

// Option is one filled-in command option. Values: string, any integer or
// integral float for integer options, float64 for numbers, bool, and IDs
// (string) for user, channel, role and mentionable options.
type Option struct {
	Name  string
	Value any
}

// Press is a user clicking a button on a message the bot sent.
type Press struct {
	UserID  string
	GuildID string // optional; derived from the message's channel
	Message *Message
	Label   string
	// CustomID picks the button by custom_id instead of Label.
	CustomID string
	// Forged sends the press even though the user cannot see the message
	// (someone else's DM or ephemeral reply), as a modified client could:
	// the bot must check who pressed.
	Forged bool
}

// ModalSubmit is a user submitting a modal the bot opened.
type ModalSubmit struct {
	UserID    string // empty: the user the modal was shown to
	GuildID   string // empty: where the modal was opened
	ChannelID string // empty: where the modal was opened
	Modal     *Response
	Values    map[string]string // by text input custom_id; others keep the pre-filled value
}

// File is an attachment the bot uploaded.
type File struct {
	Name        string
	ContentType string
	Data        []byte
}

// Message is a snapshot of a message the bot created: a channel post, a DM,
// an interaction reply or a followup. Snapshots are never changed by the
// server; ask again to see later edits.
type Message struct {
	ID              string
	ChannelID       string
	GuildID         string
	AuthorID        string
	DMUserID        string // the recipient, for DMs
	InteractionID   string // for interaction replies and followups
	Content         string
	Embeds          []*discordgo.MessageEmbed
	Components      []discordgo.MessageComponent
	AllowedMentions *discordgo.MessageAllowedMentions
	Files           []File
	Nonce           string
	Flags           discordgo.MessageFlags
	Edits           int
	CreatedAt       time.Time
	EditedAt        time.Time // zero if never edited
	Deleted         bool

	raw rawParts
}

// rawParts keeps the canonical JSON a snapshot was decoded from, so clones
// share nothing with the original.
type rawParts struct {
	embeds, components, mentions json.RawMessage
}

// Ephemeral reports whether only the interaction's user sees the message.
func (m *Message) Ephemeral() bool {
	return m.Flags&discordgo.MessageFlagsEphemeral != 0
}

// Buttons lists the message's buttons in order, including disabled ones.
func (m *Message) Buttons() []discordgo.Button {
	return buttons(m.Components)
}

// Text flattens content and embeds (title, description, fields, footer)
// into lines, for asserting on what a user reads.
func (m *Message) Text() string {
	return flattenText(m.Content, m.Embeds)
}

func (m *Message) clone() *Message {
	if m == nil {
		return nil
	}
	c := *m
	c.Embeds = decodeEmbeds(m.raw.embeds)
	c.Components = decodeComponents(m.raw.components)
	c.AllowedMentions = decodeMentions(m.raw.mentions)
	c.Files = cloneFiles(m.Files)
	return &c
}

// Response is the bot's answer (callback) to an interaction.
type Response struct {
	Type          discordgo.InteractionResponseType
	Data          *discordgo.InteractionResponseData // nil if the bot sent none
	Ephemeral     bool
	Files         []File
	At            time.Time
	InteractionID string
	// Deferred: the bot deferred and then completed its answer (see
	// Interaction.Answer); Type is then what the answer became.
	Deferred bool

	raw     json.RawMessage
	message *Message
}

// Message is the message the response created or updated (types 4, 5 and
// 7; 6 gives the message the component is on), so a button on an
// ephemeral reply can be pressed. It is nil for other types.
func (r *Response) Message() *Message {
	return r.message.clone()
}

// Text is the response's content and embeds, flattened like Message.Text.
func (r *Response) Text() string {
	if r.Data == nil {
		return ""
	}
	return flattenText(r.Data.Content, r.Data.Embeds)
}

// Buttons lists the buttons in the response data.
func (r *Response) Buttons() []discordgo.Button {
	if r.Data == nil {
		return nil
	}
	return buttons(r.Data.Components)
}

// Fields lists a modal's text inputs with their pre-filled values.
func (r *Response) Fields() []discordgo.TextInput {
	if r.Data == nil {
		return nil
	}
	var out []discordgo.TextInput
	walkComponents(r.Data.Components, func(c discordgo.MessageComponent) {
		switch t := c.(type) {
		case *discordgo.TextInput:
			out = append(out, *t)
		case discordgo.TextInput:
			out = append(out, t)
		}
	})
	return out
}

// Field returns the pre-filled value of a modal's text input.
func (r *Response) Field(customID string) (value string, ok bool) {
	for _, f := range r.Fields() {
		if f.CustomID == customID {
			return f.Value, true
		}
	}
	return "", false
}

func (r *Response) clone() *Response {
	if r == nil {
		return nil
	}
	c := *r
	c.Data = decodeResponseData(r.raw)
	c.Files = cloneFiles(r.Files)
	c.message = r.message.clone()
	return &c
}

// Event is one line of the story, in order: what users did, what the bot
// answered or sent, and faults (injected or caused by the bot).
type Event struct {
	At time.Time
	// Kind is one of "command", "autocomplete", "button", "modal",
	// "response", "followup", "edit", "delete", "dm", "post", "register",
	// "connect", "resume", "fault".
	Kind      string
	UserID    string
	ChannelID string
	GuildID   string
	Summary   string
	Message   *Message
	Response  *Response
}

// String is a transcript line: time, kind and summary.
func (e Event) String() string {
	return fmt.Sprintf("%s %-12s %s", e.At.Format("15:04:05.000"), e.Kind, e.Summary)
}

// RequestLog is one REST call the bot made.
type RequestLog struct {
	At     time.Time
	Method string
	Path   string // without the /api/v9 prefix and query
	Query  string
	Status int
	Auth   string // "present", "missing" or "invalid"; the token is never kept
	Fault  string // why it was not served normally, "" if it was
}

// Match reports whether the request's method and path match a pattern as
// used by FailNext ('*' is one path segment; method "" or "*" is any).
func (l RequestLog) Match(method, pathPattern string) bool {
	return matchRoute(method, splitPattern(pathPattern), l.Method, l.Path)
}

func buttons(cs []discordgo.MessageComponent) []discordgo.Button {
	var out []discordgo.Button
	walkComponents(cs, func(c discordgo.MessageComponent) {
		switch b := c.(type) {
		case *discordgo.Button:
			out = append(out, *b)
		case discordgo.Button:
			out = append(out, b)
		}
	})
	return out
}

// walkComponents visits components depth first, inside rows, sections and
// containers.
func walkComponents(cs []discordgo.MessageComponent, f func(discordgo.MessageComponent)) {
	for _, c := range cs {
		if c == nil {
			continue
		}
		f(c)
		switch t := c.(type) {
		case *discordgo.ActionsRow:
			walkComponents(t.Components, f)
		case discordgo.ActionsRow:
			walkComponents(t.Components, f)
		case *discordgo.Section:
			walkComponents(t.Components, f)
			walkComponents([]discordgo.MessageComponent{t.Accessory}, f)
		case *discordgo.Container:
			walkComponents(t.Components, f)
		}
	}
}

func flattenText(content string, embeds []*discordgo.MessageEmbed) string {
	var lines []string
	if content != "" {
		lines = append(lines, content)
	}
	for _, e := range embeds {
		if e == nil {
			continue
		}
		if e.Author != nil && e.Author.Name != "" {
			lines = append(lines, e.Author.Name)
		}
		if e.Title != "" {
			lines = append(lines, e.Title)
		}
		if e.Description != "" {
			lines = append(lines, e.Description)
		}
		for _, f := range e.Fields {
			if f != nil {
				lines = append(lines, f.Name+": "+f.Value)
			}
		}
		if e.Footer != nil && e.Footer.Text != "" {
			lines = append(lines, e.Footer.Text)
		}
	}
	return strings.Join(lines, "\n")
}

func cloneFiles(fs []File) []File {
	if fs == nil {
		return nil
	}
	out := make([]File, len(fs))
	for i, f := range fs {
		out[i] = File{Name: f.Name, ContentType: f.ContentType, Data: append([]byte(nil), f.Data...)}
	}
	return out
}

func decodeEmbeds(raw json.RawMessage) []*discordgo.MessageEmbed {
	var out []*discordgo.MessageEmbed
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &out) // canonical JSON written by the server
	}
	return out
}

func decodeMentions(raw json.RawMessage) *discordgo.MessageAllowedMentions {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var out discordgo.MessageAllowedMentions
	if json.Unmarshal(raw, &out) != nil {
		return nil
	}
	return &out
}

func decodeComponents(raw json.RawMessage) []discordgo.MessageComponent {
	cs, _ := parseComponents(raw)
	return cs
}

// parseComponents decodes a JSON array of components with discordgo's own
// unmarshalling, which picks the concrete type from "type".
func parseComponents(raw json.RawMessage) ([]discordgo.MessageComponent, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, err
	}
	out := make([]discordgo.MessageComponent, 0, len(items))
	for _, it := range items {
		c, err := discordgo.MessageComponentFromJSON(it)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// decodeResponseData decodes interaction response data; the components
// need discordgo's unmarshalling, which InteractionResponseData lacks.
func decodeResponseData(raw json.RawMessage) *discordgo.InteractionResponseData {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	type plain discordgo.InteractionResponseData
	var v struct {
		plain
		Components json.RawMessage `json:"components"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	d := discordgo.InteractionResponseData(v.plain)
	d.Components = decodeComponents(v.Components)
	return &d
}
