package config

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const testToken = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789WXYZ"

// env returns a getenv that reads only m, so tests never see the real
// environment.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

var tokenEnv = env(map[string]string{"DISCORD_TOKEN": testToken})

func withToken(c Config) Config {
	c.Discord.Token = testToken
	return c
}

func TestExampleFileIsDefault(t *testing.T) {
	got, err := LoadFile(filepath.Join("..", "config.example.yaml"), tokenEnv)
	if err != nil {
		t.Fatalf("LoadFile(config.example.yaml) error = %v", err)
	}
	if want := withToken(Default()); !reflect.DeepEqual(got, want) {
		t.Errorf("config.example.yaml and Default() differ:\n got %+v\nwant %+v", got, want)
	}
}

func TestDefaultIsFresh(t *testing.T) {
	a := Default()
	a.Referrals.Nudges[0] = Duration(time.Second)
	if b := Default(); b.Referrals.Nudges[0] != Duration(7*24*time.Hour) {
		t.Errorf("Default() shares its Nudges slice between calls")
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string // nil = DISCORD_TOKEN set
		want []string
	}{
		{"missing token", "log:\n  level: info\n", map[string]string{},
			[]string{"discord.token: missing", "DISCORD_TOKEN", "discord.token in the config file"}},
		{"token from unset variable", "discord:\n  token: ${NOPE}\n", map[string]string{},
			[]string{"discord.token: missing"}},
		{"unknown top-level key", "discrod:\n  token: x\n", nil,
			[]string{`config: unknown key "discrod" (line 1)`, "see config.example.yaml for valid keys", `did you mean "discord"`}},
		{"unknown nested key", "referrals:\n  offer_timeout: 3d\n  ofer_timeout: 3d\n", nil,
			[]string{`config: unknown key "referrals.ofer_timeout" (line 3)`, "config.example.yaml", `did you mean "referrals.offer_timeout"`}},
		{"unknown key far from any", "smtp:\n  colour: red\n", nil,
			[]string{`unknown key "smtp.colour" (line 2)`}},
		{"duplicate key", "log:\n  level: info\n  level: debug\n", nil,
			[]string{`"log.level" is set twice (lines 2 and 3)`}},
		{"not a whole number", "referrals:\n  max_open_per_student: three\n", nil,
			[]string{`referrals.max_open_per_student: want a whole number, got "three"`}},
		{"fractional number", "smtp:\n  port: 58.7\n", nil,
			[]string{`smtp.port: want a whole number, got "58.7"`}},
		{"empty number", "smtp:\n  port:\n", nil,
			[]string{"smtp.port: want a whole number, got nothing"}},
		{"list for a string", "log:\n  level: [info]\n", nil,
			[]string{"log.level: want a string, got a list"}},
		{"mapping for a number", "referrals:\n  referrer_capacity: {a: 1}\n", nil,
			[]string{"referrals.referrer_capacity: want a whole number, got a mapping"}},
		{"scalar for a section", "discord: hello\n", nil,
			[]string{`discord: want a mapping of keys under it, got "hello"`}},
		{"list at top level", "- a\n- b\n", nil,
			[]string{"config: want a mapping of keys"}},
		{"bad duration", "referrals:\n  offer_timeout: 3x\n", nil,
			[]string{`referrals.offer_timeout: "3x" is not a duration; use a number with s, m, h or d, e.g. 72h or 3d`}},
		{"duration without unit", "referrals:\n  retention: 180\n", nil,
			[]string{`referrals.retention: "180" is not a duration`, "e.g. 72h or 3d"}},
		{"empty duration", "referrals:\n  request_ttl: \"\"\n", nil,
			[]string{"referrals.request_ttl: no duration given", "e.g. 72h or 3d"}},
		{"null duration", "referrals:\n  request_ttl:\n", nil,
			[]string{"referrals.request_ttl: no duration given"}},
		{"zero duration", "referrals:\n  request_ttl: 0s\n", nil,
			[]string{"referrals.request_ttl: must be more than 0, got 0s", "e.g. 72h or 3d"}},
		{"negative duration", "referrals:\n  referrer_reminder: -1d\n", nil,
			[]string{"referrals.referrer_reminder: must be more than 0, got -1d"}},
		{"no nudges", "referrals:\n  nudges: []\n", nil,
			[]string{"referrals.nudges: want 1 to 5 durations, got 0", "[7d, 14d]"}},
		{"six nudges", "referrals:\n  nudges: [1d, 2d, 3d, 4d, 5d, 6d]\n", nil,
			[]string{"referrals.nudges: want 1 to 5 durations, got 6"}},
		{"nudges out of order", "referrals:\n  nudges: [14d, 7d]\n", nil,
			[]string{"referrals.nudges[1]: 7d is not after the previous nudge (14d)", "increasing order"}},
		{"nudges repeated", "referrals:\n  nudges: [7d, 7d]\n", nil,
			[]string{"referrals.nudges[1]: 7d is not after"}},
		{"nudge not a duration", "referrals:\n  nudges: [7d, soon]\n", nil,
			[]string{`referrals.nudges[1]: "soon" is not a duration`, "e.g. 72h or 3d"}},
		{"zero nudge", "referrals:\n  nudges: [0s, 7d]\n", nil,
			[]string{"referrals.nudges[0]: must be more than 0"}},
		{"nudge is a list", "referrals:\n  nudges: [[7d]]\n", nil,
			[]string{"referrals.nudges[0]: want a duration such as 7d, got a list"}},
		{"nudges a mapping", "referrals:\n  nudges: {a: 7d}\n", nil,
			[]string{"referrals.nudges: want a list such as [a, b], got a mapping"}},
		{"bad sweep", "schedule:\n  sweep: every minute\n", nil,
			[]string{`schedule.sweep: "every minute" is not a cron spec`, `"@every 1m"`}},
		{"bad digest", "schedule:\n  digest: \"0 9 * *\"\n", nil,
			[]string{`schedule.digest: "0 9 * *" is not a cron spec`, `"0 9 * * MON"`}},
		{"bad timezone", "timezone: Mars/Olympus\n", nil,
			[]string{`timezone: "Mars/Olympus" is not a known IANA timezone`, "Europe/Berlin"}},
		{"empty timezone", "timezone: ${TZ}\n", nil,
			[]string{`timezone: "" is not a known IANA timezone`, "Europe/Berlin"}},
		{"max open zero", "referrals:\n  max_open_per_student: 0\n", nil,
			[]string{"referrals.max_open_per_student: 0 is out of range; use 1 to 20"}},
		{"max open too many", "referrals:\n  max_open_per_student: 21\n", nil,
			[]string{"referrals.max_open_per_student: 21 is out of range; use 1 to 20"}},
		{"capacity zero", "referrals:\n  referrer_capacity: 0\n", nil,
			[]string{"referrals.referrer_capacity: 0 is out of range; use 1 to 20"}},
		{"port zero", "smtp:\n  port: 0\n", nil,
			[]string{"smtp.port: 0 is out of range; use 1 to 65535"}},
		{"port too big", "smtp:\n  port: 70000\n", nil,
			[]string{"smtp.port: 70000 is out of range; use 1 to 65535"}},
		{"log level", "log:\n  level: verbose\n", nil,
			[]string{`log.level: "verbose" is not a level; use debug, info, warn or error`}},
		{"log format", "log:\n  format: xml\n", nil,
			[]string{`log.format: "xml" is not a format; use text or json`}},
		{"empty database path", "database:\n  path: \"\"\n", nil,
			[]string{"database.path: empty", "referralbot.db"}},
		{"api url without scheme", "discord:\n  api_url: discord.com\n", nil,
			[]string{`discord.api_url: "discord.com" is not an absolute http(s) URL`, "http://127.0.0.1:9000"}},
		{"api url other scheme", "discord:\n  api_url: ftp://example.org\n", nil,
			[]string{`discord.api_url: "ftp://example.org" is not an absolute http(s) URL`}},
		{"guild id not digits", "discord:\n  guild_ids: [\"123456789012345678\", 12x]\n", nil,
			[]string{`discord.guild_ids[1]: "12x" is not a server ID`, "Copy Server ID"}},
		{"guild id too big", "discord:\n  guild_ids: [99999999999999999999]\n", nil,
			[]string{`discord.guild_ids[0]: "99999999999999999999" is not a server ID`}},
		{"smtp from missing", "smtp:\n  host: smtp.example.org\n  from: \"\"\n", nil,
			[]string{"smtp.from: missing", "referrals@example.org", "smtp.host is set"}},
		{"smtp from not an address", "smtp:\n  host: smtp.example.org\n  from: referrals\n", nil,
			[]string{`smtp.from: "referrals" is not an email address`}},
		{"http listen without port", "http:\n  listen: \"8080\"\n", nil,
			[]string{`http.listen: "8080" is not host:port`, ":8080"}},
		{"yaml syntax", "discord:\n  token: [\n", nil,
			[]string{"config: ", "line", "indentation"}},
		{"two documents", "log:\n  level: info\n---\nlog:\n  level: debug\n", nil,
			[]string{"config: more than one YAML document"}},
		{"all problems at once", "referrals:\n  offer_timeout: 3x\n  max_open_per_student: 0\nlog:\n  levl: info\n", map[string]string{},
			[]string{"4 problems:", "\n  referrals.offer_timeout:", "\n  referrals.max_open_per_student:", `"log.levl"`, "\n  discord.token: missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := tokenEnv
			if tt.env != nil {
				getenv = env(tt.env)
			}
			_, err := Load(strings.NewReader(tt.yaml), getenv)
			if err == nil {
				t.Fatalf("Load(%q) error = nil; want it to mention %q", tt.yaml, tt.want[0])
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load(%q) error = %v; want it to mention %q", tt.yaml, err, w)
				}
			}
		})
	}
}

