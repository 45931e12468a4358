package bot

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
)

// rewriteTransport sends every request for Discord's API host to base
// instead: a REST proxy or a local fake Discord. discordgo builds its URLs
// from package variables, so the transport is the one place that covers
// every route without touching globals.
type rewriteTransport struct {
	base *url.URL
	next http.RoundTripper
}

func (t *rewriteTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == "discord.com" {
		req = req.Clone(req.Context())
		req.URL.Scheme = t.base.Scheme
		req.URL.Host = t.base.Host
		if p := strings.TrimSuffix(t.base.Path, "/"); p != "" {
			req.URL.Path = p + req.URL.Path
		}
		req.Host = t.base.Host
	}
	return t.next.RoundTrip(req)
}

// newSession makes a discordgo session for token, talking to apiURL when set.
func newSession(token, apiURL string) (*discordgo.Session, error) {
	if !strings.HasPrefix(token, "Bot ") {
		token = "Bot " + token
	}
	s, err := discordgo.New(token)
	if err != nil {
		return nil, fmt.Errorf("discord session: %w", err)
	}
	var rt http.RoundTripper = http.DefaultTransport.(*http.Transport).Clone()
	if apiURL != "" {
		base, err := url.Parse(apiURL)
		if err != nil {
			return nil, fmt.Errorf("discord.api_url: %w", err)
		}
		rt = &rewriteTransport{base: base, next: rt}
	}
	s.Client = &http.Client{Transport: rt, Timeout: 20 * time.Second}
	s.StateEnabled = false
	s.SyncEvents = false
	// Slash commands and buttons arrive without any privileged intent.
	s.Identify.Intents = discordgo.IntentsGuilds
	s.ShouldReconnectOnError = true
	return s, nil
}
