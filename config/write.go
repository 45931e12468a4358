package config

import (
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// file mirrors the layout of config.example.yaml for WriteEffective; field
// order here is output order.
type file struct {
	Discord struct {
		Token    string   `yaml:"token"`
		GuildIDs []string `yaml:"guild_ids,flow"`
		APIURL   string   `yaml:"api_url"`
	} `yaml:"discord"`
	Database struct {
		Path string `yaml:"path"`
	} `yaml:"database"`
	Timezone string `yaml:"timezone"`
	Schedule struct {
		Sweep  string `yaml:"sweep"`
		Digest string `yaml:"digest"`
	} `yaml:"schedule"`
	Referrals struct {
		OfferTimeout      string   `yaml:"offer_timeout"`
		ReferrerReminder  string   `yaml:"referrer_reminder"`
		Nudges            []string `yaml:"nudges,flow"`
		RequestTTL        string   `yaml:"request_ttl"`
		MaxOpenPerStudent int      `yaml:"max_open_per_student"`
		ReferrerCapacity  int      `yaml:"referrer_capacity"`
		Retention         string   `yaml:"retention"`
	} `yaml:"referrals"`
	SMTP struct {
		Host     string `yaml:"host"`
		Port     int    `yaml:"port"`
		Username string `yaml:"username"`
		Password string `yaml:"password"`
		From     string `yaml:"from"`
	} `yaml:"smtp"`
	HTTP struct {
		Listen string `yaml:"listen"`
	} `yaml:"http"`
	Log struct {
		Level  string `yaml:"level"`
		Format string `yaml:"format"`
	} `yaml:"log"`
}

// WriteEffective writes the effective config as YAML in the layout of the
// config file, with discord.token and smtp.password masked and durations in
// the d/h/m/s form. A "$" in a value is written as "$$" so that loading the
// output does not expand it a second time.
func (c Config) WriteEffective(w io.Writer) error {
	var f file
	f.Discord.Token = maskToken(c.Discord.Token)
	f.Discord.GuildIDs = make([]string, len(c.Discord.GuildIDs))
	for i, id := range c.Discord.GuildIDs {
		f.Discord.GuildIDs[i] = escape(id)
	}
	f.Discord.APIURL = escape(c.Discord.APIURL)
	f.Database.Path = escape(c.Database.Path)
	f.Timezone = escape(c.Timezone)
	f.Schedule.Sweep = escape(c.Schedule.Sweep)
	f.Schedule.Digest = escape(c.Schedule.Digest)
	r := c.Referrals
	f.Referrals.OfferTimeout = FormatDuration(r.OfferTimeout)
	f.Referrals.ReferrerReminder = FormatDuration(r.ReferrerReminder)
	f.Referrals.Nudges = make([]string, len(r.Nudges))
	for i, d := range r.Nudges {
		f.Referrals.Nudges[i] = FormatDuration(d)
	}
	f.Referrals.RequestTTL = FormatDuration(r.RequestTTL)
	f.Referrals.MaxOpenPerStudent = r.MaxOpenPerStudent
	f.Referrals.ReferrerCapacity = r.ReferrerCapacity
	f.Referrals.Retention = FormatDuration(r.Retention)
	f.SMTP.Host = escape(c.SMTP.Host)
	f.SMTP.Port = c.SMTP.Port
	f.SMTP.Username = escape(c.SMTP.Username)
	f.SMTP.Password = maskPassword(c.SMTP.Password)
	f.SMTP.From = escape(c.SMTP.From)
	f.HTTP.Listen = escape(c.HTTP.Listen)
	f.Log.Level = escape(c.Log.Level)
	f.Log.Format = escape(c.Log.Format)

	if _, err := io.WriteString(w, "# effective configuration; discord.token and smtp.password are masked\n"); err != nil {
		return err
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&f); err != nil {
		return fmt.Errorf("config: write effective config: %w", err)
	}
	return enc.Close()
}

// maskToken shows the last 4 characters of a long token so an operator can
// tell which bot token is in use; short values would give too much away.
func maskToken(s string) string {
	switch {
	case s == "":
		return "(unset)"
	case len(s) >= 16:
		return "****" + s[len(s)-4:]
	}
	return "****"
}

// maskPassword shows nothing of a password: it is short enough that even a
// few characters matter.
func maskPassword(s string) string {
	if s == "" {
		return "(unset)"
	}
	return "****"
}

func escape(s string) string { return strings.ReplaceAll(s, "$", "$$") }
