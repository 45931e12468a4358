package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// decoder walks the YAML node tree itself rather than unmarshalling into a
// struct: that is what lets errors name the dotted key, expansion touch only
// values, and all mistakes be collected in one pass.
type decoder struct {
	getenv func(string) string
	errs   []error
	failed map[string]bool // keys already reported
}

type fieldFunc func(key string, n *yaml.Node)

func (d *decoder) fail(p problem) {
	d.errs = append(d.errs, p)
	d.failed[p.key] = true
}

func (d *decoder) failf(key, format string, args ...any) {
	d.fail(keyErrorf(key, format, args...))
}

// decode reports false when the YAML could not be parsed at all, in which
// case nothing else about the config is worth checking.
func (d *decoder) decode(r io.Reader, c *Config) bool {
	dec := yaml.NewDecoder(r)
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) { // EOF: an empty file means all defaults
			d.fail(problem{key: "config", msg: "config: " + yamlMessage(err) + "; check the indentation and quote values that contain \": \" or \" #\""})
			return false
		}
		return true
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		d.fail(problem{key: "config", msg: "config: more than one YAML document (a line with ---); keep just one"})
		return false
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	d.mapping("", root, d.fields(c))
	return true
}

// yamlMessage keeps the YAML parser's text but drops its "yaml: " prefix,
// which means nothing to someone editing a config file.
func yamlMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// fields is the schema: every valid key and where its value goes.
func (d *decoder) fields(c *Config) map[string]fieldFunc {
	section := func(fields map[string]fieldFunc) fieldFunc {
		return func(key string, n *yaml.Node) { d.mapping(key, n, fields) }
	}
	return map[string]fieldFunc{
		"discord": section(map[string]fieldFunc{
			"token":     d.str(&c.Discord.Token),
			"guild_ids": d.strList(&c.Discord.GuildIDs),
			"api_url":   d.str(&c.Discord.APIURL),
		}),
		"database": section(map[string]fieldFunc{
			"path": d.str(&c.Database.Path),
		}),
		"timezone": d.timezone(c),
		"schedule": section(map[string]fieldFunc{
			"sweep":  d.str(&c.Schedule.Sweep),
			"digest": d.str(&c.Schedule.Digest),
		}),
		"referrals": section(map[string]fieldFunc{
			"offer_timeout":        d.duration(&c.Referrals.OfferTimeout),
			"referrer_reminder":    d.duration(&c.Referrals.ReferrerReminder),
			"nudges":               d.durationList(&c.Referrals.Nudges),
			"request_ttl":          d.duration(&c.Referrals.RequestTTL),
			"max_open_per_student": d.integer(&c.Referrals.MaxOpenPerStudent),
			"referrer_capacity":    d.integer(&c.Referrals.ReferrerCapacity),
			"retention":            d.duration(&c.Referrals.Retention),
		}),
		"smtp": section(map[string]fieldFunc{
			"host":     d.str(&c.SMTP.Host),
			"port":     d.integer(&c.SMTP.Port),
			"username": d.str(&c.SMTP.Username),
			"password": d.str(&c.SMTP.Password),
			"from":     d.str(&c.SMTP.From),
		}),
		"http": section(map[string]fieldFunc{
			"listen": d.str(&c.HTTP.Listen),
		}),
		"log": section(map[string]fieldFunc{
			"level":  d.str(&c.Log.Level),
			"format": d.str(&c.Log.Format),
		}),
	}
}

func joinKey(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func (d *decoder) mapping(prefix string, n *yaml.Node, fields map[string]fieldFunc) {
	n = resolve(n)
	if isNull(n) {
		return // "smtp:" with nothing under it keeps the defaults
	}
	if n.Kind != yaml.MappingNode {
		if prefix == "" {
			d.fail(problem{key: "config", msg: fmt.Sprintf("config: want a mapping of keys such as discord: and referrals:, got %s", describe(n))})
		} else {
			d.failf(prefix, "want a mapping of keys under it, got %s", describe(n))
		}
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := joinKey(prefix, k.Value)
		if k.Kind != yaml.ScalarNode {
			d.fail(problem{key: joinKey(prefix, "?"), msg: fmt.Sprintf("config: a key under %q is %s (line %d); keys are plain names", prefix, describe(k), k.Line)})
			continue
		}
		if line, dup := seen[k.Value]; dup {
			d.fail(problem{key: key, msg: fmt.Sprintf("config: key %q is set twice (lines %d and %d); keep one", key, line, k.Line)})
			continue
		}
		seen[k.Value] = k.Line
		f, ok := fields[k.Value]
		if !ok {
			msg := fmt.Sprintf("config: unknown key %q (line %d); see config.example.yaml for valid keys", key, k.Line)
			if s := suggest(k.Value, fields); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", joinKey(prefix, s))
			}
			d.fail(problem{key: key, msg: msg})
			continue
		}
		f(key, v)
	}
}

