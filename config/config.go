// Package config loads referralbot's YAML configuration, expands environment
// variables in its values and checks every setting, naming the key of each
// mistake so it can be fixed from the message alone.
package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"
	_ "time/tzdata" // timezone works in slim containers without /usr/share/zoneinfo
)

// Config is the whole configuration; see config.example.yaml for each key.
// The yaml tags are the one list of keys: the decoder, the unknown-key
// check and the effective-config printer all read them.
type Config struct {
	Discord   Discord   `yaml:"discord"`
	Database  Database  `yaml:"database"`
	Timezone  string    `yaml:"timezone"` // IANA name, e.g. "UTC"; see Location
	Schedule  Schedule  `yaml:"schedule"`
	Referrals Referrals `yaml:"referrals"`
	Limits    Limits    `yaml:"limits"`
	SMTP      SMTP      `yaml:"smtp"`
	HTTP      HTTP      `yaml:"http"`
	Log       Log       `yaml:"log"`
}

// Discord is the discord: section.
type Discord struct {
	Token        string   `yaml:"token"`
	GuildIDs     []string `yaml:"guild_ids,flow"`
	APIURL       string   `yaml:"api_url"`      // "" = https://discord.com
	Interactions string   `yaml:"interactions"` // gateway or http
	PublicKey    string   `yaml:"public_key"`   // hex Ed25519 key, for http
}

// Interaction transports for Discord.Interactions.
const (
	InteractionsGateway = "gateway"
	InteractionsHTTP    = "http"
)

// Database is the database: section.
type Database struct {
	Path string `yaml:"path"` // SQLite file, used when URL is empty
	URL  string `yaml:"url"`  // postgres://... = PostgreSQL instead
}

// Schedule is the schedule: section.
type Schedule struct {
	Sweep  string `yaml:"sweep"`  // robfig/cron spec, e.g. "@every 1m"
	Digest string `yaml:"digest"` // e.g. "0 9 * * MON"
}

// Referrals is the referrals: section: the timings and limits of the flow.
type Referrals struct {
	OfferTimeout      Duration   `yaml:"offer_timeout"`
	ReferrerReminder  Duration   `yaml:"referrer_reminder"`
	Nudges            []Duration `yaml:"nudges,flow"`
	RequestTTL        Duration   `yaml:"request_ttl"`
	MaxOpenPerStudent int        `yaml:"max_open_per_student"`
	ReferrerCapacity  int        `yaml:"referrer_capacity"`
	Retention         Duration   `yaml:"retention"`
}

// Limits is the limits: section: how many interactions (commands, button
// presses, form submits) one member may send within Window before the bot
// answers "slow down" and does nothing. Interactions 0 turns the limit off.
type Limits struct {
	Interactions int      `yaml:"interactions"`
	Window       Duration `yaml:"window"`
}

// SMTP is the smtp: section, for work-email verification.
type SMTP struct {
	Host     string `yaml:"host"` // "" = email verification off
	Port     int    `yaml:"port"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	From     string `yaml:"from"`
}

// HTTP is the http: section: /healthz, /metrics, the dashboard and, in
// http mode, the interactions endpoint.
type HTTP struct {
	Listen           string `yaml:"listen"`
	InteractionsPath string `yaml:"interactions_path"`
	PublicURL        string `yaml:"public_url"` // how members' browsers reach Listen
}

// Log is the log: section.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

const day = Duration(24 * time.Hour)

// Default returns the values of config.example.yaml with an empty token;
// a test keeps the two in step.
func Default() Config {
	return Config{
		Discord:  Discord{Interactions: InteractionsGateway},
		Database: Database{Path: "referralbot.db"},
		Timezone: "UTC",
		Schedule: Schedule{Sweep: "@every 1m", Digest: "0 9 * * MON"},
		Referrals: Referrals{
			OfferTimeout:      Duration(72 * time.Hour),
			ReferrerReminder:  4 * day,
			Nudges:            []Duration{7 * day, 14 * day},
			RequestTTL:        30 * day,
			MaxOpenPerStudent: 3,
			ReferrerCapacity:  4,
			Retention:         180 * day,
		},
		Limits: Limits{Interactions: 10, Window: Duration(10 * time.Second)},
		SMTP:   SMTP{Port: 587, From: "referrals@example.org"},
		HTTP:   HTTP{Listen: "127.0.0.1:8080", InteractionsPath: "/interactions"},
		Log:    Log{Level: "info", Format: "text"},
	}
}

// Location is the time zone named by Timezone, or UTC when that name does
// not load (Validate reports it). It is derived on each call rather than
// stored, so the two can never disagree.
func (c Config) Location() *time.Location {
	loc, err := loadLocation(c.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Load reads YAML from r over Default(), expands ${VAR} and $VAR in values
// with getenv, falls back to getenv("DISCORD_TOKEN") for an empty token and
// validates. A file with no keys at all is an error: it is far more likely
// the wrong file than a wish for every default. All problems found are reported together, one per line, each
// naming its key. A nil getenv sees no variables.
func Load(r io.Reader, getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	// Read first so an I/O error is not reported as bad YAML.
	data, err := io.ReadAll(r)
	if err != nil {
		return Config{}, fmt.Errorf("config: read: %w", err)
	}
	c := Default()
	d := &decoder{getenv: getenv, failed: map[string]bool{}}
	if !d.decode(data, &c) {
		return Config{}, &problems{errs: d.errs}
	}

	c.Discord.Token = strings.TrimSpace(c.Discord.Token)
	if c.Discord.Token == "" {
		c.Discord.Token = strings.TrimSpace(getenv("DISCORD_TOKEN"))
	}

	// Validate may repeat a key the decoder already rejected (the default
	// stays in place, or a derived check fails); one message per key is enough.
	errs := d.errs
	for _, p := range c.check() {
		if !d.failed[p.key] {
			errs = append(errs, p)
		}
	}
	if len(errs) > 0 {
		return Config{}, &problems{errs: errs}
	}
	return c, nil
}

// LoadFile opens path and calls Load.
func LoadFile(path string, getenv func(string) string) (Config, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Config{}, fmt.Errorf("config file %s not found; create it with `cp config.example.yaml %s` and edit it, or pass -config FILE", path, path)
	}
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	c, err := Load(f, getenv)
	var p *problems
	if errors.As(err, &p) {
		p.file = path
	}
	return c, err
}

// LogLevel maps Log.Level to slog; anything unknown is Info, which Validate
// has already ruled out for loaded configs.
func (c Config) LogLevel() slog.Level {
	switch strings.ToLower(c.Log.Level) {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// problem is one mistake in the config, remembered with its key so Load can
// drop a second report about the same key.
type problem struct {
	key string
	msg string // complete message, normally starting with key
}

func (p problem) Error() string { return p.msg }

func keyErrorf(key, format string, args ...any) problem {
	return problem{key: key, msg: key + ": " + fmt.Sprintf(format, args...)}
}

// problems is every mistake found in a config. Its message lists them one
// per line; errors.Is and errors.As see each of them.
type problems struct {
	file string // set by LoadFile
	errs []error
}

func (p *problems) Error() string {
	prefix := ""
	if p.file != "" {
		prefix = p.file + ": "
	}
	if len(p.errs) == 1 {
		return prefix + p.errs[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s%d problems:", prefix, len(p.errs))
	for _, e := range p.errs {
		b.WriteString("\n  ")
		b.WriteString(e.Error())
	}
	return b.String()
}

func (p *problems) Unwrap() []error { return p.errs }
