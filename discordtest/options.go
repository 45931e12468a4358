package discordtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
)

// commandLocked builds a slash command (or autocomplete) interaction from
// the bot's registration, the way Discord's client fills it in.
func (s *Server) commandLocked(c Command, autocomplete bool) (*interactionRec, error) {
	if c.UserID == "" {
		return nil, errors.New("empty Command.UserID")
	}
	if !s.registered {
		return nil, notYet("the bot has not registered any commands yet")
	}
	cmd := s.findCommandLocked(c.GuildID, c.Name)
	if cmd == nil {
		where := "globally"
		if c.GuildID != "" {
			where = fmt.Sprintf("in guild %s (%s) or globally (%s)", c.GuildID, commandNames(s.commands[c.GuildID]), commandNames(s.commands[""]))
		} else {
			where += " (" + commandNames(s.commands[""]) + "); guild commands need Command.GuildID"
		}
		return nil, fmt.Errorf("no command /%s registered %s", c.Name, where)
	}
	if err := checkContext(cmd, c.GuildID != ""); err != nil {
		return nil, err
	}
	defs, chain, err := resolveSubcommand(cmd, c.Subcommand)
	if err != nil {
		return nil, err
	}
	label := "/" + strings.Join(append([]string{cmd.Name}, strings.Fields(c.Subcommand)...), " ")
	if autocomplete {
		if c.Focused == "" {
			return nil, fmt.Errorf("%s: autocomplete needs Command.Focused", label)
		}
		if !slices.ContainsFunc(c.Options, func(o Option) bool { return o.Name == c.Focused }) {
			c.Options = append(slices.Clip(c.Options), Option{Name: c.Focused, Value: ""})
		}
	}

	res := &wireResolved{}
	var opts []wireOption
	given := map[string]bool{}
	var parts []string
	for _, o := range c.Options {
		def := findOption(defs, o.Name)
		if def == nil || def.Type == discordgo.ApplicationCommandOptionSubCommand || def.Type == discordgo.ApplicationCommandOptionSubCommandGroup {
			return nil, fmt.Errorf("%s has no option %q (options: %s)", label, o.Name, optionNames(defs))
		}
		if given[o.Name] {
			return nil, fmt.Errorf("%s: option %q given twice", label, o.Name)
		}
		given[o.Name] = true
		focused := autocomplete && o.Name == c.Focused
		if focused && !def.Autocomplete {
			return nil, fmt.Errorf("%s: option %q is not registered with autocomplete", label, o.Name)
		}
		v, err := s.optionValueLocked(def, o.Value, c.GuildID, focused, res)
		if err != nil {
			return nil, fmt.Errorf("%s: option %q: %w", label, o.Name, err)
		}
		opts = append(opts, wireOption{Name: o.Name, Type: int(def.Type), Value: v, Focused: focused})
		parts = append(parts, fmt.Sprintf("%s:%v", o.Name, v))
	}
	if !autocomplete {
		for _, def := range defs {
			if def.Required && !given[def.Name] {
				return nil, fmt.Errorf("%s: missing required option %q", label, def.Name)
			}
		}
	}
	for i := len(chain) - 1; i >= 0; i-- {
		opts = []wireOption{{Name: chain[i].Name, Type: int(chain[i].Type), Options: opts}}
	}
	data := wireCommandData{ID: cmd.ID, Name: cmd.Name, Type: int(discordgo.ChatApplicationCommand), GuildID: cmd.GuildID, Options: opts}
	if !res.empty() {
		data.Resolved = res
	}
	typ := discordgo.InteractionApplicationCommand
	if autocomplete {
		typ = discordgo.InteractionApplicationCommandAutocomplete
		label = "types " + strconv.Quote(fmt.Sprint(optionValue(c.Options, c.Focused))) + " into " + label + " " + c.Focused
	} else if len(parts) > 0 {
		label += " " + strings.Join(parts, " ")
	}
	rec := &interactionRec{typ: typ, userID: c.UserID, guildID: c.GuildID, label: label}
	rec.payload = wireInteraction{Type: int(typ), Data: data}
	ch, err := s.actorLocked(&rec.payload, c.UserID, c.GuildID, c.ChannelID, c.Roles, c.Permissions)
	if err != nil {
		return nil, err
	}
	rec.channelID = ch
	return rec, nil
}

func optionValue(opts []Option, name string) any {
	for _, o := range opts {
		if o.Name == name {
			return o.Value
		}
	}
	return ""
}

func (s *Server) findCommandLocked(guildID, name string) *discordgo.ApplicationCommand {
	scopes := []string{""}
	if guildID != "" {
		scopes = []string{guildID, ""}
	}
	for _, sc := range scopes {
		for _, c := range s.commands[sc] {
			if c.Name == name && c.Type == discordgo.ChatApplicationCommand {
				return c
			}
		}
	}
	return nil
}

