package commands

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

// Discord's limits on what a message may carry.
const (
	maxContent       = 2000
	maxEmbedTitle    = 256
	maxEmbedDesc     = 4096
	maxFieldName     = 256
	maxFieldValue    = 1024
	maxFooter        = 2048
	maxEmbedFields   = 25
	maxEmbedTotal    = 6000
	maxChoices       = 25
	maxChoiceLen     = 100
	maxModalTitle    = 45
	maxTextInput     = 4000
	maxButtonsPerRow = 5
)

// noPings lets a message mention users by name without notifying anyone:
// "@everyone", "@here" and role mentions in user text stay plain text.
func noPings() *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
}

// pingOnly notifies exactly the given users and nobody else.
func pingOnly(userIDs ...string) *discordgo.MessageAllowedMentions {
	m := noPings()
	m.Users = append([]string(nil), userIDs...)
	return m
}

// ephemeral is a reply only the user who acted sees.
func ephemeral(content string, rows ...discordgo.MessageComponent) *discordgo.InteractionResponse {
	return &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{
			Content:         referral.Truncate(content, maxContent),
			Components:      rows,
			Flags:           discordgo.MessageFlagsEphemeral,
			AllowedMentions: noPings(),
		},
	}
}

// ephemeralEmbed is an ephemeral reply with one embed.
func ephemeralEmbed(content string, e *discordgo.MessageEmbed, rows ...discordgo.MessageComponent) *discordgo.InteractionResponse {
	resp := ephemeral(content, rows...)
	resp.Data.Embeds = []*discordgo.MessageEmbed{fitEmbed(e)}
	return resp
}

// update replaces the message a button was pressed on: new text and
// buttons, while its embeds (the request the user answered) stay.
func update(i *discordgo.Interaction, content string, rows ...discordgo.MessageComponent) *discordgo.InteractionResponse {
	embeds := []*discordgo.MessageEmbed{}
	if i.Message != nil && i.Message.Embeds != nil {
		embeds = i.Message.Embeds
	}
	if rows == nil {
		rows = []discordgo.MessageComponent{} // an empty list removes the old buttons
	}
	return &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseUpdateMessage,
		Data: &discordgo.InteractionResponseData{
			Content:         referral.Truncate(content, maxContent),
			Embeds:          embeds,
			Components:      rows,
			AllowedMentions: noPings(),
		},
	}
}

// choices answers autocomplete.
func choices(list []*discordgo.ApplicationCommandOptionChoice) *discordgo.InteractionResponse {
	if list == nil {
		list = []*discordgo.ApplicationCommandOptionChoice{}
	}
	return &discordgo.InteractionResponse{
		Type: discordgo.InteractionApplicationCommandAutocompleteResult,
		Data: &discordgo.InteractionResponseData{Choices: list},
	}
}

func (r *Router) noChoices(context.Context, *call) (*discordgo.InteractionResponse, error) {
	return choices(nil), nil
}

// row is one action row of buttons.
func row(buttons ...discordgo.Button) discordgo.ActionsRow {
	comps := make([]discordgo.MessageComponent, len(buttons))
	for i, b := range buttons {
		comps[i] = b
	}
	return discordgo.ActionsRow{Components: comps}
}

func button(label, customID string, style discordgo.ButtonStyle) discordgo.Button {
	return discordgo.Button{Label: label, CustomID: customID, Style: style}
}

func disabled(b discordgo.Button) discordgo.Button {
	b.Disabled = true
	return b
}

// options are a slash command's arguments by name.
type options map[string]*discordgo.ApplicationCommandInteractionDataOption

func newOptions(list []*discordgo.ApplicationCommandInteractionDataOption) options {
	o := options{}
	for _, opt := range list {
		if opt != nil {
			o[opt.Name] = opt
		}
	}
	return o
}

// string returns a string option, or an id for user, channel and role
// options; "" when absent.
func (o options) string(name string) string {
	opt := o[name]
	if opt == nil {
		return ""
	}
	s, _ := opt.Value.(string)
	return s
}

