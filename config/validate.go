package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

const (
	maxNudges   = 5
	maxPerLimit = 20 // for max_open_per_student and referrer_capacity
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
	}
	for i, id := range c.Discord.GuildIDs {
		if !isSnowflake(id) {
			add(fmt.Sprintf("discord.guild_ids[%d]", i), "%q is not a server ID; use the number from Copy Server ID (Discord Developer Mode)", id)
		}
	}
	if c.Discord.APIURL != "" {
		if u, err := url.Parse(c.Discord.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("discord.api_url", "%q is not an absolute http(s) URL; use e.g. http://127.0.0.1:9000, or \"\" for https://discord.com", c.Discord.APIURL)
		}
	}

	if c.Database.Path == "" {
		add("database.path", "empty; set the database file, e.g. referralbot.db")
	}

	if _, err := loadLocation(c.Timezone); err != nil {
		ps = append(ps, timezoneProblem(c.Timezone))
	} else if c.Location == nil {
		add("timezone", "Location is not set; load it with time.LoadLocation(%q)", c.Timezone)
	} else if c.Location.String() != c.Timezone {
		add("timezone", "Location is %q but timezone is %q; they must agree", c.Location, c.Timezone)
	}

	for _, s := range []struct{ key, spec, example string }{
		{"schedule.sweep", c.Schedule.Sweep, `"@every 1m"`},
		{"schedule.digest", c.Schedule.Digest, `"0 9 * * MON" (Mondays 09:00)`},
	} {
		if _, err := cron.ParseStandard(s.spec); err != nil {
			add(s.key, "%q is not a cron spec (%v); use 5 fields (minute hour day month weekday) or a descriptor such as @every 5m, e.g. %s", s.spec, err, s.example)
		}
	}

	r := c.Referrals
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"referrals.offer_timeout", r.OfferTimeout},
		{"referrals.referrer_reminder", r.ReferrerReminder},
		{"referrals.request_ttl", r.RequestTTL},
		{"referrals.retention", r.Retention},
	} {
		if d.v <= 0 {
			add(d.key, "must be more than 0, got %s; %s", FormatDuration(d.v), durationHint)
		}
	}
	if n := len(r.Nudges); n < 1 || n > maxNudges {
		add("referrals.nudges", "want 1 to %d durations, got %d; e.g. [7d, 14d]", maxNudges, n)
	}
	for i, v := range r.Nudges {
		key := fmt.Sprintf("referrals.nudges[%d]", i)
		switch {
		case v <= 0:
			add(key, "must be more than 0, got %s; %s", FormatDuration(v), durationHint)
		case i > 0 && v <= r.Nudges[i-1]:
			add(key, "%s is not after the previous nudge (%s); list nudges in increasing order, e.g. [7d, 14d]", FormatDuration(v), FormatDuration(r.Nudges[i-1]))
		}
	}
	if v := r.MaxOpenPerStudent; v < 1 || v > maxPerLimit {
		add("referrals.max_open_per_student", "%d is out of range; use 1 to %d", v, maxPerLimit)
	}
	if v := r.ReferrerCapacity; v < 1 || v > maxPerLimit {
		add("referrals.referrer_capacity", "%d is out of range; use 1 to %d", v, maxPerLimit)
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
