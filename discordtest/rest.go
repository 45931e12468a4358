package discordtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

const apiPrefix = "/api/v9"

// result is what a REST handler decided; serveREST writes it.
type result struct {
	status  int
	body    any // marshalled as JSON unless nil
	err     *apiError
	note    string // set for injected faults: replaces the error in logs
	headers http.Header
}

type apiError struct {
	Message string         `json:"message"`
	Code    int            `json:"code"`
	Errors  map[string]any `json:"errors,omitempty"`
	detail  string
}

func ok(body any) result { return result{status: http.StatusOK, body: body} }
func noContent() result  { return result{status: http.StatusNoContent} }
func failure(status, code int, msg, detail string) result {
	return result{status: status, err: &apiError{Message: msg, Code: code, detail: detail}}
}

// Discord's error codes used by the fake.
const (
	codeUnknownApplication = 10002
	codeUnknownChannel     = 10003
	codeUnknownGuild       = 10004
	codeUnknownMember      = 10007
	codeUnknownMessage     = 10008
	codeUnknownUser        = 10013
	codeUnknownWebhook     = 10015
	codeUnknownInteraction = 10062
	codeUnknownCommand     = 10063
	codeEntityTooLarge     = 40005
	codeAlreadyAcked       = 40060
	codeMissingAccess      = 50001
	codeEmptyMessage       = 50006
	codeCannotDM           = 50007
	codeInvalidToken       = 50027
	codeInvalidForm        = 50035
)

func notFound(code int, msg, detail string) result {
	return failure(http.StatusNotFound, code, msg, detail)
}

// resultHolder carries a routed handler's result back to serveREST, which
// alone writes responses and logs them.
type resultHolder struct {
	res    result
	header http.Header
}

func (h *resultHolder) Header() http.Header {
	if h.header == nil {
		h.header = http.Header{}
	}
	return h.header
}
func (h *resultHolder) Write(b []byte) (int, error) { return len(b), nil }
func (h *resultHolder) WriteHeader(int)             {}

func (s *Server) route(pattern string, h func(*http.Request) result) {
	method, path, _ := strings.Cut(pattern, " ")
	s.api.HandleFunc(method+" "+apiPrefix+path, func(w http.ResponseWriter, r *http.Request) {
		w.(*resultHolder).res = h(r)
	})
}

func (s *Server) routes() {
	s.route("GET /gateway", s.getGateway)
	s.route("GET /gateway/bot", s.getGatewayBot)
	s.route("GET /users/@me", s.getMe)
	s.route("GET /users/{user}", s.getUser)
	s.route("POST /users/@me/channels", s.createDM)
	s.route("GET /channels/{channel}", s.getChannel)
	s.route("GET /channels/{channel}/messages", s.listMessages)
	s.route("POST /channels/{channel}/messages", s.postMessage)
	s.route("GET /channels/{channel}/messages/{message}", s.getMessage)
	s.route("PATCH /channels/{channel}/messages/{message}", s.editMessage)
	s.route("DELETE /channels/{channel}/messages/{message}", s.deleteMessage)
	s.route("GET /guilds/{guild}", s.getGuild)
	s.route("GET /guilds/{guild}/roles", s.getGuildRoles)
	s.route("GET /guilds/{guild}/channels", s.getGuildChannels)
	s.route("GET /guilds/{guild}/members/{user}", s.getMember)
	s.route("GET /applications/@me", s.getApplication)
	s.route("GET /oauth2/applications/@me", s.getApplication)
	for _, scope := range []string{"/applications/{app}", "/applications/{app}/guilds/{guild}"} {
		s.route("GET "+scope+"/commands", s.listCommands)
		s.route("PUT "+scope+"/commands", s.overwriteCommands)
		s.route("POST "+scope+"/commands", s.createCommand)
		s.route("GET "+scope+"/commands/{cmd}", s.getCommand)
		s.route("PATCH "+scope+"/commands/{cmd}", s.editCommand)
		s.route("DELETE "+scope+"/commands/{cmd}", s.deleteCommand)
	}
	s.route("POST /interactions/{id}/{token}/callback", s.interactionCallback)
	s.route("POST /webhooks/{app}/{token}", s.createFollowup)
	s.route("GET /webhooks/{app}/{token}/messages/{message}", s.getWebhookMessage)
	s.route("PATCH /webhooks/{app}/{token}/messages/{message}", s.editWebhookMessage)
	s.route("DELETE /webhooks/{app}/{token}/messages/{message}", s.deleteWebhookMessage)
}

