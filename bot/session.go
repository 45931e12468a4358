package bot

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
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

// maxIdlePerHost bounds the idle connections kept to Discord's API (or
// the proxy in front of it).
const maxIdlePerHost = 64

// newSession makes a discordgo session for token, talking to apiURL when set.
func newSession(token, apiURL string) (*discordgo.Session, error) {
	if !strings.HasPrefix(token, "Bot ") {
		token = "Bot " + token
	}
	s, err := discordgo.New(token)
	if err != nil {
		return nil, fmt.Errorf("discord session: %w", err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// Keep a connection for each interaction answered at once: the
	// default of two idle per host made a burst of callbacks to a REST
	// proxy or the fake (plain HTTP/1.1) dial, and later close, a new
	// connection for a third of the interactions at 300/s.
	transport.MaxIdleConnsPerHost = maxIdlePerHost
	var rt http.RoundTripper = rateLimitBody{next: transport}
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

// errTokenRefused is what an admin needs to read when Discord does not
// accept the bot token: it was reset, revoked or copied wrong, and only a
// new one from the Developer Portal helps.
var errTokenRefused = errors.New("connect to discord: discord refused the bot token (discord.token); " +
	"reset it in the Discord Developer Portal (your application > Bot > Reset Token) and put the new one in DISCORD_TOKEN or discord.token")

// openError explains a failed Session.Open. Discord refuses a bad token
// with 401 on REST (GET /gateway) or by closing the gateway with 4004.
func openError(err error) error {
	var rest *discordgo.RESTError
	var closed *websocket.CloseError
	switch {
	case errors.As(err, &rest) && rest.Response != nil && rest.Response.StatusCode == http.StatusUnauthorized,
		errors.As(err, &closed) && closed.Code == 4004:
		return errTokenRefused
	}
	return fmt.Errorf("connect to discord: %w", err)
}
