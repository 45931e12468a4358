package discordtest

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
)

// formErrors collects Discord's "Invalid Form Body" (50035) problems by
// dotted path, e.g. "embeds.0.description".
type formErrors struct {
	prefix string // prepended to every path, e.g. "data."
	items  []formErr
}

type formErr struct {
	path, code, msg string
}

func (f *formErrors) add(path, code, format string, args ...any) {
	path = strings.TrimSuffix(f.prefix+path, ".")
	f.items = append(f.items, formErr{path, code, fmt.Sprintf(format, args...)})
}

func (f *formErrors) empty() bool { return len(f.items) == 0 }

func (f *formErrors) maxLen(path, v string, n int) {
	if utf8.RuneCountInString(v) > n {
		f.add(path, "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length.", n)
	}
}

func (f *formErrors) lenRange(path, v string, lo, hi int) {
	if l := utf8.RuneCountInString(v); l < lo || l > hi {
		f.add(path, "BASE_TYPE_BAD_LENGTH", "Must be between %d and %d in length.", lo, hi)
	}
}

// result is the 400 answer, with the errors nested like Discord's.
func (f *formErrors) result() result {
	nested := map[string]any{}
	var details []string
	for _, it := range f.items {
		m := nested
		if it.path != "" {
			for _, seg := range strings.Split(it.path, ".") {
				next, ok := m[seg].(map[string]any)
				if !ok {
					next = map[string]any{}
					m[seg] = next
				}
				m = next
			}
		}
		list, _ := m["_errors"].([]any)
		m["_errors"] = append(list, map[string]string{"code": it.code, "message": it.msg})
		details = append(details, it.path+": "+it.msg)
	}
	return result{status: http.StatusBadRequest, err: &apiError{Message: "Invalid Form Body", Code: codeInvalidForm,
		Errors: nested, detail: strings.Join(details, "; ")}}
}

