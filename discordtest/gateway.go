package discordtest

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

// replayLimit bounds the dispatches kept per session for RESUME.
const replayLimit = 1000

// privilegedIntents need a switch in the developer portal.
const privilegedIntents = discordgo.IntentGuildMembers | discordgo.IntentGuildPresences | discordgo.IntentMessageContent

// gwSession is a gateway session: it outlives connections until the bot
// closes it cleanly (1000/1001) or identifies anew.
type gwSession struct {
	id         string
	tokenHash  [32]byte
	intents    discordgo.Intent
	seq        int64
	buffer     []gwDispatch
	conn       *gwConn // nil while disconnected
	attachedAt time.Time
}

type gwDispatch struct {
	seq           int64
	data          []byte
	interactionID string
}

type gwFrame struct {
	typ  int
	data []byte
}

// gwConn is one websocket. Frames go through a queue and a writer
// goroutine so that sending under s.mu never blocks on the network.
type gwConn struct {
	ws         *websocket.Conn
	mu         sync.Mutex // guards queue only; never held with s.mu acquired inside
	queue      []gwFrame
	wake       chan struct{}
	stop       chan struct{}
	writerDone chan struct{}

	session *gwSession // guarded by s.mu
}

type gwPayload struct {
	Op int     `json:"op"`
	D  any     `json:"d"`
	S  *int64  `json:"s"`
	T  *string `json:"t"`
}

func (c *gwConn) send(typ int, data []byte) {
	c.mu.Lock()
	c.queue = append(c.queue, gwFrame{typ, data})
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *gwConn) sendOp(op int, d any) {
	b, _ := json.Marshal(gwPayload{Op: op, D: d})
	c.send(websocket.TextMessage, b)
}

func (c *gwConn) writeLoop(wg *sync.WaitGroup) {
	defer wg.Done()
	defer close(c.writerDone)
	for {
		select {
		case <-c.wake:
		case <-c.stop:
			return
		}
		for {
			c.mu.Lock()
			frames := c.queue
			c.queue = nil
			c.mu.Unlock()
			if len(frames) == 0 {
				break
			}
			for _, f := range frames {
				_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
				if err := c.ws.WriteMessage(f.typ, f.data); err != nil {
					_ = c.ws.Close()
					return
				}
				if f.typ == websocket.CloseMessage {
					_ = c.ws.Close()
					return
				}
			}
		}
	}
}

func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered already
	}
	ws.SetReadLimit(1 << 20)
	c := &gwConn{ws: ws, wake: make(chan struct{}, 1), stop: make(chan struct{}), writerDone: make(chan struct{})}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.gatewayConns++
	s.wg.Add(1)
	interval := s.HeartbeatInterval
	go c.writeLoop(&s.wg)
	c.sendOp(10, map[string]int64{"heartbeat_interval": max(interval.Milliseconds(), 1)})
	q := r.URL.Query()
	if v := q.Get("v"); v != "9" && v != "10" {
		s.closeConnLocked(c, 4012, "Invalid API version", fmt.Sprintf("gateway URL has v=%q; discordgo uses 9", v))
	} else if e := q.Get("encoding"); e != "" && e != "json" {
		s.closeConnLocked(c, 4002, "Error while decoding payload.", "unsupported encoding "+e)
	}
	s.mu.Unlock()

	invalidate := false
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			// A clean close ends the session, as on Discord; anything else
			// leaves it resumable.
			invalidate = errors.As(err, &ce) && (ce.Code == websocket.CloseNormalClosure || ce.Code == websocket.CloseGoingAway)
			break
		}
		s.handleGatewayFrame(c, data)
	}

	s.mu.Lock()
	delete(s.conns, c)
	if sess := c.session; sess != nil {
		if sess.conn == c {
			sess.conn = nil
		}
		if invalidate {
			delete(s.sessions, sess.id)
			if s.current == sess {
				s.current = nil
			}
		}
		s.pickCurrentLocked()
	}
	s.notifyLocked()
	s.mu.Unlock()
	close(c.stop)
	<-c.writerDone
	_ = ws.Close()
}