// serveREST runs the pipeline every API call goes through: auth, injected
// delays and faults, routing, logging. The log and any fault event are
// recorded before the answer leaves, so the bot's caller can rely on them.
func (s *Server) serveREST(w http.ResponseWriter, r *http.Request) {
	rel, isAPI := strings.CutPrefix(r.URL.Path, apiPrefix)
	if !isAPI || (rel != "" && rel[0] != '/') {
		rel = r.URL.Path
	}
	entry := RequestLog{At: time.Now(), Method: r.Method, Path: rel, Query: r.URL.RawQuery, Auth: authState(r.Header.Get("Authorization"))}
	res := s.handleREST(r, rel, isAPI, entry.Auth)
	if res.status == 0 {
		res.status = http.StatusOK
	}
	entry.Status = res.status
	if res.note != "" {
		entry.Fault = res.note
	} else if res.err != nil {
		entry.Fault = res.err.describe()
	}
	s.mu.Lock()
	s.requests = append(s.requests, entry)
	if entry.Fault != "" {
		s.addEventLocked(Event{Kind: "fault", Summary: fmt.Sprintf("%s %s -> %d %s", r.Method, rel, res.status, entry.Fault)})
	}
	s.notifyLocked()
	s.mu.Unlock()
	writeResult(w, res)
}

// handleREST decides the answer to one API call.
func (s *Server) handleREST(r *http.Request, rel string, isAPI bool, auth string) result {
	if !isAPI {
		return notFound(0, "404: Not Found", "not under "+apiPrefix+" (the fake speaks API v9 only)")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 26<<20))
	if err != nil {
		return failure(http.StatusBadRequest, 0, "400: Bad Request", "reading body: "+err.Error())
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	// Discord needs no Authorization on interaction and webhook-token
	// routes; discordgo sends it anyway, and a wrong one is still refused.
	webhookish := strings.HasPrefix(rel, "/interactions/") || strings.HasPrefix(rel, "/webhooks/")
	s.mu.Lock()
	token := s.Token
	s.mu.Unlock()
	switch {
	case auth == "invalid", auth == "missing" && !webhookish,
		auth == "present" && token != "" && strings.TrimPrefix(r.Header.Get("Authorization"), "Bot ") != token:
		return failure(http.StatusUnauthorized, 0, "401: Unauthorized",
			"Authorization header must be \"Bot <token>\" (auth "+auth+")")
	}

	if d := s.delayFor(r.Method, rel); d > 0 {
		s.mu.Lock()
		s.addEventLocked(Event{Kind: "fault", Summary: fmt.Sprintf("injected: delay of %v on %s %s", d, r.Method, rel)})
		s.mu.Unlock()
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-s.done:
			t.Stop()
			return failure(http.StatusServiceUnavailable, 0, "503: Service Unavailable", "server closing")
		case <-r.Context().Done():
			t.Stop()
			return failure(499, 0, "client went away", "client gave up during injected delay")
		}
	}
	if res, hit := s.takeFault(r.Method, rel); hit {
		return res
	}
	if strings.HasPrefix(rel, "/webhooks/") {
		s.awaitHTTPAnswer(r, rel)
	}
	if _, pattern := s.api.Handler(r); pattern == "" {
		return notFound(0, "404: Not Found", "the fake has no route "+r.Method+" "+rel)
	}
	held := s.takeHeld(r.Method, rel)
	if held != nil && !held.takeEffect {
		return held.answer(r, s.done)
	}
	h := &resultHolder{}
	s.api.ServeHTTP(h, r)
	if held != nil {
		return held.answer(r, s.done)
	}
	return h.res
}