func validateEmbeds(f *formErrors, es []*discordgo.MessageEmbed) {
	if len(es) > 10 {
		f.add("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
	}
	total := 0
	for i, e := range es {
		if e == nil {
			f.add(fmt.Sprintf("embeds.%d", i), "MODEL_TYPE_REQUIRED", "This field is required")
			continue
		}
		p := fmt.Sprintf("embeds.%d.", i)
		f.maxLen(p+"title", e.Title, 256)
		f.maxLen(p+"description", e.Description, 4096)
		total += utf8.RuneCountInString(e.Title) + utf8.RuneCountInString(e.Description)
		if len(e.Fields) > 25 {
			f.add(p+"fields", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
		}
		for j, fl := range e.Fields {
			if fl == nil {
				continue
			}
			fp := fmt.Sprintf("%sfields.%d.", p, j)
			f.lenRange(fp+"name", fl.Name, 1, 256)
			f.lenRange(fp+"value", fl.Value, 1, 1024)
			total += utf8.RuneCountInString(fl.Name) + utf8.RuneCountInString(fl.Value)
		}
		if e.Footer != nil {
			f.maxLen(p+"footer.text", e.Footer.Text, 2048)
			total += utf8.RuneCountInString(e.Footer.Text)
		}
		if e.Author != nil {
			f.maxLen(p+"author.name", e.Author.Name, 256)
			total += utf8.RuneCountInString(e.Author.Name)
		}
	}
	if total > 6000 {
		f.add("embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")
	}
}

// validateComponents checks message components: action rows of up to five
// buttons or one select menu (classic components), custom_ids unique.
func validateComponents(f *formErrors, cs []discordgo.MessageComponent, v2 bool) {
	if v2 {
		return // layout components: only decoding is checked
	}
	if len(cs) > 5 {
		f.add("components", "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
	}
	seen := map[string]bool{}
	for i, c := range cs {
		p := fmt.Sprintf("components.%d", i)
		row, ok := c.(*discordgo.ActionsRow)
		if !ok {
			f.add(p+".type", "UNION_TYPE_CHOICES", "Value of field \"type\" must be one of (1,).")
			continue
		}
		if len(row.Components) == 0 || len(row.Components) > 5 {
			f.add(p+".components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
		}
		selects := 0
		for j, inner := range row.Components {
			ip := fmt.Sprintf("%s.components.%d.", p, j)
			switch t := inner.(type) {
			case *discordgo.Button:
				validateButton(f, ip, t, seen)
			case *discordgo.SelectMenu:
				selects++
				f.lenRange(ip+"custom_id", t.CustomID, 1, 100)
				if seen[t.CustomID] {
					f.add(ip+"custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated")
				}
				seen[t.CustomID] = true
			default:
				f.add(ip+"type", "UNION_TYPE_CHOICES", "Component type %d is not allowed in a message action row", inner.Type())
			}
		}
		if selects > 0 && len(row.Components) > 1 {
			f.add(p+".components", "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "The specified component exceeds the maximum width")
		}
	}
}

func validateButton(f *formErrors, p string, b *discordgo.Button, seen map[string]bool) {
	if b.Label == "" && b.Emoji == nil {
		f.add(p+"label", "BUTTON_LABEL_OR_EMOJI_REQUIRED", "A button needs a label or an emoji")
	}
	f.maxLen(p+"label", b.Label, 80)
	if b.Style < discordgo.PrimaryButton || b.Style > discordgo.PremiumButton {
		f.add(p+"style", "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6}.")
	}
	switch b.Style {
	case discordgo.LinkButton:
		if b.URL == "" || b.CustomID != "" {
			f.add(p+"url", "BUTTON_LINK_URL_REQUIRED", "A link button needs a url and no custom_id")
		}
	case discordgo.PremiumButton:
	default:
		if b.URL != "" {
			f.add(p+"url", "BUTTON_URL_NOT_ALLOWED", "Only link buttons may have a url")
		}
		f.lenRange(p+"custom_id", b.CustomID, 1, 100)
		if seen[b.CustomID] {
			f.add(p+"custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated")
		}
		seen[b.CustomID] = true
	}
}

func validateAllowedMentions(f *formErrors, am *discordgo.MessageAllowedMentions) {
	if am == nil {
		return
	}
	parse := map[discordgo.AllowedMentionType]bool{}
	for i, t := range am.Parse {
		switch t {
		case discordgo.AllowedMentionTypeRoles, discordgo.AllowedMentionTypeUsers, discordgo.AllowedMentionTypeEveryone:
		default:
			f.add(fmt.Sprintf("allowed_mentions.parse.%d", i), "BASE_TYPE_CHOICES", "Value must be one of ('roles', 'users', 'everyone').")
		}
		parse[t] = true
	}
	if parse[discordgo.AllowedMentionTypeUsers] && len(am.Users) > 0 {
		f.add("allowed_mentions", "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE", "parse:[\"users\"] and users: [ids...] are mutually exclusive.")
	}
	if parse[discordgo.AllowedMentionTypeRoles] && len(am.Roles) > 0 {
		f.add("allowed_mentions", "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE", "parse:[\"roles\"] and roles: [ids...] are mutually exclusive.")
	}
	if len(am.Users) > 100 {
		f.add("allowed_mentions.users", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
	}
}

// validateModal checks a type 9 response: 1-5 rows of one text input each.
func validateModal(f *formErrors, d *discordgo.InteractionResponseData) {
	if d == nil {
		f.add("data", "BASE_TYPE_REQUIRED", "This field is required")
		return
	}
	f.lenRange("data.custom_id", d.CustomID, 1, 100)
	f.lenRange("data.title", d.Title, 1, 45)
	if len(d.Components) == 0 || len(d.Components) > 5 {
		f.add("data.components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
	}
	seen := map[string]bool{}
	for i, c := range d.Components {
		p := fmt.Sprintf("data.components.%d", i)
		row, ok := c.(*discordgo.ActionsRow)
		if !ok || len(row.Components) != 1 {
			f.add(p, "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "A modal row holds exactly one text input")
			continue
		}
		ti, ok := row.Components[0].(*discordgo.TextInput)
		if !ok {
			f.add(p+".components.0.type", "UNION_TYPE_CHOICES", "Only text inputs (type 4) are allowed in a modal")
			continue
		}
		ip := p + ".components.0."
		f.lenRange(ip+"custom_id", ti.CustomID, 1, 100)
		if seen[ti.CustomID] {
			f.add(ip+"custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated")
		}
		seen[ti.CustomID] = true
		f.lenRange(ip+"label", ti.Label, 1, 45)
		if ti.Style != discordgo.TextInputShort && ti.Style != discordgo.TextInputParagraph {
			f.add(ip+"style", "BASE_TYPE_CHOICES", "Value must be one of {1, 2}.")
		}
		f.maxLen(ip+"placeholder", ti.Placeholder, 100)
		if ti.MinLength < 0 || ti.MinLength > 4000 {
			f.add(ip+"min_length", "NUMBER_TYPE_MAX", "min_length must be between 0 and 4000")
		}
		if ti.MaxLength < 0 || ti.MaxLength > 4000 || (ti.MaxLength > 0 && ti.MaxLength < ti.MinLength) {
			f.add(ip+"max_length", "NUMBER_TYPE_MAX", "max_length must be between 1 and 4000 and at least min_length")
		}
		limit := 4000
		if ti.MaxLength > 0 {
			limit = ti.MaxLength
		}
		f.maxLen(ip+"value", ti.Value, limit)
	}
}

func validateChoices(f *formErrors, cs []*discordgo.ApplicationCommandOptionChoice) {
	if len(cs) > 25 {
		f.add("data.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
	}
	for i, c := range cs {
		p := fmt.Sprintf("data.choices.%d.", i)
		if c == nil {
			f.add(p[:len(p)-1], "BASE_TYPE_REQUIRED", "This field is required")
			continue
		}
		f.lenRange(p+"name", c.Name, 1, 100)
		switch v := c.Value.(type) {
		case string:
			f.maxLen(p+"value", v, 100)
		case float64:
		default:
			f.add(p+"value", "BASE_TYPE_REQUIRED", "Choice value must be a string or a number")
		}
	}
}

var commandName = regexp.MustCompile(`^[-_\p{Ll}\p{N}\p{Devanagari}\p{Thai}]{1,32}$`)

// validateCommand checks a command as Discord does on registration.
func validateCommand(f *formErrors, p string, c *discordgo.ApplicationCommand) {
	typ := c.Type
	if typ == 0 {
		typ = discordgo.ChatApplicationCommand
	}
	switch typ {
	case discordgo.ChatApplicationCommand:
		if !commandName.MatchString(c.Name) {
			f.add(p+"name", "APPLICATION_COMMAND_INVALID_NAME", "Command name %q is invalid (lowercase, 1-32 characters)", c.Name)
		}
		f.lenRange(p+"description", c.Description, 1, 100)
		validateOptions(f, p+"options", c.Options, 0)
	case discordgo.UserApplicationCommand, discordgo.MessageApplicationCommand:
		f.lenRange(p+"name", c.Name, 1, 32)
		if c.Description != "" || len(c.Options) > 0 {
			f.add(p+"description", "APPLICATION_COMMAND_INVALID", "Context menu commands take no description or options")
		}
	default:
		f.add(p+"type", "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3}.")
	}
}

func validateOptions(f *formErrors, p string, opts []*discordgo.ApplicationCommandOption, depth int) {
	if len(opts) > 25 {
		f.add(p, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
	}
	names := map[string]bool{}
	subs, plain := 0, 0
	optionalSeen := false
	for i, o := range opts {
		op := fmt.Sprintf("%s.%d.", p, i)
		if o == nil {
			f.add(op[:len(op)-1], "BASE_TYPE_REQUIRED", "This field is required")
			continue
		}
		if !commandName.MatchString(o.Name) {
			f.add(op+"name", "APPLICATION_COMMAND_INVALID_NAME", "Option name %q is invalid (lowercase, 1-32 characters)", o.Name)
		}
		if names[o.Name] {
			f.add(op+"name", "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option name %q is already used", o.Name)
		}
		names[o.Name] = true
		f.lenRange(op+"description", o.Description, 1, 100)
		switch o.Type {
		case discordgo.ApplicationCommandOptionSubCommand, discordgo.ApplicationCommandOptionSubCommandGroup:
			subs++
			if o.Type == discordgo.ApplicationCommandOptionSubCommandGroup && depth > 0 ||
				o.Type == discordgo.ApplicationCommandOptionSubCommand && depth > 1 {
				f.add(op+"type", "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "Subcommands nest at most group > subcommand")
			}
			if o.Type == discordgo.ApplicationCommandOptionSubCommandGroup {
				for j, sub := range o.Options {
					if sub != nil && sub.Type != discordgo.ApplicationCommandOptionSubCommand {
						f.add(fmt.Sprintf("%soptions.%d.type", op, j), "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "A group holds only subcommands")
					}
				}
			}
			validateOptions(f, op+"options", o.Options, depth+1)
			continue
		case discordgo.ApplicationCommandOptionString, discordgo.ApplicationCommandOptionInteger,
			discordgo.ApplicationCommandOptionBoolean, discordgo.ApplicationCommandOptionUser,
			discordgo.ApplicationCommandOptionChannel, discordgo.ApplicationCommandOptionRole,
			discordgo.ApplicationCommandOptionMentionable, discordgo.ApplicationCommandOptionNumber,
			discordgo.ApplicationCommandOptionAttachment:
			plain++
		default:
			f.add(op+"type", "BASE_TYPE_CHOICES", "Unknown option type %d", o.Type)
			continue
		}
		if o.Required && optionalSeen {
			f.add(op+"required", "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", "Required options must be placed before non-required options")
		}
		if !o.Required {
			optionalSeen = true
		}
		numeric := o.Type == discordgo.ApplicationCommandOptionInteger || o.Type == discordgo.ApplicationCommandOptionNumber
		choosable := numeric || o.Type == discordgo.ApplicationCommandOptionString
		if len(o.Choices) > 0 && !choosable {
			f.add(op+"choices", "APPLICATION_COMMAND_OPTION_CHOICES_INVALID", "Only string, integer and number options have choices")
		}
		if len(o.Choices) > 25 {
			f.add(op+"choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
		}
		for j, ch := range o.Choices {
			if ch != nil {
				f.lenRange(fmt.Sprintf("%schoices.%d.name", op, j), ch.Name, 1, 100)
			}
		}
		if o.Autocomplete && (!choosable || len(o.Choices) > 0) {
			f.add(op+"autocomplete", "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID", "Autocomplete needs a string, integer or number option without choices")
		}
		if (o.MinValue != nil || o.MaxValue != 0) && !numeric {
			f.add(op+"min_value", "APPLICATION_COMMAND_OPTION_INVALID", "min_value and max_value are for integer and number options")
		}
		if o.MinValue != nil && o.MaxValue != 0 && *o.MinValue > o.MaxValue {
			f.add(op+"max_value", "NUMBER_TYPE_MIN", "max_value is below min_value")
		}
		if (o.MinLength != nil || o.MaxLength != 0) && o.Type != discordgo.ApplicationCommandOptionString {
			f.add(op+"min_length", "APPLICATION_COMMAND_OPTION_INVALID", "min_length and max_length are for string options")
		}
		if len(o.ChannelTypes) > 0 && o.Type != discordgo.ApplicationCommandOptionChannel {
			f.add(op+"channel_types", "APPLICATION_COMMAND_OPTION_INVALID", "channel_types is for channel options")
		}
		if len(o.Options) > 0 {
			f.add(op+"options", "APPLICATION_COMMAND_OPTION_INVALID", "Only subcommands and groups have options")
		}
	}
	if subs > 0 && plain > 0 {
		f.add(p, "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", "Subcommands and groups cannot be mixed with other options")
	}
}
