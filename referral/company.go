package referral

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Company is a normalised company: Key compares ("amazon"), Name displays
// ("Amazon").
type Company struct {
	Key  string
	Name string
}

// Limits of the `companies` option of /referrer join.
const (
	MaxCompanyLen = 60 // runes per company
	MaxCompanies  = 10 // distinct companies per referrer
)

// companyTable maps names students and alumni type to one canonical company,
// so a referrer who wrote "AWS" is offered requests for "Amazon". Subsidiaries
// are listed only where they hire through the parent's referral system.
var companyTable = []struct {
	name    string
	aliases []string
}{
	{"Amazon", []string{"AWS", "Amazon Web Services", "Amazon.com", "AMZN"}},
	{"Apple", []string{"Apple Computer", "AAPL"}},
	{"Google", []string{"Alphabet", "Google LLC", "YouTube", "DeepMind", "Google DeepMind", "GOOG", "GOOGL"}},
	{"Meta", []string{"Facebook", "FB", "Meta Platforms", "Instagram", "WhatsApp", "Oculus"}},
	{"Microsoft", []string{"MSFT", "LinkedIn", "GitHub"}},
	{"Netflix", nil},
	{"NVIDIA", nil},
	{"X", []string{"Twitter", "X Corp"}},
	{"ByteDance", []string{"TikTok"}},
	{"JPMorgan Chase", []string{"JPMorgan", "J.P. Morgan", "JPMC", "JPM", "Chase", "J.P. Morgan Chase & Co."}},
	{"Goldman Sachs", []string{"Goldman"}},
	{"Morgan Stanley", nil},
	{"Bank of America", []string{"BofA", "BoA", "Merrill", "Merrill Lynch", "BAML"}},
	{"Citi", []string{"Citigroup", "Citibank"}},
	{"Capital One", nil},
	{"Citadel", []string{"Citadel Securities"}},
	{"Jane Street", []string{"Jane Street Capital"}},
	{"Two Sigma", []string{"Two Sigma Investments"}},
	{"Bloomberg", nil},
	{"Stripe", nil},
	{"Shopify", nil},
	{"Salesforce", []string{"Salesforce.com"}},
	{"Oracle", nil},
	{"IBM", []string{"International Business Machines"}},
	{"Intel", nil},
	{"AMD", []string{"Advanced Micro Devices"}},
	{"Qualcomm", nil},
	{"Cisco", []string{"Cisco Systems"}},
	{"Adobe", []string{"Adobe Systems"}},
	{"Uber", nil},
	{"Airbnb", nil},
	{"Databricks", nil},
	{"Snowflake", nil},
	{"Palantir", []string{"Palantir Technologies"}},
	{"Tesla", []string{"Tesla Motors"}},
	{"SpaceX", []string{"Space Exploration Technologies"}},
	{"OpenAI", nil},
	{"Anthropic", nil},
	{"Snap", []string{"Snapchat"}},
	{"Spotify", nil},
	{"Atlassian", nil},
	{"Pinterest", nil},
	{"Intuit", nil},
	{"PayPal", nil},
	{"Walmart", []string{"Walmart Global Tech", "Walmart Labs"}},
	{"Samsung", []string{"Samsung Electronics"}},
	{"Deloitte", nil},
	{"Accenture", nil},
	{"McKinsey & Company", []string{"McKinsey"}},
	{"Société Générale", []string{"Societe Generale", "SocGen"}},
	{"RBC", []string{"Royal Bank of Canada"}},
}

// legalSuffixes are dropped from the end of a name: "Stripe, Inc." is Stripe.
var legalSuffixes = map[string]bool{
	"inc": true, "incorporated": true, "llc": true, "ltd": true, "limited": true, "corp": true,
	"corporation": true, "gmbh": true, "co": true, "plc": true, "ag": true, "se": true,
	"llp": true, "lp": true, "pvt": true, "sa": true, "nv": true, "bv": true, "ab": true,
}

