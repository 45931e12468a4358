package discordtest

import (
	"context"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

func TestReady(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	ready := make(chan *discordgo.Ready, 1)
	guilds := make(chan *discordgo.GuildCreate, 1)
	dg.AddHandler(func(_ *discordgo.Session, r *discordgo.Ready) { ready <- r })
	dg.AddHandler(func(_ *discordgo.Session, g *discordgo.GuildCreate) { guilds <- g })
	openSession(t, s, dg)

	ctx := ctxT(t)
	select {
	case r := <-ready:
		if r.User == nil || r.User.ID != s.BotUser().ID || !r.User.Bot {
			t.Errorf("READY user = %+v; want bot %s", r.User, s.BotUser().ID)
		}
		if r.Application == nil || r.Application.ID != s.ApplicationID() {
			t.Errorf("READY application = %+v; want id %s", r.Application, s.ApplicationID())
		}
		if r.SessionID == "" || r.Version != 9 {
			t.Errorf("READY session_id %q, v %d; want a session and v 9", r.SessionID, r.Version)
		}
		if len(r.Guilds) != 1 || r.Guilds[0].ID != guildID || !r.Guilds[0].Unavailable {
			t.Errorf("READY guilds = %+v; want %s unavailable", r.Guilds, guildID)
		}
	case <-ctx.Done():
		t.Fatal("no READY")
	}
	select {
	case g := <-guilds:
		if g.ID != guildID || g.Name != "Alumni" || len(g.Channels) != 2 || g.Channels[0].GuildID != guildID {
			t.Errorf("GUILD_CREATE = %s %q with %d channels; want %s Alumni with 2", g.ID, g.Name, len(g.Channels), guildID)
		}
	case <-ctx.Done():
		t.Fatal("no GUILD_CREATE")
	}
	if _, err := s.WaitEvent(ctx, func(e Event) bool { return e.Kind == "connect" }); err != nil {
		t.Error(err)
	}
}

func TestDropGatewayResumesAndReplays(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	got := make(chan string, 4)
	dg.AddHandler(func(ds *discordgo.Session, i *discordgo.InteractionCreate) {
		got <- i.ApplicationCommandData().Options[0].Name
		_ = ds.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Content: "ok", Flags: discordgo.MessageFlagsEphemeral}})
	})
	openSession(t, s, dg)
	register(t, s, dg)
	ctx := ctxT(t)

	s.DropGateway()
	// Sent while the gateway is down: kept in the session and replayed.
	during, err := s.RunCommand(ctx, Command{GuildID: guildID, UserID: aliceID, Name: "referral", Subcommand: "withdraw",
		Options: []Option{{Name: "request", Value: 7}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WaitEvent(ctx, func(e Event) bool { return e.Kind == "resume" && strings.Contains(e.Summary, "resumed") }); err != nil {
		t.Fatal(err)
	}
	if _, err := during.Response(ctx); err != nil {
		t.Fatalf("interaction sent while down: %v", err)
	}
	after, err := s.RunCommand(ctx, Command{GuildID: guildID, UserID: aliceID, Name: "referral", Subcommand: "request",
		Options: []Option{{Name: "company", Value: "Acme"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := after.Response(ctx); err != nil {
		t.Fatalf("interaction after resume: %v", err)
	}
	if a, b := <-got, <-got; a != "withdraw" || b != "request" {
		t.Errorf("handler saw %q then %q; want withdraw then request", a, b)
	}
	n := 0
	for _, e := range s.Events() {
		if e.Kind == "connect" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d identifies; want 1 (a resume, not a new session)", n)
	}
}

func TestUnknownSessionGetsInvalidSession(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(s.URL(), "http", "ws", 1)+"/gateway/?v=9&encoding=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var hello struct {
		Op int `json:"op"`
		D  struct {
			HeartbeatInterval int `json:"heartbeat_interval"`
		} `json:"d"`
	}
	if err := ws.ReadJSON(&hello); err != nil || hello.Op != 10 || hello.D.HeartbeatInterval != 41250 {
		t.Fatalf("hello = %+v, %v; want op 10 with 41250", hello, err)
	}
	_ = ws.WriteJSON(map[string]any{"op": 1, "d": nil})
	var ack struct{ Op int }
	if err := ws.ReadJSON(&ack); err != nil || ack.Op != 11 {
		t.Fatalf("heartbeat answer = %+v, %v; want op 11", ack, err)
	}
	_ = ws.WriteJSON(map[string]any{"op": 6, "d": map[string]any{"token": "Bot x", "session_id": "nope", "seq": 3}})
	var inv struct {
		Op int  `json:"op"`
		D  bool `json:"d"`
	}
	if err := ws.ReadJSON(&inv); err != nil || inv.Op != 9 || inv.D {
		t.Fatalf("resume of unknown session answered %+v, %v; want op 9 false", inv, err)
	}
}

func TestPrivilegedIntentRefused(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	dg.Identify.Intents = discordgo.IntentsGuilds | discordgo.IntentMessageContent
	dg.ShouldReconnectOnError = false
	_ = dg.Open() // may succeed before the close frame is read
	e, err := s.WaitEvent(ctxT(t), func(e Event) bool { return e.Kind == "fault" && strings.Contains(e.Summary, "4014") })
	if err != nil {
		t.Fatal(err)
	}
	done, cancel := context.WithCancel(context.Background())
	cancel() // the refusal is final: only read the state
	if err := s.WaitConnected(done); err == nil || !strings.Contains(err.Error(), "4014") {
		t.Errorf("WaitConnected = %v; want a timeout naming 4014 (%s)", err, e.Summary)
	}
}

// TestCloseLeavesNoGoroutines runs alone (not parallel): it counts the
// process's goroutines.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		s, err := New()
		if err != nil {
			t.Fatal(err)
		}
		s.HeartbeatInterval = 50 * time.Millisecond
		u := strings.Replace(s.URL(), "http", "ws", 1) + "/gateway?v=9&encoding=json"
		// A client that never closes: Close must cut it and wait.
		ws, _, err := websocket.DefaultDialer.Dial(u, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		var hello map[string]any
		if err := ws.ReadJSON(&hello); err != nil {
			t.Fatal(err)
		}
		// And a REST call held in an injected delay.
		s.Delay("GET", "/users/@me", time.Hour)
		tr := &http.Transport{}
		done := make(chan struct{})
		go func() {
			defer close(done)
			req, _ := http.NewRequest("GET", s.URL()+"/api/v9/users/@me", nil)
			req.Header.Set("Authorization", "Bot test-token")
			resp, err := (&http.Client{Transport: tr}).Do(req)
			if err == nil {
				resp.Body.Close()
			}
		}()
		if _, err := s.WaitEvent(ctxT(t), func(e Event) bool { return strings.Contains(e.Summary, "delay") }); err != nil {
			t.Fatal(err)
		}
		s.Close()
		<-done
		tr.CloseIdleConnections()
	}()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Close; %d before\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
