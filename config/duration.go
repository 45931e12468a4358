package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a config wait: written as "72h", "7d" or "1d12h", always more
// than zero. Convert with time.Duration(d) where it is used.
type Duration time.Duration

// UnmarshalYAML reads a scalar with ParseDuration. The message leaves out
// the key because yaml does not say it; Load puts it in front.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("want a duration such as 7d, got %s", describe(n))
	}
	s := strings.TrimSpace(n.Value)
	if s == "" || n.ShortTag() == "!!null" {
		return fmt.Errorf("no duration given; %s", durationHint)
	}
	v, err := parseDuration(s)
	if err != nil {
		return fmt.Errorf("%s is not a duration; %s", strconv.Quote(s), durationHint)
	}
	if v <= 0 {
		return fmt.Errorf("must be more than 0, got %s; %s", FormatDuration(v), durationHint)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the form UnmarshalYAML reads, in days where whole.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

func (d Duration) String() string { return FormatDuration(time.Duration(d)) }

// durationHint ends every duration error so the fix is on the same line.
const durationHint = "use a number with s, m, h or d, e.g. 72h or 3d"

var durationUnits = map[string]uint64{
	"ns": uint64(time.Nanosecond),
	"us": uint64(time.Microsecond),
	"µs": uint64(time.Microsecond), // U+00B5, what time.Duration.String writes
	"μs": uint64(time.Microsecond), // U+03BC
	"ms": uint64(time.Millisecond),
	"s":  uint64(time.Second),
	"m":  uint64(time.Minute),
	"h":  uint64(time.Hour),
	"d":  uint64(24 * time.Hour),
}

var errDurationSyntax = errors.New("not a duration")

// ParseDuration accepts Go durations ("72h", "90s", "1h30m") plus days:
// "7d", "1d12h", "0.5d". Zero, negative or empty is an error, because every
// duration in the config is a wait that must actually pass.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("empty duration; %s", durationHint)
	}
	d, err := parseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration; %s", s, durationHint)
	}
	if d <= 0 {
		return 0, fmt.Errorf("duration %q must be more than 0", s)
	}
	return d, nil
}

// parseDuration is time.ParseDuration with a "d" unit. It allows zero and
// negative values so that Load can tell a typo from a value out of range.
func parseDuration(s string) (time.Duration, error) {
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "0" {
		return 0, nil
	}
	if s == "" {
		return 0, errDurationSyntax
	}
	const limit = 1 << 63 // magnitude of math.MinInt64
	var total uint64
	for s != "" {
		if s[0] != '.' && !isDigit(s[0]) {
			return 0, errDurationSyntax
		}
		n := len(s)
		v, rest, ok := leadingInt(s)
		if !ok {
			return 0, errDurationSyntax
		}
		s = rest
		hasInt := len(s) != n
		var frac uint64
		scale := 1.0
		hasFrac := false
		if s != "" && s[0] == '.' {
			s = s[1:]
			n := len(s)
			frac, scale, s = leadingFraction(s)
			hasFrac = len(s) != n
		}
		if !hasInt && !hasFrac {
			return 0, errDurationSyntax
		}
		i := 0
		for i < len(s) && s[i] != '.' && !isDigit(s[i]) {
			i++
		}
		unit, ok := durationUnits[s[:i]]
		if !ok {
			return 0, errDurationSyntax
		}
		s = s[i:]
		if v > limit/unit {
			return 0, errDurationSyntax
		}
		v *= unit
		if frac > 0 {
			v += uint64(float64(frac) * (float64(unit) / scale))
			if v > limit {
				return 0, errDurationSyntax
			}
		}
		total += v
		if total > limit {
			return 0, errDurationSyntax
		}
	}
	if neg {
		return -time.Duration(total), nil
	}
	if total > limit-1 {
		return 0, errDurationSyntax
	}
	return time.Duration(total), nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// leadingInt consumes leading digits; ok is false on overflow.
func leadingInt(s string) (v uint64, rest string, ok bool) {
	i := 0
	for ; i < len(s) && isDigit(s[i]); i++ {
		if v > (1<<63-1)/10 {
			return 0, "", false
		}
		v = v*10 + uint64(s[i]-'0')
		if v > 1<<63 {
			return 0, "", false
		}
	}
	return v, s[i:], true
}

// leadingFraction consumes leading digits, dropping those beyond what fits.
func leadingFraction(s string) (v uint64, scale float64, rest string) {
	i := 0
	scale = 1
	overflow := false
	for ; i < len(s) && isDigit(s[i]); i++ {
		if overflow {
			continue
		}
		if v > (1<<63-1)/10 {
			overflow = true
			continue
		}
		y := v*10 + uint64(s[i]-'0')
		if y > 1<<63 {
			overflow = true
			continue
		}
		v = y
		scale *= 10
	}
	return v, scale, s[i:]
}

// FormatDuration is the inverse of ParseDuration for display: whole days as
// "7d", anything else in the Go form without trailing zero units ("90m"
// becomes "1h30m", "36h" stays "36h").
func FormatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d != 0 && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