var (
	companyIndex     map[string]Company  // any key (canonical or alias) -> canonical company
	companyAliasKeys map[string][]string // canonical key -> its alias keys, for autocomplete
)

func init() {
	companyIndex = map[string]Company{}
	companyAliasKeys = map[string][]string{}
	for _, e := range companyTable {
		c := Company{Key: companyKey(e.name), Name: e.name}
		companyIndex[c.Key] = c
		for _, a := range e.aliases {
			k := companyKey(a)
			companyIndex[k] = c
			if k != c.Key {
				companyAliasKeys[c.Key] = append(companyAliasKeys[c.Key], k)
			}
		}
	}
}

// NormalizeCompany maps a typed name to its Company. Keys are case-, space-
// and punctuation-insensitive ("J.P. Morgan" and "jp morgan" meet), drop
// trailing legal suffixes (Inc, LLC, Ltd, Corp, GmbH, Co, ...) and resolve
// aliases (AWS -> Amazon). Unknown names keep the user's spelling, trimmed and
// with inner whitespace collapsed, as Name. A name without letters or digits
// gives Company{}.
func NormalizeCompany(name string) Company {
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' ' // a control character separates words in the key too
		}
		return r
	}, CleanText(strings.ToValidUTF8(name, "\uFFFD")))
	display := strings.Join(strings.Fields(name), " ")
	key := companyKey(display)
	if key == "" {
		return Company{}
	}
	if c, ok := companyIndex[key]; ok {
		return c
	}
	return Company{Key: key, Name: display}
}

// companyKey is the comparison key of a name: its words joined, without a
// trailing legal suffix (a name is never reduced to nothing: "Co" stays "co").
func companyKey(s string) string {
	ws := joinInitials(companyWords(s))
	for len(ws) > 1 && legalSuffixes[ws[len(ws)-1]] {
		ws = ws[:len(ws)-1]
	}
	return strings.Join(ws, "")
}

// joinInitials merges runs of one-letter words, so dotted abbreviations
// ("L.P.", "S.A.") are whole words when legal suffixes are looked for.
func joinInitials(ws []string) []string {
	out := ws[:0:0]
	for i, w := range ws {
		if i > 0 && utf8.RuneCountInString(w) == 1 && utf8.RuneCountInString(ws[i-1]) == 1 {
			out[len(out)-1] += w
			continue
		}
		out = append(out, w)
	}
	return out
}

// companyWords splits s into lowercase words of letters and digits; other
// characters separate words, except combining marks, which are dropped.
func companyWords(s string) []string {
	var ws []string
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsLetter(r):
			if l, ok := lowerLetter(r); ok {
				b.WriteRune(l)
			}
		case unicode.IsDigit(r):
			b.WriteRune(r)
		case unicode.Is(unicode.M, r): // combining marks
		default:
			if b.Len() > 0 {
				ws = append(ws, b.String())
				b.Reset()
			}
		}
	}
	if b.Len() > 0 {
		ws = append(ws, b.String())
	}
	return ws
}

// lowerLetter lowercases r; a few capitals have no lowercase mapping
// (U+03D2) and are found through their case orbit or dropped.
func lowerLetter(r rune) (rune, bool) {
	l := unicode.ToLower(r)
	if !unicode.IsUpper(l) && !unicode.IsTitle(l) {
		return l, true
	}
	for f := unicode.SimpleFold(l); f != l; f = unicode.SimpleFold(f) {
		if unicode.IsLower(f) {
			return f, true
		}
	}
	return 0, false
}

