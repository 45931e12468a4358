package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decoder walks the YAML node tree itself, guided by Config's yaml tags,
// rather than unmarshalling straight into the struct: that is what lets
// errors name the dotted key, expansion touch only values, and all mistakes
// be collected in one pass.
type decoder struct {
	getenv func(string) string
	errs   []error
	failed map[string]bool // keys already reported
}

func (d *decoder) fail(p problem) {
	d.errs = append(d.errs, p)
	d.failed[p.key] = true
}

func (d *decoder) failf(key, format string, args ...any) {
	d.fail(keyErrorf(key, format, args...))
}

// decode reports false when the YAML could not be parsed at all, or holds
// nothing, in which case nothing else about the config is worth checking.
func (d *decoder) decode(data []byte, c *Config) bool {
	if len(bytes.TrimSpace(data)) == 0 {
		d.fail(emptyProblem) // yaml rejects a tab on an empty line
		return false
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.fail(emptyProblem)
		} else {
			d.fail(syntaxProblem(data, err))
		}
		return false
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
	if isNull(resolve(root)) {
		d.fail(emptyProblem)
		return false
	}
	d.value("", root, reflect.ValueOf(c).Elem())
	return true
}

var emptyProblem = problem{key: "config", msg: "config file is empty (nothing but spaces or comments); start from config.example.yaml: cp config.example.yaml config.yaml"}

// value decodes n into v, which is addressable; key names it in errors.
func (d *decoder) value(key string, n *yaml.Node, v reflect.Value) {
	n = resolve(n)
	if u, ok := v.Addr().Interface().(yaml.Unmarshaler); ok {
		if err := u.UnmarshalYAML(d.expanded(n)); err != nil {
			d.failf(key, "%s", err.Error())
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.mapping(key, n, v)
	case reflect.String:
		if s, ok := d.scalar(key, n, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Int:
		d.integer(key, n, v)
	case reflect.Slice:
		d.list(key, n, v)
	default:
		panic(fmt.Sprintf("config: no decoder for %s (%s)", key, v.Type())) // a new field type needs a case here
	}
}

// fieldsOf maps each yaml key of struct type t to its field index.
func fieldsOf(t reflect.Type) map[string]int {
	fields := map[string]int{}
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			fields[name] = i
		}
	}
	return fields
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	return name
}

func joinKey(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func (d *decoder) mapping(prefix string, n *yaml.Node, v reflect.Value) {
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
	fields := fieldsOf(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
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
		d.value(key, val, v.Field(f))
	}
}

// suggest returns the known key closest to a misspelt one, if any is close.
func suggest(name string, fields map[string]int) string {
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

// expanded is n with ${VAR} expanded in a scalar's text, for a field's own
// UnmarshalYAML.
func (d *decoder) expanded(n *yaml.Node) *yaml.Node {
	if n == nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	}
	if n.Kind != yaml.ScalarNode {
		return n
	}
	e := *n
	e.Value = d.expand(n.Value)
	return &e
}

// scalar returns the expanded text of a scalar; null is "".
func (d *decoder) scalar(key string, n *yaml.Node, want string) (string, bool) {
	if isNull(n) {
		return "", true
	}
	if n.Kind != yaml.ScalarNode {
		d.failf(key, "want %s, got %s", want, describe(n))
		return "", false
	}
	return d.expand(n.Value), true
}

func (d *decoder) integer(key string, n *yaml.Node, v reflect.Value) {
	s, ok := d.scalar(key, n, "a whole number")
	if !ok {
		return
	}
	s = strings.TrimSpace(s)
	if s == "" {
		d.failf(key, "want a whole number, got nothing")
		return
	}
	i, err := strconv.Atoi(s)
	if err != nil {
		d.failf(key, "want a whole number, got %q", s)
		return
	}
	v.SetInt(int64(i))
}

// list accepts a YAML list or, so a whole list can come from one environment
// variable, a scalar of comma- or space-separated items. The field keeps its
// default unless every item decodes.
func (d *decoder) list(key string, n *yaml.Node, v reflect.Value) {
	var items []*yaml.Node
	switch {
	case isNull(n):
	case n.Kind == yaml.ScalarNode:
		fields := strings.FieldsFunc(d.expand(n.Value), func(r rune) bool {
			return r == ',' || r == ' ' || r == '\t' || r == '\n'
		})
		for _, f := range fields {
			// Already expanded: "$$" must not be read a second time.
			items = append(items, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: strings.ReplaceAll(f, "$", "$$"), Line: n.Line, Column: n.Column})
		}
	case n.Kind == yaml.SequenceNode:
		items = n.Content
	default:
		d.failf(key, "want a list such as [a, b], got %s", describe(n))
		return
	}
	out := reflect.MakeSlice(v.Type(), len(items), len(items))
	before := len(d.errs)
	for i, item := range items {
		e := out.Index(i)
		d.value(fmt.Sprintf("%s[%d]", key, i), item, e)
		if e.Kind() == reflect.String {
			e.SetString(strings.TrimSpace(e.String())) // " 123" is still server 123
		}
	}
	if len(d.errs) > before {
		d.failed[key] = true
		return
	}
	if len(items) == 0 {
		out = reflect.Zero(v.Type())
	}
	v.Set(out)
}