// checkContext applies contexts (and the older dm_permission) of a global
// command; guild commands exist only in their guild.
func checkContext(cmd *discordgo.ApplicationCommand, inGuild bool) error {
	want := discordgo.InteractionContextBotDM
	if inGuild {
		want = discordgo.InteractionContextGuild
	}
	if cmd.Contexts != nil && !slices.Contains(*cmd.Contexts, want) {
		return fmt.Errorf("/%s is registered without context %d, so Discord would not offer it here", cmd.Name, want)
	}
	if !inGuild && cmd.Contexts == nil && cmd.DMPermission != nil && !*cmd.DMPermission {
		return fmt.Errorf("/%s is registered with dm_permission false", cmd.Name)
	}
	return nil
}

func resolveSubcommand(cmd *discordgo.ApplicationCommand, sub string) ([]*discordgo.ApplicationCommandOption, []*discordgo.ApplicationCommandOption, error) {
	parts := strings.Fields(sub)
	var subs []string
	for _, o := range cmd.Options {
		if o.Type == discordgo.ApplicationCommandOptionSubCommand || o.Type == discordgo.ApplicationCommandOptionSubCommandGroup {
			subs = append(subs, o.Name)
		}
	}
	switch len(parts) {
	case 0:
		if len(subs) > 0 {
			return nil, nil, fmt.Errorf("/%s needs a subcommand (one of: %s)", cmd.Name, strings.Join(subs, ", "))
		}
		return cmd.Options, nil, nil
	case 1:
		o := findOption(cmd.Options, parts[0])
		switch {
		case o != nil && o.Type == discordgo.ApplicationCommandOptionSubCommand:
			return o.Options, []*discordgo.ApplicationCommandOption{o}, nil
		case o != nil && o.Type == discordgo.ApplicationCommandOptionSubCommandGroup:
			return nil, nil, fmt.Errorf("/%s %s is a subcommand group: name one of its subcommands as %q", cmd.Name, o.Name, o.Name+" <sub>")
		}
		return nil, nil, fmt.Errorf("/%s has no subcommand %q (subcommands: %s)", cmd.Name, parts[0], orNone(subs))
	case 2:
		g := findOption(cmd.Options, parts[0])
		if g == nil || g.Type != discordgo.ApplicationCommandOptionSubCommandGroup {
			return nil, nil, fmt.Errorf("/%s has no subcommand group %q", cmd.Name, parts[0])
		}
		o := findOption(g.Options, parts[1])
		if o == nil || o.Type != discordgo.ApplicationCommandOptionSubCommand {
			return nil, nil, fmt.Errorf("/%s %s has no subcommand %q (subcommands: %s)", cmd.Name, g.Name, parts[1], optionNames(g.Options))
		}
		return o.Options, []*discordgo.ApplicationCommandOption{g, o}, nil
	}
	return nil, nil, fmt.Errorf("subcommand %q has too many words", sub)
}

func findOption(opts []*discordgo.ApplicationCommandOption, name string) *discordgo.ApplicationCommandOption {
	for _, o := range opts {
		if o != nil && o.Name == name {
			return o
		}
	}
	return nil
}