// A key the decoder rejected keeps its default, so Validate must not report
// it a second time.
func TestLoadReportsEachKeyOnce(t *testing.T) {
	tests := []struct {
		yaml string
		env  map[string]string
	}{
		{"referrals:\n  nudges: [7d, soon]\n", map[string]string{"DISCORD_TOKEN": "x"}},
		{"timezone: Mars/Olympus\n", map[string]string{"DISCORD_TOKEN": "x"}},
		{"discord:\n  token: [a]\n", nil},
		{"discord:\n  token: [\n", nil}, // unparsable: no "token missing" noise
	}
	for _, tt := range tests {
		_, err := Load(strings.NewReader(tt.yaml), env(tt.env))
		if err == nil {
			t.Fatalf("Load(%q) error = nil; want one problem", tt.yaml)
		}
		if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 1 {
			t.Errorf("Load(%q) error = %v; want exactly 1 problem, got %d", tt.yaml, err, n)
		}
	}
}

func TestLoadErrorsUnwrap(t *testing.T) {
	_, err := Load(strings.NewReader("log:\n  level: loud\n  format: xml\n"), tokenEnv)
	var p problem
	if !errors.As(err, &p) || p.key != "log.level" {
		t.Errorf("errors.As(%v) = %+v; want the log.level problem", err, p)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "config.yaml")
	_, err := LoadFile(missing, tokenEnv)
	for _, w := range []string{missing, "cp config.example.yaml"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("LoadFile(%q) error = %v; want it to mention %q", missing, err, w)
		}
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("log:\n  level: loud\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadFile(bad, tokenEnv)
	if w := bad + ": log.level:"; err == nil || !strings.Contains(err.Error(), w) {
		t.Errorf("LoadFile(%q) error = %v; want it to mention %q", bad, err, w)
	}
}

func TestLoadValues(t *testing.T) {
	in := `
discord:
  token: abc
  guild_ids: [123456789012345678, "876543210987654321"]
  api_url: http://127.0.0.1:9000
timezone: Europe/Berlin
schedule:
  sweep: "@every 10s"
  digest: "@weekly"
referrals:
  offer_timeout: 1h30m
  nudges: [1d12h, 0.5w]
`
	_, err := Load(strings.NewReader(in), env(nil))
	if w := `referrals.nudges[1]: "0.5w" is not a duration`; err == nil || !strings.Contains(err.Error(), w) {
		t.Fatalf("Load(%q) error = %v; want it to mention %q", in, err, w)
	}
	in = strings.Replace(in, "0.5w", "2d", 1)
	c, err := Load(strings.NewReader(in), env(nil))
	if err != nil {
		t.Fatalf("Load(%q) error = %v", in, err)
	}
	if got, want := c.Discord.GuildIDs, []string{"123456789012345678", "876543210987654321"}; !reflect.DeepEqual(got, want) {
		t.Errorf("GuildIDs = %q; want %q", got, want)
	}
	if c.Location().String() != "Europe/Berlin" || c.Timezone != "Europe/Berlin" {
		t.Errorf("Timezone, Location() = %q, %v; want Europe/Berlin", c.Timezone, c.Location())
	}
	if got, want := c.Referrals.OfferTimeout, Duration(90*time.Minute); got != want {
		t.Errorf("OfferTimeout = %v; want %v", got, want)
	}
	if got, want := c.Referrals.Nudges, []Duration{Duration(36 * time.Hour), Duration(48 * time.Hour)}; !reflect.DeepEqual(got, want) {
		t.Errorf("Nudges = %v; want %v", got, want)
	}
	if got, want := c.Referrals.RequestTTL, Duration(30*24*time.Hour); got != want {
		t.Errorf("RequestTTL = %v; want the default %v", got, want)
	}
}

func TestLoadEmptyKeepsDefaults(t *testing.T) {
	for _, in := range []string{"smtp:\nlog: ~\n", "# only sections\nsmtp:\n"} {
		c, err := Load(strings.NewReader(in), tokenEnv)
		if err != nil {
			t.Fatalf("Load(%q) error = %v", in, err)
		}
		if want := withToken(Default()); !reflect.DeepEqual(c, want) {
			t.Errorf("Load(%q) = %+v; want defaults %+v", in, c, want)
		}
	}
}

func TestExpand(t *testing.T) {
	vars := map[string]string{
		"DISCORD_TOKEN": testToken,
		"SMTP_PASSWORD": "pa: ss\nlog:\n  level: nonsense",
		"SMTP_USERNAME": "bot@example.org",
		"HOST":          "smtp.example.org",
		"PORT":          "2525",
		"GUILDS":        "111111111111111111, 222222222222222222",
		"NUDGES":        "1d 2d",
		"TTL":           "10d",
	}
	in := `
smtp:
  host: $HOST
  port: ${PORT}
  username: ${SMTP_USERNAME}
  password: ${SMTP_PASSWORD}
  from: "bot-${UNSET}@example.org"
discord:
  guild_ids: ${GUILDS}
referrals:
  nudges: ${NUDGES}
  request_ttl: ${TTL}
database:
  path: /data/$$money.db
`
	c, err := Load(strings.NewReader(in), env(vars))
	if err != nil {
		t.Fatalf("Load(%q) error = %v", in, err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"smtp.host", c.SMTP.Host, "smtp.example.org"},
		{"smtp.port", c.SMTP.Port, 2525},
		{"smtp.username", c.SMTP.Username, "bot@example.org"},
		{"smtp.password", c.SMTP.Password, vars["SMTP_PASSWORD"]},
		{"smtp.from", c.SMTP.From, "bot-@example.org"},
		{"log.level", c.Log.Level, "info"},
		{"discord.token", c.Discord.Token, testToken},
		{"discord.guild_ids", c.Discord.GuildIDs, []string{"111111111111111111", "222222222222222222"}},
		{"referrals.nudges", c.Referrals.Nudges, []Duration{Duration(24 * time.Hour), Duration(48 * time.Hour)}},
		{"referrals.request_ttl", c.Referrals.RequestTTL, Duration(10 * 24 * time.Hour)},
		{"database.path", c.Database.Path, "/data/$money.db"},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %#v; want %#v", ch.name, ch.got, ch.want)
		}
	}

	// A variable that expands to a bad value is reported under its key.
	_, err = Load(strings.NewReader("referrals:\n  offer_timeout: ${T}\n"), env(map[string]string{"DISCORD_TOKEN": "x", "T": "soon"}))
	if w := `referrals.offer_timeout: "soon" is not a duration`; err == nil || !strings.Contains(err.Error(), w) {
		t.Errorf("Load error = %v; want it to mention %q", err, w)
	}
}

