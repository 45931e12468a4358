package referral

import (
	"regexp"
	"strings"
	"unicode"
)

// Text that one person types and another reads (intro, note, role, company,
// school) must look to the reader exactly as it is: bidirectional overrides
// and isolates can make "moc.elgoog" read as "google.com", and invisible
// characters can hide words from a reader while keeping them in the text.
// So they are removed before anything is stored or shown; ordinary Unicode
// (accents, CJK, emoji with their joiners and variation selectors) stays.

// invisible reports a character that changes how text reads without
// showing itself: bidi embeddings, overrides, isolates and marks; zero-width
// spaces and joiners that are not part of an emoji sequence; other format
// characters; and C0/C1 controls other than newline and tab.
func invisible(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r == '\u200d': // zero width joiner: kept, emoji sequences need it
		return false
	case r >= 0xFE00 && r <= 0xFE0F: // variation selectors (emoji presentation)
		return false
	case r >= 0xE0020 && r <= 0xE007F: // tags: only inside flag sequences, see CleanText
		return true
	case unicode.IsControl(r):
		return true
	case unicode.Is(unicode.Cf, r): // format: U+200B-200F, U+202A-202E, U+2060-2069, U+FEFF, U+061C, U+00AD ...
		return true
	}
	return false
}

// CleanText removes invisible and bidirectional control characters from
// text shown to another person. Tag characters survive only inside an emoji
// flag sequence (U+1F3F4 followed by tags up to U+E007F, as in the flag of
// Scotland), where they are how the flag is spelt.
func CleanText(s string) string {
	if strings.IndexFunc(s, invisible) < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	inFlag := false
	for _, r := range s {
		switch {
		case r == 0x1F3F4:
			inFlag = true
		case r >= 0xE0020 && r <= 0xE007F && inFlag:
			b.WriteRune(r)
			if r == 0xE007F {
				inFlag = false
			}
			continue
		default:
			inFlag = false
		}
		if invisible(r) {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mentionPattern finds what Discord turns into a ping or a link to a user,
// role or channel, and the mass mentions.
// An address such as "jobs@here.com" is not one.
var mentionPattern = regexp.MustCompile(`<(@[!&]?|#)\d+>|(^|[^\w.])@(everyone|here)\b`)

// HasMention reports text that would read as a mention of a user, role,
// channel, everyone or here.
func HasMention(s string) bool { return mentionPattern.MatchString(s) }

// markdownOnly reports text made of Discord markdown and punctuation alone,
// such as "**", "||spoiler||" without letters, or "> ~~": it formats
// nothing that reads as a name.
func markdownOnly(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) < 0 &&
		strings.ContainsAny(s, "*_~|`>#-[]()")
}