func optionNames(opts []*discordgo.ApplicationCommandOption) string {
	var names []string
	for _, o := range opts {
		if o != nil {
			names = append(names, o.Name)
		}
	}
	return orNone(names)
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// optionValueLocked converts a test's value to what Discord sends for the
// option's registered type, checking choices and bounds like the client.
func (s *Server) optionValueLocked(def *discordgo.ApplicationCommandOption, v any, guildID string, focused bool, res *wireResolved) (any, error) {
	if focused {
		// The focused option carries the text typed so far.
		if str, isStr := v.(string); isStr {
			return str, nil
		}
		return fmt.Sprint(v), nil
	}
	switch def.Type {
	case discordgo.ApplicationCommandOptionString:
		str, isStr := v.(string)
		if !isStr {
			return nil, fmt.Errorf("a string option needs a string, got %T", v)
		}
		n := utf8.RuneCountInString(str)
		if def.MinLength != nil && n < *def.MinLength {
			return nil, fmt.Errorf("%d characters, below min_length %d", n, *def.MinLength)
		}
		if def.MaxLength > 0 && n > def.MaxLength {
			return nil, fmt.Errorf("%d characters, above max_length %d", n, def.MaxLength)
		}
		return str, checkChoice(def, str)
	case discordgo.ApplicationCommandOptionInteger, discordgo.ApplicationCommandOptionNumber:
		f, isNum := toFloat(v)
		if !isNum || (def.Type == discordgo.ApplicationCommandOptionInteger && f != math.Trunc(f)) {
			return nil, fmt.Errorf("a %s option needs a number, got %v (%T)", def.Type, v, v)
		}
		if def.MinValue != nil && f < *def.MinValue {
			return nil, fmt.Errorf("%v is below min_value %v", f, *def.MinValue)
		}
		if def.MaxValue != 0 && f > def.MaxValue {
			return nil, fmt.Errorf("%v is above max_value %v", f, def.MaxValue)
		}
		if err := checkChoice(def, f); err != nil {
			return nil, err
		}
		if def.Type == discordgo.ApplicationCommandOptionInteger {
			return int64(f), nil // a JSON number
		}
		return f, nil
	case discordgo.ApplicationCommandOptionBoolean:
		b, isBool := v.(bool)
		if !isBool {
			return nil, fmt.Errorf("a boolean option needs a bool, got %T", v)
		}
		return b, nil
	case discordgo.ApplicationCommandOptionUser:
		id, err := idValue(v)
		if err != nil {
			return nil, err
		}
		return id, s.resolveUserLocked(id, guildID, res)
	case discordgo.ApplicationCommandOptionChannel:
		id, err := idValue(v)
		if err != nil {
			return nil, err
		}
		return id, s.resolveChannelLocked(def, id, guildID, res)
	case discordgo.ApplicationCommandOptionRole:
		id, err := idValue(v)
		if err != nil {
			return nil, err
		}
		return id, s.resolveRoleLocked(id, guildID, res)
	case discordgo.ApplicationCommandOptionMentionable:
		id, err := idValue(v)
		if err != nil {
			return nil, err
		}
		if _, isUser := s.users[id]; isUser {
			return id, s.resolveUserLocked(id, guildID, res)
		}
		return id, s.resolveRoleLocked(id, guildID, res)
	}
	return nil, fmt.Errorf("option type %s is not supported by the fake", def.Type)
}

func idValue(v any) (string, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case User:
		return t.ID, nil
	case *discordgo.User:
		return t.ID, nil
	}
	return "", fmt.Errorf("needs an ID string, got %T", v)
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int8:
		return float64(n), true
	case int16:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint8:
		return float64(n), true
	case uint16:
		return float64(n), true
	case uint32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float32:
		return float64(n), true
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func checkChoice(def *discordgo.ApplicationCommandOption, v any) error {
	if len(def.Choices) == 0 {
		return nil
	}
	var names []string
	for _, c := range def.Choices {
		if c == nil {
			continue
		}
		cv := c.Value
		if f, isNum := toFloat(cv); isNum {
			cv = f
		}
		if cv == v {
			return nil
		}
		names = append(names, fmt.Sprint(c.Value))
	}
	return fmt.Errorf("%v is not one of the choices (%s)", v, strings.Join(names, ", "))
}

func (s *Server) resolveUserLocked(id, guildID string, res *wireResolved) error {
	if _, known := s.users[id]; !known {
		return fmt.Errorf("unknown user %q", id)
	}
	if res.Users == nil {
		res.Users = map[string]wireUser{}
	}
	res.Users[id] = s.wireUserLocked(id)
	if g, found := s.guilds[guildID]; found {
		if m, isMember := g.members[id]; isMember {
			if res.Members == nil {
				res.Members = map[string]wireMember{}
			}
			res.Members[id] = s.wireMemberLocked(guildID, m, false, true)
		}
	}
	return nil
}

func (s *Server) resolveChannelLocked(def *discordgo.ApplicationCommandOption, id, guildID string, res *wireResolved) error {
	c, found := s.channels[id]
	if !found || c.dmUserID != "" || c.guildID != guildID {
		return fmt.Errorf("channel %q is not a channel of guild %q", id, guildID)
	}
	if len(def.ChannelTypes) > 0 && !slices.Contains(def.ChannelTypes, discordgo.ChannelTypeGuildText) {
		return fmt.Errorf("channel_types %v exclude text channels", def.ChannelTypes)
	}
	if res.Channels == nil {
		res.Channels = map[string]wireChannel{}
	}
	w := s.wireChannelLocked(c)
	w.PermissionOverwrites = nil
	w.Permissions = strconv.FormatInt(discordgo.PermissionAll, 10)
	res.Channels[id] = w
	return nil
}

func (s *Server) resolveRoleLocked(id, guildID string, res *wireResolved) error {
	g, found := s.guilds[guildID]
	if !found {
		return errors.New("role options need a guild")
	}
	r := g.role(id)
	if r == nil {
		return fmt.Errorf("guild %s has no role %q", guildID, id)
	}
	if res.Roles == nil {
		res.Roles = map[string]wireRole{}
	}
	for _, w := range wireRoles(g.g) {
		if w.ID == id {
			res.Roles[id] = w
		}
	}
	return nil
}
