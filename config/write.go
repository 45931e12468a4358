package config

import (
	"fmt"
	"io"
	"net/url"
	"strings"

	"go.yaml.in/yaml/v3"
)

// WriteEffective writes the effective config as YAML in the layout of the
// config file, straight from Config's yaml tags, with discord.token,
// smtp.password and the password in database.url masked, and durations in
// the d/h/m/s form. A "$" in a value is written as "$$" so that loading the
// output does not expand it a second time.
func (c Config) WriteEffective(w io.Writer) error {
	c.Discord.Token = maskToken(c.Discord.Token)
	c.SMTP.Password = maskPassword(c.SMTP.Password)
	c.Database.URL = maskURLPassword(c.Database.URL)
	var doc yaml.Node
	if err := doc.Encode(c); err != nil {
		return fmt.Errorf("config: write effective config: %w", err)
	}
	escapeValues(&doc)

	if _, err := io.WriteString(w, "# effective configuration; discord.token, smtp.password and the password in database.url are masked\n"); err != nil {
		return err
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("config: write effective config: %w", err)
	}
	return enc.Close()
}

func escapeValues(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode {
		n.Value = strings.ReplaceAll(n.Value, "$", "$$")
	}
	for _, c := range n.Content {
		escapeValues(c)
	}
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

// maskURLPassword keeps a database URL readable (user, host, database)
// without its password. A URL that does not parse is hidden whole: it may
// be nothing but a password pasted in the wrong place.
func maskURLPassword(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return "****"
	}
	return u.Redacted()
}