// int returns an integer option. JSON gives numbers as float64; tests may
// build other types, so all of them are read without panicking.
func (o options) int(name string) (int64, bool) {
	opt := o[name]
	if opt == nil {
		return 0, false
	}
	switch v := opt.Value.(type) {
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
			return 0, false
		}
		return int64(v), true
	case int:
		return int64(v), true
	case int64:
		return v, true
	case json.Number:
		n, err := v.Int64()
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// focused is the option being typed in an autocomplete interaction.
func (o options) focused() *discordgo.ApplicationCommandInteractionDataOption {
	for _, opt := range o {
		if opt.Focused {
			return opt
		}
	}
	return nil
}

// requestNumber reads the required "request" option.
func (o options) requestNumber() (int64, error) {
	n, ok := o.int("request")
	if !ok || n < 1 {
		return 0, refusal("Give the request number, as /referral status shows it (for example 12).")
	}
	return n, nil
}

// needGuild refuses commands that belong to one server when run elsewhere.
func (c *call) needGuild() error {
	if c.guildID == "" {
		return refusal("Please use this command in the server where you want referrals.")
	}
	return nil
}

func mention(userID string) string {
	if userID == "" {
		return "someone"
	}
	return "<@" + userID + ">"
}

func channelMention(id string) string { return "<#" + id + ">" }

func roleMention(id string) string { return "<@&" + id + ">" }

// day formats a date for users in loc.
func day(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Mon 2 Jan 2006")
}

// dayTime formats a moment for users in loc.
func dayTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Mon 2 Jan 2006, 15:04 MST")
}

// companyNames lists companies for a reply.
func companyNames(list []referral.Company) string {
	names := make([]string, 0, len(list))
	for _, c := range list {
		names = append(names, c.Name)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// plural writes "1 request" or "3 requests".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// fitEmbed keeps an embed within Discord's limits, cutting text at rune
// boundaries; a message with an oversized embed would be refused whole.
func fitEmbed(e *discordgo.MessageEmbed) *discordgo.MessageEmbed {
	if e == nil {
		return nil
	}
	e.Title = referral.Truncate(e.Title, maxEmbedTitle)
	e.Description = referral.Truncate(e.Description, maxEmbedDesc)
	if len(e.Fields) > maxEmbedFields {
		e.Fields = e.Fields[:maxEmbedFields]
	}
	for _, f := range e.Fields {
		f.Name = referral.Truncate(f.Name, maxFieldName)
		f.Value = referral.Truncate(f.Value, maxFieldValue)
		if strings.TrimSpace(f.Name) == "" {
			f.Name = "\u200b" // Discord refuses empty field names
		}
		if strings.TrimSpace(f.Value) == "" {
			f.Value = "-"
		}
	}
	if e.Footer != nil {
		e.Footer.Text = referral.Truncate(e.Footer.Text, maxFooter)
	}
	// The description is the user's long text; it gives way when the total is too big.
	if over := embedLen(e) - maxEmbedTotal; over > 0 {
		keep := runeLen(e.Description) - over
		if keep < 1 {
			keep = 1
		}
		e.Description = referral.Truncate(e.Description, keep)
	}
	for embedLen(e) > maxEmbedTotal && len(e.Fields) > 0 {
		e.Fields = e.Fields[:len(e.Fields)-1]
	}
	return e
}

// embedLen counts the characters Discord adds up against maxEmbedTotal.
func embedLen(e *discordgo.MessageEmbed) int {
	n := runeLen(e.Title) + runeLen(e.Description)
	for _, f := range e.Fields {
		n += runeLen(f.Name) + runeLen(f.Value)
	}
	if e.Footer != nil {
		n += runeLen(e.Footer.Text)
	}
	if e.Author != nil {
		n += runeLen(e.Author.Name)
	}
	return n
}

func runeLen(s string) int { return len([]rune(s)) }