// suggest returns the known key closest to a misspelt one, if any is close.
func suggest(name string, fields map[string]fieldFunc) string {
	best, bestDist := "", 3 // more than two edits away is not a typo
	names := make([]string, 0, len(fields))
	for f := range fields {
		names = append(names, f)
	}
	sort.Strings(names) // deterministic on ties
	for _, f := range names {
		if dist := editDistance(name, f); dist < bestDist {
			best, bestDist = f, dist
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "nothing"
}

// expand substitutes ${VAR} and $VAR after parsing, so a value containing
// ": " or a newline stays one string. "$$" is a literal "$" (as in Docker
// Compose), so passwords can contain one.
func (d *decoder) expand(s string) string {
	return os.Expand(s, func(name string) string {
		if name == "$" {
			return "$"
		}
		return d.getenv(name)
	})
}

// scalar returns the expanded text of a scalar; null is "".
func (d *decoder) scalar(key string, n *yaml.Node, want string) (string, bool) {
	n = resolve(n)
	if isNull(n) {
		return "", true
	}
	if n.Kind != yaml.ScalarNode {
		d.failf(key, "want %s, got %s", want, describe(n))
		return "", false
	}
	return d.expand(n.Value), true
}

func (d *decoder) str(dst *string) fieldFunc {
	return func(key string, n *yaml.Node) {
		if s, ok := d.scalar(key, n, "a string"); ok {
			*dst = s
		}
	}
}

func (d *decoder) integer(dst *int) fieldFunc {
	return func(key string, n *yaml.Node) {
		s, ok := d.scalar(key, n, "a whole number")
		if !ok {
			return
		}
		s = strings.TrimSpace(s)
		if s == "" {
			d.failf(key, "want a whole number, got nothing")
			return
		}
		v, err := strconv.Atoi(s)
		if err != nil {
			d.failf(key, "want a whole number, got %q", s)
			return
		}
		*dst = v
	}
}

func (d *decoder) parseDuration(key, s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		d.failf(key, "no duration given; %s", durationHint)
		return 0, false
	}
	v, err := parseDuration(s)
	if err != nil {
		d.failf(key, "%q is not a duration; %s", s, durationHint)
		return 0, false
	}
	return v, true // zero and negative are left to Validate
}

func (d *decoder) duration(dst *time.Duration) fieldFunc {
	return func(key string, n *yaml.Node) {
		s, ok := d.scalar(key, n, "a duration such as 72h or 3d")
		if !ok {
			return
		}
		if v, ok := d.parseDuration(key, s); ok {
			*dst = v
		}
	}
}

type item struct {
	key   string // e.g. referrals.nudges[1]
	value string
}

// list accepts a YAML list or, so a whole list can come from one environment
// variable, a scalar of comma- or space-separated items.
func (d *decoder) list(key string, n *yaml.Node, want string) ([]item, bool) {
	n = resolve(n)
	if isNull(n) {
		return nil, true
	}
	var items []item
	switch n.Kind {
	case yaml.ScalarNode:
		fields := strings.FieldsFunc(d.expand(n.Value), func(r rune) bool {
			return r == ',' || r == ' ' || r == '\t' || r == '\n'
		})
		for i, f := range fields {
			items = append(items, item{fmt.Sprintf("%s[%d]", key, i), f})
		}
		return items, true
	case yaml.SequenceNode:
		ok := true
		for i, e := range n.Content {
			ekey := fmt.Sprintf("%s[%d]", key, i)
			s, eok := d.scalar(ekey, e, want)
			if !eok {
				ok = false
				continue
			}
			items = append(items, item{ekey, strings.TrimSpace(s)})
		}
		if !ok {
			d.failed[key] = true
		}
		return items, ok
	}
	d.failf(key, "want a list such as [a, b], got %s", describe(n))
	return nil, false
}

func (d *decoder) strList(dst *[]string) fieldFunc {
	return func(key string, n *yaml.Node) {
		items, ok := d.list(key, n, "a string")
		if !ok {
			return
		}
		var out []string
		for _, it := range items {
			out = append(out, it.value)
		}
		*dst = out
	}
}

func (d *decoder) durationList(dst *[]time.Duration) fieldFunc {
	return func(key string, n *yaml.Node) {
		items, ok := d.list(key, n, "a duration such as 7d")
		if !ok {
			return
		}
		var out []time.Duration
		for _, it := range items {
			v, vok := d.parseDuration(it.key, it.value)
			if !vok {
				ok = false
				continue
			}
			out = append(out, v)
		}
		if !ok {
			d.failed[key] = true
			return
		}
		*dst = out
	}
}

func (d *decoder) timezone(c *Config) fieldFunc {
	return func(key string, n *yaml.Node) {
		s, ok := d.scalar(key, n, "a timezone name such as Europe/Berlin")
		if !ok {
			return
		}
		c.Timezone = s
		loc, err := loadLocation(s)
		if err != nil {
			d.fail(timezoneProblem(s))
			return
		}
		c.Location = loc
	}
}
