package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/referralbot/referralbot/commands"
)

// runBare is the floor: the real discordgo client, set up as the bot sets
// it up, registering the bot's commands (so the fake can build the same
// interactions) and answering every interaction at once with no work:
// /referral request with a modal of the same fields, everything else with
// an ephemeral reply carrying one Accept button to press. With -http it
// opens no gateway: it serves the interactions endpoint, checking each
// request's signature as any endpoint must, and answers in the HTTP response.
func runBare(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadtest bare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	api := fs.String("api", "", "base URL of the fake Discord (loopback only)")
	guild := fs.String("guild", "", "server to register the commands in")
	listen := fs.String("http", "", "serve interactions at http://ADDR/interactions instead of the gateway (loopback only)")
	publicKey := fs.String("public-key", "", "with -http: the hex Ed25519 key requests are signed with")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *api == "" || *guild == "" {
		return errors.New("bare: -api and -guild are required")
	}
	if err := mustLoopback(*api); err != nil {
		return err
	}
	base, err := url.Parse(*api)
	if err != nil {
		return fmt.Errorf("bare: -api: %w", err)
	}
	s, err := discordgo.New("Bot bare-token")
	if err != nil {
		return err
	}
	s.Client = &http.Client{Transport: &toFake{base: base, next: http.DefaultTransport.(*http.Transport).Clone()}, Timeout: 20 * time.Second}
	s.StateEnabled = false
	s.SyncEvents = false
	s.Identify.Intents = discordgo.IntentsGuilds
	s.ShouldReconnectOnError = true
	if *listen != "" {
		return serveBareHTTP(ctx, s, *listen, *publicKey, *guild)
	}

	appID := make(chan string, 1)
	s.AddHandler(func(_ *discordgo.Session, r *discordgo.Ready) {
		select {
		case appID <- r.Application.ID:
		default:
		}
	})
	s.AddHandler(func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		_ = s.InteractionRespond(i.Interaction, bareAnswer(i.Interaction))
	})
	if err := s.Open(); err != nil {
		return fmt.Errorf("bare: connect: %w", err)
	}
	defer s.Close()
	select {
	case id := <-appID:
		if _, err := s.ApplicationCommandBulkOverwrite(id, *guild, commands.Definitions()); err != nil {
			return fmt.Errorf("bare: register commands: %w", err)
		}
	case <-ctx.Done():
		return nil
	}
	<-ctx.Done()
	return nil
}

var (
	bareModal = &discordgo.InteractionResponse{Type: discordgo.InteractionResponseModal, Data: &discordgo.InteractionResponseData{
		CustomID: "bare/modal", Title: "Request a referral", Components: bareFields("job_url", "role", "intro", "resume_url", "note")}}
	bareReply = &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource, Data: &discordgo.InteractionResponseData{
		Content: "ok", Flags: discordgo.MessageFlagsEphemeral,
		Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: "Accept", CustomID: "bare/accept", Style: discordgo.SuccessButton}}}}}}
)

func bareFields(ids ...string) []discordgo.MessageComponent {
	var rows []discordgo.MessageComponent
	for _, id := range ids {
		rows = append(rows, discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.TextInput{CustomID: id, Label: id, Style: discordgo.TextInputShort, MaxLength: 1000}}})
	}
	return rows
}

func bareAnswer(i *discordgo.Interaction) *discordgo.InteractionResponse {
	if i.Type == discordgo.InteractionApplicationCommand {
		d := i.ApplicationCommandData()
		if d.Name == "referral" && len(d.Options) > 0 && d.Options[0].Name == "request" {
			return bareModal
		}
	}
	return bareReply
}

// toFake sends discordgo's requests for Discord's host to the fake, as the
// bot's api_url does.
type toFake struct {
	base *url.URL
	next http.RoundTripper
}

func (t *toFake) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == "discord.com" {
		req = req.Clone(req.Context())
		req.URL.Scheme, req.URL.Host, req.Host = t.base.Scheme, t.base.Host, t.base.Host
	}
	return t.next.RoundTrip(req)
}

// serveBareHTTP is the floor of http mode: verify, decode, answer.
func serveBareHTTP(ctx context.Context, s *discordgo.Session, listen, publicKey, guild string) error {
	if err := mustLoopback("http://" + listen); err != nil {
		return err
	}
	key, err := hex.DecodeString(publicKey)
	if err != nil || len(key) != ed25519.PublicKeySize {
		return fmt.Errorf("bare: -public-key %q is not a hex Ed25519 public key", publicKey)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("bare: -http: %w", err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !discordgo.VerifyInteraction(r, ed25519.PublicKey(key)) {
			http.Error(w, "invalid request signature", http.StatusUnauthorized)
			return
		}
		var i discordgo.Interaction
		if err := json.NewDecoder(r.Body).Decode(&i); err != nil {
			http.Error(w, "bad interaction", http.StatusBadRequest)
			return
		}
		answer := bareAnswer(&i)
		if i.Type == discordgo.InteractionPing {
			answer = &discordgo.InteractionResponse{Type: discordgo.InteractionResponsePong}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(answer)
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	app, err := s.Application("@me")
	if err != nil {
		return fmt.Errorf("bare: application: %w", err)
	}
	if _, err := s.ApplicationCommandBulkOverwrite(app.ID, guild, commands.Definitions()); err != nil {
		return fmt.Errorf("bare: register commands: %w", err)
	}
	<-ctx.Done()
	return nil
}