func authState(h string) string {
	switch {
	case h == "":
		return "missing"
	case strings.HasPrefix(h, "Bot ") && len(h) > len("Bot "):
		return "present"
	default:
		return "invalid"
	}
}

func (e *apiError) describe() string {
	d := fmt.Sprintf("%s (code %d)", e.Message, e.Code)
	if e.detail != "" {
		d += ": " + e.detail
	}
	return d
}

// writeResult writes the answer; errors are Discord-shaped JSON.
func writeResult(w http.ResponseWriter, res result) {
	for k, vs := range res.headers {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	switch {
	case res.err != nil:
		writeJSON(w, res.status, res.err)
	case res.body == nil:
		w.WriteHeader(res.status)
	default:
		writeJSON(w, res.status, res.body)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"message":"fake: marshal failed","code":0}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// payload is a request body: JSON, or multipart with payload_json and files.
type payload struct {
	json  []byte
	files []File
}

func readPayload(r *http.Request) (payload, error) {
	return readBody(r.Header.Get("Content-Type"), r.Body)
}

// readBody reads a request body, or a bot's HTTP answer to an interaction.
func readBody(contentType string, body io.Reader) (payload, error) {
	mt, params, _ := mime.ParseMediaType(contentType)
	if mt != "multipart/form-data" {
		b, err := io.ReadAll(body)
		return payload{json: b}, err
	}
	mr := multipart.NewReader(body, params["boundary"])
	var p payload
	type indexed struct {
		n int
		f File
	}
	var files []indexed
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return p, fmt.Errorf("multipart: %w", err)
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return p, fmt.Errorf("multipart: %w", err)
		}
		name := part.FormName()
		switch {
		case name == "payload_json":
			p.json = data
		case part.FileName() != "":
			n := len(files) + 1000
			if idx, ok := strings.CutPrefix(name, "files["); ok {
				if v, err := strconv.Atoi(strings.TrimSuffix(idx, "]")); err == nil {
					n = v
				}
			}
			ct := part.Header.Get("Content-Type")
			files = append(files, indexed{n, File{Name: part.FileName(), ContentType: ct, Data: data}})
		}
	}
	sort.SliceStable(files, func(i, j int) bool { return files[i].n < files[j].n })
	size := 0
	for _, f := range files {
		p.files = append(p.files, f.f)
		size += len(f.f.Data)
	}
	if size > MaxUploadBytes {
		return p, fmt.Errorf("%w: %d bytes of attachments, over %d", errEntityTooLarge, size, MaxUploadBytes)
	}
	return p, nil
}

// MaxUploadBytes is how much a message may attach in all on Discord in a
// server without boosts (10 MiB).
const MaxUploadBytes = 10 << 20

var errEntityTooLarge = errors.New("request entity too large")

// unreadable answers a body readBody refused, as Discord would: 413 with
// code 40005 for attachments over the limit, 400 otherwise.
func unreadable(err error) result {
	if errors.Is(err, errEntityTooLarge) {
		return failure(http.StatusRequestEntityTooLarge, codeEntityTooLarge, "Request entity too large", err.Error())
	}
	return failure(http.StatusBadRequest, 0, "400: Bad Request", err.Error())
}

func decodeJSON(b []byte, v any) *apiError {
	if len(bytes.TrimSpace(b)) == 0 {
		return &apiError{Message: "400: Bad Request", Code: 50109, detail: "empty body where JSON was expected"}
	}
	if err := json.Unmarshal(b, v); err != nil {
		return &apiError{Message: "The request body contains invalid JSON.", Code: 50109, detail: err.Error()}
	}
	return nil
}