// ParseCompanies splits a list separated by commas, semicolons or newlines,
// normalises each entry and drops duplicates by Key, keeping first order. It
// fails when nothing is left, when an entry is longer than MaxCompanyLen
// runes (usually a missing comma), or with more than MaxCompanies companies.
func ParseCompanies(list string) ([]Company, error) {
	entries := strings.FieldsFunc(list, func(r rune) bool {
		return r == ',' || r == ';' || r == '\n' || r == '\r'
	})
	var out []Company
	seen := map[string]bool{}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if n := utf8.RuneCountInString(e); n > MaxCompanyLen {
			return nil, fmt.Errorf("companies: %q is %d characters long, more than %d; separate companies with commas, e.g. \"Amazon, Google\"", Truncate(e, 30), n, MaxCompanyLen)
		}
		if err := companyNameProblem("companies", e); err != nil {
			return nil, err
		}
		c := NormalizeCompany(e)
		if c.Key == "" || seen[c.Key] {
			continue
		}
		seen[c.Key] = true
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New(`companies: no company given; list the companies you can refer to, separated by commas, e.g. "Amazon, Google"`)
	}
	if len(out) > MaxCompanies {
		return nil, fmt.Errorf("companies: %d companies given, at most %d; keep the ones you can refer to, usually where you work now", len(out), MaxCompanies)
	}
	return out, nil
}

// ParseCompany reads the one company of /referral request: refused like an
// entry of ParseCompanies, and when nothing that reads as a name is left.
func ParseCompany(name string) (Company, error) {
	if err := companyNameProblem("company", name); err != nil {
		return Company{}, err
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(name)); n > MaxCompanyLen {
		return Company{}, fmt.Errorf("company: the name is %d characters long, more than %d; type just the company's name, e.g. \"Amazon\"", n, MaxCompanyLen)
	}
	c := NormalizeCompany(name)
	if c.Key == "" {
		return Company{}, errors.New(`company: no company name given; type the company's name, e.g. "Amazon"`)
	}
	return c, nil
}

// companyNameProblem refuses a company name that would not read as a name
// to the people it is shown to: a mention, or markdown with no name in it.
func companyNameProblem(option, name string) error {
	name = CleanText(name)
	if HasMention(name) {
		return fmt.Errorf("%s: %q is a mention, not a company name; type the company's name as it is written, e.g. \"Amazon\"", option, Truncate(name, 30))
	}
	if markdownOnly(name) {
		return fmt.Errorf("%s: %q is only formatting characters; type the company's name as it is written, e.g. \"Amazon\"", option, Truncate(name, 30))
	}
	return nil
}

// MatchCompanies ranks known companies for autocomplete: those whose Key or
// Name starts with the normalised query (or one of whose aliases does, so
// "aws" finds Amazon) first, then those containing it, and every company when
// the query is empty; ties alphabetical by Name; at most limit.
func MatchCompanies(query string, known []Company, limit int) []Company {
	if limit <= 0 {
		return nil
	}
	q := strings.Join(companyWords(query), "")
	qKey := NormalizeCompany(query).Key
	type ranked struct {
		c    Company
		tier int
		sort string
	}
	var list []ranked
	seen := map[string]bool{}
	for _, c := range known {
		if c.Key == "" || seen[c.Key] {
			continue
		}
		seen[c.Key] = true
		if t := companyTier(c, q, qKey); t >= 0 {
			list = append(list, ranked{c: c, tier: t, sort: strings.ToLower(c.Name)})
		}
	}
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.tier != b.tier {
			return a.tier < b.tier
		}
		if a.sort != b.sort {
			return a.sort < b.sort
		}
		if a.c.Name != b.c.Name {
			return a.c.Name < b.c.Name
		}
		return a.c.Key < b.c.Key
	})
	if len(list) > limit {
		list = list[:limit]
	}
	out := make([]Company, len(list))
	for i, r := range list {
		out[i] = r.c
	}
	return out
}

// companyTier is 0 for a prefix match, 1 for a substring match, -1 for none.
func companyTier(c Company, q, qKey string) int {
	if q == "" {
		return 0
	}
	name := strings.Join(companyWords(c.Name), "")
	if strings.HasPrefix(c.Key, q) || strings.HasPrefix(name, q) || c.Key == qKey {
		return 0
	}
	for _, a := range companyAliasKeys[c.Key] {
		if strings.HasPrefix(a, q) {
			return 0
		}
	}
	if strings.Contains(c.Key, q) || strings.Contains(name, q) {
		return 1
	}
	return -1
}