func TestTokenFallback(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want string
	}{
		{"no key", "log:\n  level: info\n", map[string]string{"DISCORD_TOKEN": "from-env"}, "from-env"},
		{"empty value", "discord:\n  token: \"\"\n", map[string]string{"DISCORD_TOKEN": "from-env"}, "from-env"},
		{"unset variable", "discord:\n  token: ${BOT_TOKEN}\n", map[string]string{"DISCORD_TOKEN": "from-env"}, "from-env"},
		{"other variable", "discord:\n  token: ${BOT_TOKEN}\n", map[string]string{"DISCORD_TOKEN": "from-env", "BOT_TOKEN": "bot"}, "bot"},
		{"file wins", "discord:\n  token: in-file\n", map[string]string{"DISCORD_TOKEN": "from-env"}, "in-file"},
		{"whitespace trimmed", "log:\n  level: info\n", map[string]string{"DISCORD_TOKEN": "from-env\n"}, "from-env"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(strings.NewReader(tt.yaml), env(tt.env))
			if err != nil {
				t.Fatalf("Load(%q) error = %v", tt.yaml, err)
			}
			if c.Discord.Token != tt.want {
				t.Errorf("Load(%q) token = %q; want %q", tt.yaml, c.Discord.Token, tt.want)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	const day = 24 * time.Hour
	valid := []struct {
		in   string
		want time.Duration
	}{
		{"7d", 7 * day},
		{"1d12h", 36 * time.Hour},
		{"0.5d", 12 * time.Hour},
		{".5d", 12 * time.Hour},
		{"90s", 90 * time.Second},
		{"72h", 72 * time.Hour},
		{"1h30m", 90 * time.Minute},
		{"1.5h", 90 * time.Minute},
		{"500ms", 500 * time.Millisecond},
		{"1µs", time.Microsecond},
		{"+2d", 2 * day},
		{"106751d", 106751 * day},
	}
	for _, tt := range valid {
		got, err := ParseDuration(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	invalid := []struct{ in, want string }{
		{"", "empty"},
		{"0", "more than 0"},
		{"0d", "more than 0"},
		{"-1h", "more than 0"},
		{"3x", "not a duration"},
		{"7", "not a duration"},
		{"d", "not a duration"},
		{".d", "not a duration"},
		{"7 d", "not a duration"},
		{"1e3h", "not a duration"},
		{"1w", "not a duration"},
		{"106752d", "not a duration"},
		{"99999999999999999999s", "not a duration"},
	}
	for _, tt := range invalid {
		_, err := ParseDuration(tt.in)
		for _, w := range []string{tt.want, "72h or 3d"} {
			if tt.want == "more than 0" && w == "72h or 3d" {
				continue
			}
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("ParseDuration(%q) error = %v; want it to mention %q", tt.in, err, w)
			}
		}
	}
}

func TestFormatDuration(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		in   time.Duration
		want string
	}{
		{7 * day, "7d"},
		{72 * time.Hour, "3d"},
		{36 * time.Hour, "36h"},
		{90 * time.Minute, "1h30m"},
		{time.Hour, "1h"},
		{10 * time.Minute, "10m"},
		{90 * time.Second, "1m30s"},
		{time.Hour + time.Second, "1h0m1s"},
		{1500 * time.Millisecond, "1.5s"},
		{0, "0s"},
		{-2 * day, "-2d"},
	}
	for _, tt := range tests {
		if got := FormatDuration(tt.in); got != tt.want {
			t.Errorf("FormatDuration(%v) = %q; want %q", tt.in, got, tt.want)
		}
	}
	for _, d := range []time.Duration{
		1, time.Microsecond, time.Millisecond + 1, 90 * time.Second, 36 * time.Hour,
		7 * day, 180 * day, 12*time.Hour + 1, 1<<63 - 1,
	} {
		s := FormatDuration(d)
		if got, err := ParseDuration(s); err != nil || got != d {
			t.Errorf("ParseDuration(FormatDuration(%d)) = ParseDuration(%q) = %v, %v; want %v", d, s, got, err, d)
		}
	}
}

func TestWriteEffective(t *testing.T) {
	c := withToken(Default())
	c.Discord.GuildIDs = []string{"123456789012345678"}
	c.Discord.APIURL = "http://127.0.0.1:9000"
	c.Timezone = "Europe/Berlin"
	c.Schedule.Sweep = "*/5 * * * *"
	c.Referrals.OfferTimeout = Duration(90 * time.Minute)
	c.Referrals.Nudges = []Duration{Duration(36 * time.Hour), Duration(7 * 24 * time.Hour)}
	c.SMTP = SMTP{Host: "smtp.example.org", Port: 465, Username: "u$er", Password: "hunter2-secret", From: "Referrals <r@example.org>"}
	c.HTTP.Listen = ""
	c.Log = Log{Level: "debug", Format: "json"}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}

	var buf bytes.Buffer
	if err := c.WriteEffective(&buf); err != nil {
		t.Fatalf("WriteEffective error = %v", err)
	}
	out := buf.String()
	for _, secret := range []string{testToken, testToken[:20], "hunter2"} {
		if strings.Contains(out, secret) {
			t.Errorf("WriteEffective output contains secret %q:\n%s", secret, out)
		}
	}
	for _, w := range []string{`token: '****WXYZ'`, `password: '****'`, "offer_timeout: 1h30m", "nudges: [36h, 7d]", "referrer_reminder: 4d", "timezone: Europe/Berlin"} {
		if !strings.Contains(out, w) {
			t.Errorf("WriteEffective output = \n%s\nwant it to contain %q", out, w)
		}
	}

	// The secrets are masked on purpose (and a masked token is rejected);
	// supply them to compare the rest.
	back, err := Load(strings.NewReader(unmaskToken(out)), env(nil))
	if err != nil {
		t.Fatalf("Load(WriteEffective output) error = %v\n%s", err, out)
	}
	back.SMTP.Password = c.SMTP.Password
	if !reflect.DeepEqual(back, c) {
		t.Errorf("WriteEffective output loads back as\n%+v\nwant\n%+v\noutput:\n%s", back, c, out)
	}
}

func TestWriteEffectiveDefaults(t *testing.T) {
	var buf bytes.Buffer
	if err := Default().WriteEffective(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, w := range []string{"token: (unset)", "guild_ids: []", `sweep: '@every 1m'`, "nudges: [7d, 14d]", "retention: 180d", "password: (unset)"} {
		if !strings.Contains(out, w) {
			t.Errorf("WriteEffective output = \n%s\nwant it to contain %q", out, w)
		}
	}
	back, err := Load(strings.NewReader(unmaskToken(out)), env(nil))
	if err != nil {
		t.Fatalf("Load(WriteEffective output) error = %v", err)
	}
	back.Discord.Token, back.SMTP.Password = "", ""
	if !reflect.DeepEqual(back, Default()) {
		t.Errorf("defaults load back as %+v; want %+v", back, Default())
	}
}

// unmaskToken puts testToken where WriteEffective masked the token.
func unmaskToken(out string) string {
	return regexp.MustCompile(`(?m)^  token: .*$`).ReplaceAllString(out, "  token: "+testToken)
}

func TestMaskShortToken(t *testing.T) {
	c := Default()
	c.Discord.Token = "short"
	var buf bytes.Buffer
	if err := c.WriteEffective(&buf); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); strings.Contains(out, "hort") || !strings.Contains(out, "token: '****'") {
		t.Errorf("WriteEffective with a short token = \n%s\nwant token: '****' only", out)
	}
}

func TestValidate(t *testing.T) {
	if err := withToken(Default()).Validate(); err != nil {
		t.Errorf("Default() with a token: Validate() = %v; want nil", err)
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no token", func(c *Config) { c.Discord.Token = "" }, "discord.token: missing"},
		{"bad timezone", func(c *Config) { c.Timezone = "Europe/Nowhere" }, `timezone: "Europe/Nowhere" is not a known IANA timezone`},
		{"zero offer timeout", func(c *Config) { c.Referrals.OfferTimeout = 0 }, "referrals.offer_timeout: must be more than 0"},
		{"nil nudges", func(c *Config) { c.Referrals.Nudges = nil }, "referrals.nudges: want 1 to 5"},
		{"zero port", func(c *Config) { c.SMTP.Port = 0 }, "smtp.port"},
	}
	for _, tt := range tests {
		c := withToken(Default())
		tt.change(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate() = %v; want it to mention %q", tt.name, err, tt.want)
		}
	}
}

func TestLogLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{
		"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError,
	} {
		c := Default()
		c.Log.Level = in
		if got := c.LogLevel(); got != want {
			t.Errorf("LogLevel() for %q = %v; want %v", in, got, want)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"7d", "1d12h", "0.5d", "90s", "-1h", "3x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		if d <= 0 {
			t.Fatalf("ParseDuration(%q) = %v, nil; want a positive duration or an error", s, d)
		}
		if back, err := ParseDuration(FormatDuration(d)); err != nil || back != d {
			t.Fatalf("ParseDuration(FormatDuration(%v)) = %v, %v; want %v", d, back, err, d)
		}
		// Without a day unit the result must agree with the standard library.
		if !strings.Contains(s, "d") {
			if std, err := time.ParseDuration(s); err == nil && std != d {
				t.Fatalf("ParseDuration(%q) = %v; time.ParseDuration says %v", s, d, std)
			}
		}
	})
}