// pickCurrentLocked keeps dispatches going to a live session when the
// current one is gone or down and another bot connection is up.
func (s *Server) pickCurrentLocked() {
	if s.current != nil && s.current.conn != nil {
		return
	}
	var best *gwSession
	for _, sess := range s.sessions {
		if sess.conn != nil && (best == nil || sess.attachedAt.After(best.attachedAt)) {
			best = sess
		}
	}
	if best != nil {
		s.current = best
	}
}

func (s *Server) handleGatewayFrame(c *gwConn, data []byte) {
	var p struct {
		Op int             `json:"op"`
		D  json.RawMessage `json:"d"`
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := json.Unmarshal(data, &p); err != nil {
		s.closeConnLocked(c, 4002, "Error while decoding payload.", "undecodable gateway payload: "+err.Error())
		return
	}
	switch p.Op {
	case 1: // heartbeat
		c.sendOp(11, nil)
	case 2:
		s.identifyLocked(c, p.D)
	case 6:
		s.resumeLocked(c, p.D)
	case 3, 4, 8: // presence, voice state, request members: accepted, ignored
		if c.session == nil {
			s.closeConnLocked(c, 4003, "Not authenticated.", fmt.Sprintf("op %d before identify", p.Op))
		}
	default:
		s.closeConnLocked(c, 4001, "Unknown opcode.", fmt.Sprintf("unknown gateway opcode %d", p.Op))
	}
}

func (s *Server) identifyLocked(c *gwConn, raw json.RawMessage) {
	var id struct {
		Token   string `json:"token"`
		Intents *int64 `json:"intents"`
	}
	if err := json.Unmarshal(raw, &id); err != nil {
		s.closeConnLocked(c, 4002, "Error while decoding payload.", "bad identify: "+err.Error())
		return
	}
	if c.session != nil {
		s.closeConnLocked(c, 4005, "Already authenticated.", "second identify on one connection")
		return
	}
	if !s.tokenOKLocked(id.Token) {
		s.closeConnLocked(c, 4004, "Authentication failed.", "identify with a wrong or empty token")
		return
	}
	if id.Intents == nil {
		s.closeConnLocked(c, 4013, "Invalid intent(s).", "identify without intents")
		return
	}
	intents := discordgo.Intent(*id.Intents)
	if bad := intents & privilegedIntents &^ s.PrivilegedIntents; bad != 0 {
		s.closeConnLocked(c, 4014, "Disallowed intent(s).",
			fmt.Sprintf("identify asks for privileged intents %d not enabled (Server.PrivilegedIntents)", bad))
		return
	}
	sess := &gwSession{id: randomHex(16), tokenHash: hashToken(id.Token), intents: intents}
	s.sessions[sess.id] = sess
	s.attachLocked(sess, c)

	guilds := make([]map[string]any, 0, len(s.guildOrder))
	for _, gid := range s.guildOrder {
		guilds = append(guilds, map[string]any{"id": gid, "unavailable": true})
	}
	bot := s.wireUserLocked(s.bot.ID)
	ready := map[string]any{
		"v":                   9,
		"user":                bot,
		"guilds":              guilds,
		"session_id":          sess.id,
		"resume_gateway_url":  s.gatewayURL(),
		"shard":               [2]int{0, 1},
		"application":         map[string]any{"id": s.appID, "flags": 0},
		"private_channels":    []any{},
		"presences":           []any{},
		"relationships":       []any{},
		"guild_join_requests": []any{},
		"user_settings":       map[string]any{},
	}
	s.dispatchLocked(sess, "READY", ready, "")
	for _, gid := range s.guildOrder {
		s.dispatchLocked(sess, "GUILD_CREATE", s.guildCreateLocked(s.guilds[gid]), "")
	}
	s.gatewayErr = ""
	s.addEventLocked(Event{Kind: "connect", UserID: s.bot.ID,
		Summary: fmt.Sprintf("bot identified (intents %d), READY with %d guild(s)", intents, len(s.guildOrder))})
}

func (s *Server) resumeLocked(c *gwConn, raw json.RawMessage) {
	var rp struct {
		Token     string `json:"token"`
		SessionID string `json:"session_id"`
		Seq       int64  `json:"seq"`
	}
	if err := json.Unmarshal(raw, &rp); err != nil {
		s.closeConnLocked(c, 4002, "Error while decoding payload.", "bad resume: "+err.Error())
		return
	}
	if c.session != nil {
		s.closeConnLocked(c, 4005, "Already authenticated.", "resume on an identified connection")
		return
	}
	sess := s.sessions[rp.SessionID]
	reason := ""
	switch {
	case sess == nil:
		reason = "unknown or closed session"
	case sess.tokenHash != hashToken(rp.Token):
		reason = "token differs from the session's"
	case rp.Seq > sess.seq:
		reason = fmt.Sprintf("seq %d is ahead of the session (%d)", rp.Seq, sess.seq)
	case len(sess.buffer) > 0 && sess.buffer[0].seq > rp.Seq+1:
		reason = "missed dispatches no longer buffered"
	}
	if reason != "" {
		c.sendOp(9, false) // invalid session, not resumable: discordgo identifies again
		s.addEventLocked(Event{Kind: "resume", UserID: s.bot.ID, Summary: "resume refused (" + reason + "), sent invalid session"})
		return
	}
	if old := sess.conn; old != nil && old != c {
		old.session = nil
		_ = old.ws.Close() // Discord drops the older connection of a session
	}
	s.attachLocked(sess, c)
	n := 0
	for _, d := range sess.buffer {
		if d.seq > rp.Seq {
			c.send(websocket.TextMessage, d.data)
			s.markDeliveredLocked(d.interactionID)
			n++
		}
	}
	s.dispatchLocked(sess, "RESUMED", map[string]any{}, "")
	s.addEventLocked(Event{Kind: "resume", UserID: s.bot.ID,
		Summary: fmt.Sprintf("bot resumed its session from seq %d, %d dispatch(es) replayed", rp.Seq, n)})
}

func (s *Server) attachLocked(sess *gwSession, c *gwConn) {
	sess.conn = c
	sess.attachedAt = time.Now()
	c.session = sess
	s.current = sess
	s.notePeakLocked()
	s.notifyLocked()
}

// dispatchLocked sends an op 0 event on the session, or keeps it for
// replay while the session is disconnected.
func (s *Server) dispatchLocked(sess *gwSession, t string, d any, interactionID string) {
	sess.seq++
	seq := sess.seq
	data, err := json.Marshal(gwPayload{Op: 0, D: d, S: &seq, T: &t})
	if err != nil {
		panic("discordtest: marshal dispatch: " + err.Error())
	}
	// READY and RESUMED belong to one connection; the rest is replayable.
	if t != "READY" && t != "RESUMED" {
		sess.buffer = append(sess.buffer, gwDispatch{seq: seq, data: data, interactionID: interactionID})
		if len(sess.buffer) > replayLimit {
			sess.buffer = append([]gwDispatch(nil), sess.buffer[len(sess.buffer)-replayLimit:]...)
		}
	}
	if sess.conn != nil {
		sess.conn.send(websocket.TextMessage, data)
		s.markDeliveredLocked(interactionID)
	}
}

// closeConnLocked closes a connection with a close code, as Discord does
// on protocol errors, and records why.
func (s *Server) closeConnLocked(c *gwConn, code int, text, why string) {
	c.send(websocket.CloseMessage, websocket.FormatCloseMessage(code, text))
	if sess := c.session; sess != nil && sess.conn == c {
		sess.conn = nil
	}
	s.gatewayErr = fmt.Sprintf("closed %d %s: %s", code, text, why)
	s.addEventLocked(Event{Kind: "fault", UserID: s.bot.ID, Summary: "gateway " + s.gatewayErr})
}

func (s *Server) tokenOKLocked(token string) bool {
	t := strings.TrimPrefix(token, "Bot ")
	if t == "" {
		return false
	}
	return s.Token == "" || t == s.Token
}

func hashToken(token string) [32]byte {
	return sha256.Sum256([]byte(strings.TrimPrefix(token, "Bot ")))
}
