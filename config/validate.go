package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

const (
	maxNudges   = 5
	maxPerLimit = 20 // for max_open_per_student and referrer_capacity

	maxInteractions = 1000      // limits.interactions
	maxLimitWindow  = time.Hour // limits.window: longer locks members out for too long
)

// Validate checks a Config built in code (the demo builds one without YAML);
// Load calls it too. Every problem is reported, one per line.
func (c Config) Validate() error {
	ps := c.check()
	if len(ps) == 0 {
		return nil
	}
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p
	}
	return &problems{errs: errs}
}

func (c Config) check() []problem {
	var ps []problem
	add := func(key, format string, args ...any) {
		ps = append(ps, keyErrorf(key, format, args...))
	}

	if c.Discord.Token == "" {
		add("discord.token", "missing; set DISCORD_TOKEN in the environment or discord.token in the config file")
	} else if why := tokenProblem(c.Discord.Token); why != "" {
		add("discord.token", "%s; a bot token is letters, digits, '-', '_' and '.' only: copy it again from the Discord Developer Portal (your application > Bot > Reset Token)", why)
	}
	for i, id := range c.Discord.GuildIDs {
		if !isSnowflake(id) {
			add(fmt.Sprintf("discord.guild_ids[%d]", i), "%q is not a server ID; use the number from Copy Server ID (Discord Developer Mode)", id)
		}
	}
	if c.Discord.APIURL != "" && !isHTTPURL(c.Discord.APIURL) {
		add("discord.api_url", "%q is not an absolute http(s) URL; use e.g. http://127.0.0.1:9000, or \"\" for https://discord.com", c.Discord.APIURL)
	}
	switch c.Discord.Interactions {
	case InteractionsGateway, InteractionsHTTP:
	default:
		add("discord.interactions", "%q is not a transport; use gateway (the default) or http", c.Discord.Interactions)
	}
	switch {
	case c.Discord.PublicKey == "" && c.Discord.Interactions == InteractionsHTTP:
		add("discord.public_key", "missing; with discord.interactions: http it is needed to check Discord's signatures: copy Public Key from the Developer Portal (your application > General Information)")
	case c.Discord.PublicKey != "" && !isHexKey(c.Discord.PublicKey):
		add("discord.public_key", "%q is not an Ed25519 public key; want the 64 hexadecimal characters of Public Key in the Developer Portal (your application > General Information)", c.Discord.PublicKey)
	}

	if c.Database.URL == "" && c.Database.Path == "" {
		add("database.path", "empty; set the database file, e.g. referralbot.db")
	}
	if c.Database.URL != "" {
		if why := postgresProblem(c.Database.URL); why != "" {
			add("database.url", "%s; use postgres://USER:PASSWORD@HOST:5432/DB (the password from the environment, e.g. ${PGPASSWORD}), or \"\" for SQLite at database.path", why)
		}
	}

	if _, err := loadLocation(c.Timezone); err != nil {
		ps = append(ps, timezoneProblem(c.Timezone))
	}

	for _, s := range []struct{ key, spec, example string }{
		{"schedule.sweep", c.Schedule.Sweep, `"@every 1m"`},
		{"schedule.digest", c.Schedule.Digest, `"0 9 * * MON" (Mondays 09:00)`},
	} {
		if _, err := cron.ParseStandard(s.spec); err != nil {
			add(s.key, "%q is not a cron spec (%v); use 5 fields (minute hour day month weekday) or a descriptor such as @every 5m, e.g. %s", s.spec, err, s.example)
		}
	}

	eachDuration("", reflect.ValueOf(c), func(key string, d Duration) {
		if d <= 0 {
			add(key, "must be more than 0, got %s; %s", d, durationHint)
		}
	})
	r := c.Referrals
	if n := len(r.Nudges); n < 1 || n > maxNudges {
		add("referrals.nudges", "want 1 to %d durations, got %d; e.g. [7d, 14d]", maxNudges, n)
	}
	for i, v := range r.Nudges {
		if i > 0 && v > 0 && v <= r.Nudges[i-1] {
			add(fmt.Sprintf("referrals.nudges[%d]", i), "%s is not after the previous nudge (%s); list nudges in increasing order, e.g. [7d, 14d]", v, r.Nudges[i-1])
		}
	}
	if v := r.MaxOpenPerStudent; v < 1 || v > maxPerLimit {
		add("referrals.max_open_per_student", "%d is out of range; use 1 to %d", v, maxPerLimit)
	}
	if v := r.ReferrerCapacity; v < 1 || v > maxPerLimit {
		add("referrals.referrer_capacity", "%d is out of range; use 1 to %d", v, maxPerLimit)
	}

	if v := c.Limits.Interactions; v < 0 || v > maxInteractions {
		add("limits.interactions", "%d is out of range; use 1 to %d interactions per limits.window (e.g. 10), or 0 to turn the limit off", v, maxInteractions)
	}
	if w := c.Limits.Window; time.Duration(w) > maxLimitWindow {
		add("limits.window", "%s is too long: a member who hits the limit waits up to that long; use at most 1h, e.g. 10s", w)
	}

	if v := c.SMTP.Port; v < 1 || v > 65535 {
		add("smtp.port", "%d is out of range; use 1 to 65535, usually 587", v)
	}
	if c.SMTP.Host != "" {
		switch {
		case c.SMTP.From == "":
			add("smtp.from", "missing; set the sender address, e.g. referrals@example.org (needed because smtp.host is set)")
		case !strings.Contains(c.SMTP.From, "@"):
			add("smtp.from", "%q is not an email address; use e.g. referrals@example.org", c.SMTP.From)
		}
	}

	if c.HTTP.Listen != "" {
		if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
			add("http.listen", "%q is not host:port; use e.g. 127.0.0.1:8080 or :8080, or \"\" to turn it off", c.HTTP.Listen)
		}
	} else if c.Discord.Interactions == InteractionsHTTP {
		add("http.listen", "empty, but discord.interactions is http: Discord's interactions need the http server; set e.g. :8080")
	} else if c.HTTP.PublicURL != "" {
		add("http.listen", "empty, but http.public_url is set: the dashboard is served by the http server; set e.g. 127.0.0.1:8080, or empty http.public_url")
	}
	if p := c.HTTP.InteractionsPath; !strings.HasPrefix(p, "/") {
		add("http.interactions_path", "%q is not a path; start it with /, e.g. /interactions", p)
	}
	if u := c.HTTP.PublicURL; u != "" && !isHTTPURL(u) {
		add("http.public_url", "%q is not an absolute http(s) URL; use the address members' browsers reach this server at, e.g. https://referrals.example.org, or \"\"", u)
	}

	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", "%q is not a level; use debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		add("log.format", "%q is not a format; use text or json", c.Log.Format)
	}
	return ps
}