// The example file is the documentation of the keys: every key of Config
// must appear in it, not only agree with Default() where it does.
func TestExampleFileHasEveryKey(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	inFile := map[string]bool{}
	var walk func(prefix string, n *yaml.Node)
	walk = func(prefix string, n *yaml.Node) {
		for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
			key := joinKey(prefix, n.Content[i].Value)
			inFile[key] = true
			walk(key, n.Content[i+1])
		}
	}
	walk("", doc.Content[0])
	var want func(prefix string, typ reflect.Type)
	want = func(prefix string, typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			key := joinKey(prefix, yamlName(f))
			if !inFile[key] {
				t.Errorf("config.example.yaml lacks %s", key)
			}
			if f.Type.Kind() == reflect.Struct {
				want(key, f.Type)
			}
		}
	}
	want("", reflect.TypeFor[Config]())
}

func TestLoadNewKeys(t *testing.T) {
	const key = "0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef"
	in := "discord:\n  interactions: http\n  public_key: " + key + "\n" +
		"database:\n  url: postgres://bot:${PGPASSWORD}@db:5432/referrals?sslmode=disable\n" +
		"http:\n  listen: :8080\n  interactions_path: /discord/interactions\n  public_url: https://referrals.example.org\n"
	c, err := Load(strings.NewReader(in), env(map[string]string{"DISCORD_TOKEN": testToken, "PGPASSWORD": "s3cret"}))
	if err != nil {
		t.Fatalf("Load(%q) error = %v", in, err)
	}
	checks := []struct {
		name      string
		got, want string
	}{
		{"discord.interactions", c.Discord.Interactions, "http"},
		{"discord.public_key", c.Discord.PublicKey, key},
		{"database.url", c.Database.URL, "postgres://bot:s3cret@db:5432/referrals?sslmode=disable"},
		{"http.interactions_path", c.HTTP.InteractionsPath, "/discord/interactions"},
		{"http.public_url", c.HTTP.PublicURL, "https://referrals.example.org"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q; want %q", ch.name, ch.got, ch.want)
		}
	}

	var buf bytes.Buffer
	if err := c.WriteEffective(&buf); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); strings.Contains(out, "s3cret") || !strings.Contains(out, "url: postgres://bot:xxxxx@db:5432/referrals?sslmode=disable") {
		t.Errorf("WriteEffective output = \n%s\nwant database.url with its password masked", out)
	}
}

func TestLoadNewKeyErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
		not  string // must not appear: a secret
	}{
		{"interactions unknown", "discord:\n  interactions: websocket\n",
			[]string{`discord.interactions: "websocket" is not a transport; use gateway (the default) or http`}, ""},
		{"http without public key", "discord:\n  interactions: http\n",
			[]string{"discord.public_key: missing", "discord.interactions: http", "Developer Portal"}, ""},
		{"public key too short", "discord:\n  public_key: abcdef\n",
			[]string{`discord.public_key: "abcdef" is not an Ed25519 public key`, "64 hexadecimal characters"}, ""},
		{"public key not hex", "discord:\n  public_key: " + strings.Repeat("g", 64) + "\n",
			[]string{"discord.public_key:", "is not an Ed25519 public key"}, ""},
		{"http without listen", "discord:\n  interactions: http\n  public_key: " + strings.Repeat("ab", 32) + "\nhttp:\n  listen: \"\"\n",
			[]string{"http.listen: empty, but discord.interactions is http"}, ""},
		{"dashboard without listen", "http:\n  listen: \"\"\n  public_url: https://referrals.example.org\n",
			[]string{"http.listen: empty, but http.public_url is set"}, ""},
		{"database url mysql", "database:\n  url: mysql://bot:hunter2@db/referrals\n",
			[]string{`database.url: has scheme "mysql", not postgres:// or postgresql://`, `"" for SQLite at database.path`}, "hunter2"},
		{"database url no scheme", "database:\n  url: bot:hunter2@db/referrals\n",
			[]string{"database.url:", "postgres://USER:PASSWORD@HOST:5432/DB"}, "hunter2"},
		{"database url empty path too", "database:\n  url: \"\"\n  path: \"\"\n",
			[]string{"database.path: empty"}, ""},
		{"interactions path relative", "http:\n  interactions_path: interactions\n",
			[]string{`http.interactions_path: "interactions" is not a path; start it with /`}, ""},
		{"interactions path empty", "http:\n  interactions_path: \"\"\n",
			[]string{`http.interactions_path: "" is not a path`}, ""},
		{"public url without scheme", "http:\n  public_url: referrals.example.org\n",
			[]string{`http.public_url: "referrals.example.org" is not an absolute http(s) URL`}, ""},
		{"public url without host", "http:\n  public_url: https://\n",
			[]string{`http.public_url: "https://" is not an absolute http(s) URL`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(strings.NewReader(tt.yaml), tokenEnv)
			if err == nil {
				t.Fatalf("Load(%q) error = nil; want it to mention %q", tt.yaml, tt.want[0])
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load(%q) error = %v; want it to mention %q", tt.yaml, err, w)
				}
			}
			if tt.not != "" && strings.Contains(err.Error(), tt.not) {
				t.Errorf("Load(%q) error = %v; shows %q", tt.yaml, err, tt.not)
			}
		})
	}
	// A postgresql:// URL without a host (a Unix socket) is fine, and a
	// url makes database.path unused.
	in := "database:\n  url: postgresql:///referrals?host=/run/postgresql\n  path: \"\"\n"
	if _, err := Load(strings.NewReader(in), tokenEnv); err != nil {
		t.Errorf("Load(%q) error = %v; want nil", in, err)
	}
}