func badJSON(e *apiError) result { return result{status: http.StatusBadRequest, err: e} }

// Read-only and setup endpoints: gateway, users, channels, guilds.

func (s *Server) getGateway(*http.Request) result {
	return ok(map[string]string{"url": s.gatewayURL()})
}

func (s *Server) getGatewayBot(*http.Request) result {
	return ok(map[string]any{"url": s.gatewayURL(), "shards": 1, "session_start_limit": map[string]int{
		"total": 1000, "remaining": 999, "reset_after": 14400000, "max_concurrency": 1}})
}

func (s *Server) getMe(*http.Request) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ok(s.wireUserLocked(s.bot.ID))
}

func (s *Server) getUser(r *http.Request) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("user")
	if _, known := s.users[id]; !known {
		return notFound(codeUnknownUser, "Unknown User", "user "+id)
	}
	return ok(s.wireUserLocked(id))
}

func (s *Server) getApplication(*http.Request) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	bot := s.wireUserLocked(s.bot.ID)
	return ok(map[string]any{"id": s.appID, "name": s.bot.Username, "description": "", "bot_public": false,
		"bot_require_code_grant": false, "flags": 0, "bot": bot, "owner": nil, "verify_key": s.PublicKey()})
}

func (s *Server) createDM(r *http.Request) result {
	p, err := readPayload(r)
	if err != nil {
		return unreadable(err)
	}
	var body struct {
		RecipientID string `json:"recipient_id"`
	}
	if e := decodeJSON(p.json, &body); e != nil {
		return badJSON(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, known := s.users[body.RecipientID]; !known {
		f := &formErrors{}
		f.add("recipient_id", "USER_UNKNOWN", "Unknown user %q", body.RecipientID)
		return f.result()
	}
	return ok(s.wireChannelLocked(s.dmChannelLocked(body.RecipientID)))
}

func (s *Server) getChannel(r *http.Request) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok2 := s.channels[r.PathValue("channel")]
	if !ok2 {
		return notFound(codeUnknownChannel, "Unknown Channel", "channel "+r.PathValue("channel"))
	}
	return ok(s.wireChannelLocked(c))
}

func (s *Server) getGuild(r *http.Request) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, found := s.guilds[r.PathValue("guild")]
	if !found {
		return notFound(codeUnknownGuild, "Unknown Guild", "guild "+r.PathValue("guild"))
	}
	return ok(s.wireGuildLocked(g))
}

func (s *Server) getGuildRoles(r *http.Request) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, found := s.guilds[r.PathValue("guild")]
	if !found {
		return notFound(codeUnknownGuild, "Unknown Guild", "guild "+r.PathValue("guild"))
	}
	return ok(wireRoles(g.g))
}

func (s *Server) getGuildChannels(r *http.Request) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, found := s.guilds[r.PathValue("guild")]
	if !found {
		return notFound(codeUnknownGuild, "Unknown Guild", "guild "+r.PathValue("guild"))
	}
	out := []wireChannel{}
	for _, c := range g.g.Channels {
		out = append(out, s.wireChannelLocked(s.channels[c.ID]))
	}
	return ok(out)
}

func (s *Server) getMember(r *http.Request) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, found := s.guilds[r.PathValue("guild")]
	if !found {
		return notFound(codeUnknownGuild, "Unknown Guild", "guild "+r.PathValue("guild"))
	}
	uid := r.PathValue("user")
	if uid == s.bot.ID || uid == "@me" {
		return ok(s.wireMemberLocked(g.g.ID, &memberRec{userID: s.bot.ID, joinedAt: g.joinedAt}, true, false))
	}
	m, found := g.members[uid]
	if !found {
		return notFound(codeUnknownMember, "Unknown Member", "user "+uid+" in guild "+g.g.ID)
	}
	return ok(s.wireMemberLocked(g.g.ID, m, true, false))
}
