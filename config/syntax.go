package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// syntaxHint ends a YAML syntax error whose cause we could not pin down.
const syntaxHint = "check the indentation and quote values that contain \": \" or \" #\""

// syntaxProblem explains a YAML parse error. The parser often names the
// line where the enclosing mapping began rather than the line that broke it
// (a key indented one space too little is reported at its section), so the
// indentation is scanned here too, and the scan's line wins when it is not
// before the parser's.
func syntaxProblem(data []byte, err error) problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	parserLine := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		parserLine, _ = strconv.Atoi(m[1])
	}
	if line, why := indentationProblem(string(data)); line > 0 && line >= parserLine {
		return problem{key: "config", msg: fmt.Sprintf("config: line %d: %s", line, why)}
	}
	return problem{key: "config", msg: "config: " + msg + "; " + syntaxHint}
}

var (
	yamlLineRE = regexp.MustCompile(`^line (\d+):`)
	// A block mapping key: a plain or quoted name, then ":" and a space or
	// the end of the line.
	keyRE = regexp.MustCompile(`^("[^"]*"|'[^']*'|[^\s#'"\[\]{}&*!|>%@` + "`" + `][^:#]*?)\s*:(\s|$)`)
)

// indentationProblem finds the first line whose indentation cannot be
// right: a tab, or a key that lines up with no open section. It knows the
// block subset config files use (mappings, "- " lists, one-line flow
// values, | and > blocks) and gives up (0) on anything else, leaving the
// parser's message in place.
func indentationProblem(text string) (line int, why string) {
	type level struct {
		col  int
		line int // where the level's first key is, for the message
	}
	var open []level  // columns of the mappings and lists in force
	pending := -1     // column of a "key:" whose value starts on a later line
	blockScalar := -1 // column of the key whose | or > block is being skipped
	for i, raw := range strings.Split(text, "\n") {
		n := i + 1
		raw = strings.TrimSuffix(raw, "\r")
		body := strings.TrimLeft(raw, " \t")
		col := len(raw) - len(body)
		if body == "" || body[0] == '#' {
			continue
		}
		if blockScalar >= 0 {
			if col > blockScalar {
				continue
			}
			blockScalar = -1
		}
		if strings.Contains(raw[:col], "\t") {
			return n, "a tab is used for indentation; YAML allows only spaces there, so indent with spaces"
		}
		if body == "---" || body == "..." {
			continue
		}

		switch {
		case pending >= 0 && (col > pending || col == pending && strings.HasPrefix(body, "- ")):
			open = append(open, level{col, n}) // the value of the key above
		default:
			popped := false
			for len(open) > 0 && open[len(open)-1].col > col {
				open = open[:len(open)-1]
				popped = true
			}
			switch {
			case len(open) > 0 && open[len(open)-1].col == col:
			case popped:
				return n, fmt.Sprintf("%s is indented %s, which lines up with no section above it; indent it like the other keys of its section", describeLine(body), spaces(col))
			case len(open) == 0:
				open = append(open, level{col, n})
			default:
				top := open[len(open)-1]
				return n, fmt.Sprintf("%s is indented %s, more than the line above it; keys of one section line up under each other (as on line %d)", describeLine(body), spaces(col), top.line)
			}
		}
		pending = -1

		// A list item's content starts a mapping of its own at its column.
		for strings.HasPrefix(body, "- ") || body == "-" {
			rest := strings.TrimLeft(strings.TrimPrefix(body, "-"), " ")
			inner := col + len(body) - len(rest)
			if rest == "" {
				pending = col
				break
			}
			body, col = rest, inner
			if keyRE.MatchString(body) {
				open = append(open, level{col, n})
			}
		}
		if pending >= 0 || body == "" {
			continue
		}

		m := keyRE.FindStringSubmatchIndex(body)
		if m == nil {
			if startsOpenFlow(body) {
				return 0, ""
			}
			continue // a scalar list item
		}
		value := strings.TrimSpace(body[m[1]:])
		switch {
		case value == "" || value[0] == '#':
			pending = col
		case value[0] == '|' || value[0] == '>':
			blockScalar = col
		case startsOpenFlow(value):
			return 0, "" // a flow list or quote spread over lines: beyond this scan
		}
	}
	return 0, ""
}

// startsOpenFlow reports whether a value opens a bracket or quote it does
// not close on the same line.
func startsOpenFlow(v string) bool {
	switch v[0] {
	case '"':
		return !strings.Contains(v[1:], `"`)
	case '\'':
		return !strings.Contains(v[1:], `'`)
	case '[', '{':
		depth := 0
		for _, r := range v {
			switch r {
			case '[', '{':
				depth++
			case ']', '}':
				depth--
			}
		}
		return depth > 0
	}
	return false
}

// describeLine names a line by its key when it has one.
func describeLine(body string) string {
	if m := keyRE.FindStringSubmatch(body); m != nil {
		return strconv.Quote(strings.TrimSpace(m[1]) + ":")
	}
	return "this line"
}

func spaces(n int) string {
	if n == 1 {
		return "1 space"
	}
	return fmt.Sprintf("%d spaces", n)
}