func TestLoadSyntaxErrors(t *testing.T) {
	const good = "discord:\n  token: x\n  guild_ids: []\ndatabase:\n  path: a.db\nreferrals:\n  offer_timeout: 72h\n  referrer_reminder: 4d\n"
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"key indented one more", good + "   nudges: [7d]\n  request_ttl: 30d\n",
			[]string{`config: line 9: "nudges:" is indented 3 spaces, more than the line above it`}},
		{"key indented two more", good + "    nudges: [7d]\n",
			[]string{`config: line 9: "nudges:" is indented 4 spaces, more than`}},
		{"key indented one less", good + " nudges: [7d]\n  request_ttl: 30d\n",
			[]string{`config: line 9: "nudges:" is indented 1 space, which lines up with no section above it`}},
		{"nested key indented one less", "log:\n  level: info\nsmtp:\n  host: x\n  port: 25\n  from: a@b.c\n  username: u\n password: p\n",
			[]string{`config: line 8: "password:" is indented 1 space, which lines up with no section`}},
		{"under-indent far below its section", "a:\n  b:\n    c: 1\n    d: 2\n   e: 3\n",
			[]string{`config: line 5: "e:" is indented 3 spaces, which lines up with no section`}},
		{"list item after lines of comments", "discord:\n  guild_ids:\n    - \"1\"\n    # two\n\n    - \"2\"\n   api_url: x\n",
			[]string{`config: line 7: "api_url:"`}},
		{"tab before a key", "discord:\n  token: x\n\tguild_ids: []\n",
			[]string{"config: line 3: a tab is used for indentation", "spaces"}},
		{"tab as the only indent", "discord:\n\ttoken: x\n",
			[]string{"config: line 2: a tab is used for indentation"}},
		{"tab after spaces", "log:\n  level: info\n \tformat: text\n",
			[]string{"config: line 3: a tab"}},
		{"colon in a value", "discord:\n  token: x\n  api_url: a: b\n",
			[]string{"config: line 3: mapping values are not allowed in this context", "quote values"}},
		{"unclosed list", "discord:\n  token: [\n",
			[]string{"config: line 2:", "indentation"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(strings.NewReader(tt.yaml), tokenEnv)
			if err == nil {
				t.Fatalf("Load(%q) error = nil; want it to mention %q", tt.yaml, tt.want[0])
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load(%q) error = %v; want it to mention %q", tt.yaml, err, w)
				}
			}
		})
	}
	// Tabs where YAML allows them are no problem.
	for _, in := range []string{"smtp:\n  host: |\n    a\n    \tb\n  port: x\n", "log:\n  level:\tinfo\n", "# \tcomment\nlog:\n  level: info\n"} {
		if _, err := Load(strings.NewReader(in), tokenEnv); err != nil && strings.Contains(err.Error(), "tab") {
			t.Errorf("Load(%q) error = %v; want no complaint about a tab", in, err)
		}
	}
}

