// Package web serves the admin dashboard: one read-only page per server
// behind a signed link that expires, rendered on the server with
// html/template, an embedded stylesheet and inline SVG charts; no script.
package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/referralbot/referralbot/dashboard"
)

//go:embed assets/dashboard.html assets/style.css
var assets embed.FS

var (
	pageTemplate = template.Must(template.ParseFS(assets, "assets/dashboard.html"))
	styleSheet   = mustRead("assets/style.css")
	// styleVersion changes the stylesheet's URL with its content, so a
	// browser may cache it for a day and still never show an old one.
	styleVersion = func() string { h := sha256.Sum256(styleSheet); return hex.EncodeToString(h[:6]) }()
)

func mustRead(name string) []byte {
	b, err := assets.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return b
}

// The headers of every answer: nothing but this origin's stylesheet and
// data: images may load, no script at all, no framing, no caching of a
// page, and no Referer that could carry the token anywhere.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// Names resolves Discord user ids to display names; an id it leaves out
// is shown as the id.
type Names func(ctx context.Context, guildID string, userIDs []string) map[string]string

// Options configure the handler; every field is optional.
type Options struct {
	Now      func() time.Time // default time.Now
	Location *time.Location   // dates on the page; default UTC
	Names    Names            // referrers' display names; default none (ids)
	Logger   *slog.Logger     // default slog.Default()
}

type handler struct {
	src  Source
	opts Options

	mu  sync.Mutex
	key []byte // read once: the key never changes
}

// New returns the dashboard handler for the path prefix /dashboard/ (mount
// it at Prefix on the bot's http server). It answers GET and HEAD of a
// link from LinkFor and of the stylesheet; everything else, and every
// link that is altered, expired or missing, is a 404 that shows nothing.
func New(src Source, opts Options) http.Handler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &handler{src: src, opts: opts}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Robots-Tag", "noindex, nofollow")

	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) || rest == "" || strings.Contains(rest, "/") {
		notFound(w)
		return
	}
	if rest == "style.css" {
		hd.Set("Content-Type", "text/css; charset=utf-8")
		hd.Set("Cache-Control", "public, max-age=86400")
		w.Write(styleSheet)
		return
	}
	h.page(w, r, rest)
}

func (h *handler) page(w http.ResponseWriter, r *http.Request, token string) {
	ctx := r.Context()
	key, err := h.signingKey(ctx)
	if err != nil {
		h.opts.Logger.Error("dashboard: signing key", "err", err)
		http.Error(w, "The dashboard is unavailable right now; try again in a minute.", http.StatusInternalServerError)
		return
	}
	now := h.opts.Now()
	guildID, expires, ok := checkToken(key, token, now)
	if !ok {
		notFound(w)
		return
	}
	period, err := dashboard.ParsePeriod(r.URL.Query().Get("period"))
	if err != nil {
		http.Error(w, "period: "+err.Error(), http.StatusBadRequest)
		return
	}
	data, err := h.src.Dashboard(ctx, guildID, period, now)
	if err != nil {
		h.opts.Logger.Error("dashboard: load", "guild", guildID, "period", string(period), "err", err)
		http.Error(w, "The dashboard could not be loaded; try again in a minute.", http.StatusInternalServerError)
		return
	}
	var names map[string]string
	if h.opts.Names != nil && len(data.Referrers) > 0 {
		ids := make([]string, len(data.Referrers))
		for i, rf := range data.Referrers {
			ids[i] = rf.UserID
		}
		// Names are a nicety: a slow lookup must not hold the page.
		nctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		names = h.opts.Names(nctx, guildID, ids)
		cancel()
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, buildPage(data, pageInput{
		GuildID: guildID, Period: period, Now: now, Expires: expires, Loc: h.opts.Location, Names: names, StyleVersion: styleVersion,
	})); err != nil {
		h.opts.Logger.Error("dashboard: render", "guild", guildID, "err", err)
		http.Error(w, "The dashboard could not be shown; try again in a minute.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

func (h *handler) signingKey(ctx context.Context) ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.key != nil {
		return h.key, nil
	}
	key, err := h.src.DashboardKey(ctx)
	if err != nil {
		return nil, err
	}
	h.key = key
	return key, nil
}

// notFound is the one answer for a wrong path or a link that does not
// open: the same words whatever was wrong, so it reveals nothing.
func notFound(w http.ResponseWriter) {
	http.Error(w, "Not found. Dashboard links work for 15 minutes: run /referral-admin dashboard in Discord for a new one.", http.StatusNotFound)
}