// eachDuration calls fn with the key of every Duration in v, list items
// included, so a new duration key is checked without a line here.
func eachDuration(key string, v reflect.Value, fn func(string, Duration)) {
	switch {
	case v.Type() == reflect.TypeFor[Duration]():
		fn(key, Duration(v.Int()))
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			if name := yamlName(v.Type().Field(i)); name != "" {
				eachDuration(joinKey(key, name), v.Field(i), fn)
			}
		}
	case v.Kind() == reflect.Slice:
		for i := range v.Len() {
			eachDuration(fmt.Sprintf("%s[%d]", key, i), v.Index(i), fn)
		}
	}
}

// tokenProblem says what in a Discord bot token cannot be part of one,
// without repeating the token. A leading "Bot " is allowed: the session
// adds it when missing.
func tokenProblem(token string) string {
	t := strings.TrimPrefix(token, "Bot ")
	for i, r := range t {
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			return fmt.Sprintf("has a space or line break at character %d", i+1)
		case r == '.', r == '-', r == '_', '0' <= r && r <= '9', 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
		default:
			return fmt.Sprintf("has %q at character %d", r, i+1)
		}
	}
	return ""
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// isHexKey reports whether s is 32 bytes written in hex, as Discord shows
// an application's public key.
func isHexKey(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == 32
}

// postgresProblem says why s is not a PostgreSQL URL, never showing its
// password.
func postgresProblem(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "is not a URL"
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		if u.Scheme == "" {
			return "has no scheme"
		}
		return fmt.Sprintf("has scheme %q, not postgres:// or postgresql://", u.Scheme)
	}
	return ""
}

// isSnowflake reports whether s is a Discord ID: digits that fit in a uint64.
func isSnowflake(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return len(s) < 20 || s <= "18446744073709551615"
}

// loadLocation is time.LoadLocation without its "" = UTC shortcut, so an
// empty timezone (e.g. an unset ${TZ}) is reported rather than guessed.
func loadLocation(name string) (*time.Location, error) {
	if name == "" {
		return nil, errors.New("empty timezone")
	}
	return time.LoadLocation(name)
}

func timezoneProblem(name string) problem {
	return keyErrorf("timezone", "%q is not a known IANA timezone; use a name such as UTC or Europe/Berlin", name)
}