func TestLoadEmptyFile(t *testing.T) {
	for _, in := range []string{"", "\n\n", "   \n\t\n", "# nothing yet\n", "# a\n\n  # b\n", "---\n", "~\n", "null\n"} {
		_, err := Load(strings.NewReader(in), tokenEnv)
		if err == nil || !strings.Contains(err.Error(), "config file is empty") || !strings.Contains(err.Error(), "config.example.yaml") {
			t.Errorf("Load(%q) error = %v; want \"config file is empty\" and a pointer to config.example.yaml", in, err)
		}
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("# fill me in\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(path, tokenEnv); err == nil || !strings.Contains(err.Error(), path+": config file is empty") {
		t.Errorf("LoadFile(%q) error = %v; want it to name the file and say it is empty", path, err)
	}
}

func TestTokenCharacters(t *testing.T) {
	tests := []struct {
		name, token, want string
	}{
		{"space inside", "MTIzNDU2Nzg5MDEy NDU2Nzg4.GaBcDe.abcdefghijkl", "has a space or line break at character 17"},
		{"quoted", `"MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijkl"`, `has '"' at character 1`},
		{"two tokens", "MTIzNDU2.GaBc\nNjc4.GaBc", "has a space or line break at character 14"},
		{"slash", "MTIzNDU2Nzg5/GaBcDe", "has '/' at character 13"},
		{"non-ascii", "MTIzNDU2Nzg5ÄGaBcDe", "has 'Ä' at character 13"},
		{"bearer prefix", "Bearer MTIzNDU2Nzg5", "has a space or line break at character 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(strings.NewReader("log:\n  level: info\n"), env(map[string]string{"DISCORD_TOKEN": tt.token}))
			if err == nil {
				t.Fatalf("Load with token %q: error = nil; want discord.token rejected", tt.token)
			}
			for _, w := range []string{"discord.token: " + tt.want, "Reset Token"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load with token %q: error = %v; want it to mention %q", tt.token, err, w)
				}
			}
			if strings.Contains(err.Error(), "MTIzNDU2") {
				t.Errorf("Load with token %q: error = %v; shows the token", tt.token, err)
			}
		})
	}
	for _, ok := range []string{testToken, "Bot " + testToken, "test-token", "a_b-c.d"} {
		c := withToken(Default())
		c.Discord.Token = ok
		if err := c.Validate(); err != nil {
			t.Errorf("Validate() with token %q = %v; want nil", ok, err)
		}
	}
}

func TestDurationYAML(t *testing.T) {
	var v struct {
		D  Duration   `yaml:"d"`
		Ds []Duration `yaml:"ds,flow"`
	}
	if err := yaml.Unmarshal([]byte("d: 1d12h\nds: [90m, 7d]\n"), &v); err != nil {
		t.Fatalf("yaml.Unmarshal error = %v", err)
	}
	if want := Duration(36 * time.Hour); v.D != want {
		t.Errorf("D = %v; want %v", v.D, want)
	}
	if want := []Duration{Duration(90 * time.Minute), Duration(7 * 24 * time.Hour)}; !reflect.DeepEqual(v.Ds, want) {
		t.Errorf("Ds = %v; want %v", v.Ds, want)
	}
	out, err := yaml.Marshal(v)
	if want := "d: 36h\nds: [1h30m, 7d]\n"; err != nil || string(out) != want {
		t.Errorf("yaml.Marshal = %q, %v; want %q", out, err, want)
	}
	for in, want := range map[string]string{
		"d: soon\n":   `"soon" is not a duration; use a number with s, m, h or d`,
		"d: 0s\n":     "must be more than 0, got 0s",
		"d: [1d]\n":   "want a duration such as 7d, got a list",
		"d: {a: 1}\n": "want a duration such as 7d, got a mapping",
	} {
		if err := yaml.Unmarshal([]byte(in), &v); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("yaml.Unmarshal(%q) error = %v; want it to mention %q", in, err, want)
		}
	}
}

func TestLoadLimits(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		wantN    int
		wantW    time.Duration
		wantErrs []string // nil = loads
	}{
		{"default", "log:\n  level: info\n", 10, 10 * time.Second, nil},
		{"set", "limits:\n  interactions: 5\n  window: 1m\n", 5, time.Minute, nil},
		{"off", "limits:\n  interactions: 0\n", 0, 10 * time.Second, nil},
		{"negative", "limits:\n  interactions: -1\n", 0, 0,
			[]string{"limits.interactions: -1 is out of range; use 1 to 1000", "0 to turn the limit off"}},
		{"too many", "limits:\n  interactions: 1001\n", 0, 0,
			[]string{"limits.interactions: 1001 is out of range"}},
		{"not a number", "limits:\n  interactions: lots\n", 0, 0,
			[]string{`limits.interactions: want a whole number, got "lots"`}},
		{"window zero", "limits:\n  window: 0s\n", 0, 0,
			[]string{"limits.window: must be more than 0"}},
		{"window too long", "limits:\n  window: 2h\n", 0, 0,
			[]string{"limits.window: 2h is too long", "at most 1h"}},
		{"window not a duration", "limits:\n  window: soon\n", 0, 0,
			[]string{"limits.window:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(strings.NewReader(tt.yaml), tokenEnv)
			if tt.wantErrs == nil {
				if err != nil {
					t.Fatalf("Load(%q) error = %v", tt.yaml, err)
				}
				if c.Limits.Interactions != tt.wantN || time.Duration(c.Limits.Window) != tt.wantW {
					t.Errorf("Load(%q) limits = %d in %v; want %d in %v", tt.yaml, c.Limits.Interactions, time.Duration(c.Limits.Window), tt.wantN, tt.wantW)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load(%q) error = nil; want %q", tt.yaml, tt.wantErrs[0])
			}
			for _, w := range tt.wantErrs {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load(%q) error = %q; want it to contain %q", tt.yaml, err, w)
				}
			}
		})
	}
}
