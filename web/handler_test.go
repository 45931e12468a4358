package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/referralbot/referralbot/dashboard"
)

var (
	testNow = time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC)
	testKey = bytes.Repeat([]byte{7}, 32)
)

// fakeSource records which servers' numbers were asked for.
type fakeSource struct {
	mu     sync.Mutex
	key    []byte
	err    error
	guilds []string
}

func (f *fakeSource) Dashboard(_ context.Context, guildID string, period dashboard.Period, now time.Time) (dashboard.Data, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.guilds = append(f.guilds, guildID)
	if f.err != nil {
		return dashboard.Data{}, f.err
	}
	return dashboard.Data{From: period.Since(now, time.UTC), To: now, Funnel: dashboard.Funnel{Requests: 7, Offered: 6, Accepted: 5, Submitted: 4, Screens: 3, Interviews: 2, Offers: 1},
		Referrers: []dashboard.Referrer{{UserID: "9001", Status: "active", Capacity: 4}}}, nil
}

func (f *fakeSource) DashboardKey(context.Context) ([]byte, error) { return f.key, nil }

func (f *fakeSource) asked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.guilds...)
}

func get(t *testing.T, h http.Handler, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}

// tokenOf is the path part of a link.
func tokenOf(link string) string {
	_, tok, _ := strings.Cut(link, Prefix)
	return tok
}

func TestLinks(t *testing.T) {
	const guild = "123456789012345678"
	valid := tokenOf(LinkFor("https://bot.example/", guild, testKey, testNow))
	if want := "https://bot.example/dashboard/" + valid; LinkFor("https://bot.example/", guild, testKey, testNow) != want {
		t.Fatalf("LinkFor = %q; want %q", LinkFor("https://bot.example/", guild, testKey, testNow), want)
	}
	otherGuild := strings.Replace(valid, guild, "876543210987654321", 1)
	tests := []struct {
		name  string
		token string
		at    time.Time
		ok    bool
	}{
		{"valid", valid, testNow, true},
		{"valid until the last second", valid, testNow.Add(LinkValidity - time.Second), true},
		{"expired", valid, testNow.Add(LinkValidity), false},
		{"long expired", valid, testNow.Add(48 * time.Hour), false},
		{"another server's id", otherGuild, testNow, false},
		{"signed with another key", tokenOf(LinkFor("", guild, bytes.Repeat([]byte{8}, 32), testNow)), testNow, false},
		{"signed far ahead", signToken(testKey, guild, testNow.Add(24*time.Hour)), testNow, false},
		{"missing", "", testNow, false},
		{"no signature", guild + "." + strings.Split(valid, ".")[1], testNow, false},
		{"empty signature", strings.TrimRight(valid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), testNow, false},
		{"truncated", valid[:len(valid)-1], testNow, false},
		{"extended", valid + "A", testNow, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &fakeSource{key: testKey}
			h := New(src, Options{Now: func() time.Time { return tt.at }})
			rec := get(t, h, http.MethodGet, Prefix+tt.token)
			shown := rec.Code == http.StatusOK && strings.Contains(rec.Body.String(), "Funnel")
			if shown != tt.ok {
				t.Fatalf("GET %q at %v = %d, page shown %v; want shown %v", tt.token, tt.at, rec.Code, shown, tt.ok)
			}
			if !tt.ok {
				if rec.Code != http.StatusNotFound {
					t.Errorf("GET %q = %d; want 404", tt.token, rec.Code)
				}
				if got := src.asked(); len(got) != 0 {
					t.Errorf("GET %q read the numbers of %v; want nothing read", tt.token, got)
				}
			} else if got := src.asked(); len(got) != 1 || got[0] != guild {
				t.Errorf("GET valid link read %v; want [%s]", got, guild)
			}
		})
	}
}

func TestEveryChangedByteIsRefused(t *testing.T) {
	const guild = "123456789012345678"
	valid := tokenOf(LinkFor("", guild, testKey, testNow))
	src := &fakeSource{key: testKey}
	h := New(src, Options{Now: func() time.Time { return testNow.Add(time.Minute) }})
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
	for i := range len(valid) {
		// Two replacements per position: the next character of the token
		// alphabet, and the one base64 decoding may read as the same bits.
		j := strings.IndexByte(alphabet, valid[i])
		for _, c := range []byte{alphabet[(j+1)%len(alphabet)], alphabet[(j+3)%len(alphabet)]} {
			changed := valid[:i] + string(c) + valid[i+1:]
			if rec := get(t, h, http.MethodGet, Prefix+changed); rec.Code != http.StatusNotFound {
				t.Errorf("token with byte %d changed to %q: GET = %d; want 404", i, c, rec.Code)
			}
		}
	}
	if got := src.asked(); len(got) != 0 {
		t.Errorf("changed tokens read the numbers of %v; want nothing read", got)
	}
	if rec := get(t, h, http.MethodGet, Prefix+valid); rec.Code != http.StatusOK {
		t.Fatalf("the unchanged token: GET = %d; want 200 (else this test proves nothing)", rec.Code)
	}
}

func TestOnlyThePageAndStylesheetAreServed(t *testing.T) {
	src := &fakeSource{key: testKey}
	h := New(src, Options{Now: func() time.Time { return testNow }})
	tok := tokenOf(LinkFor("", "42", testKey, testNow))
	tests := []struct {
		method, target string
		code           int
	}{
		{http.MethodGet, Prefix + tok, http.StatusOK},
		{http.MethodHead, Prefix + tok, http.StatusOK},
		{http.MethodGet, Prefix + tok + "?period=all", http.StatusOK},
		{http.MethodGet, Prefix + "style.css", http.StatusOK},
		{http.MethodGet, Prefix + tok + "?period=5y", http.StatusBadRequest},
		{http.MethodPost, Prefix + tok, http.StatusNotFound},
		{http.MethodDelete, Prefix + tok, http.StatusNotFound},
		{http.MethodGet, Prefix, http.StatusNotFound},
		{http.MethodGet, Prefix + tok + "/", http.StatusNotFound},
		{http.MethodGet, Prefix + tok + "/x", http.StatusNotFound},
		{http.MethodGet, Prefix + "style.css/x", http.StatusNotFound},
		{http.MethodGet, Prefix + "assets/dashboard.html", http.StatusNotFound},
		{http.MethodGet, Prefix + "favicon.ico", http.StatusNotFound},
		{http.MethodGet, "/elsewhere", http.StatusNotFound},
	}
	for _, tt := range tests {
		rec := get(t, h, tt.method, tt.target)
		if rec.Code != tt.code {
			t.Errorf("%s %s = %d; want %d", tt.method, tt.target, rec.Code, tt.code)
		}
		want := map[string]string{
			"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
			"Referrer-Policy":         "no-referrer",
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
			"Cache-Control":           "no-store",
		}
		if strings.HasSuffix(tt.target, "style.css") && tt.code == http.StatusOK {
			want["Cache-Control"] = "public, max-age=86400"
			want["Content-Type"] = "text/css; charset=utf-8"
		}
		for k, v := range want {
			if got := rec.Header().Get(k); got != v {
				t.Errorf("%s %s: header %s = %q; want %q", tt.method, tt.target, k, got, v)
			}
		}
		if rec.Code == http.StatusBadRequest && !strings.Contains(rec.Body.String(), "period") {
			t.Errorf("%s %s: body %q does not name the period parameter", tt.method, tt.target, rec.Body.String())
		}
	}
}

func TestTokenNeverLogged(t *testing.T) {
	var logs bytes.Buffer
	src := &fakeSource{key: testKey, err: errors.New("disk I/O error")}
	h := New(src, Options{Now: func() time.Time { return testNow }, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	tok := tokenOf(LinkFor("", "42", testKey, testNow))
	rec := get(t, h, http.MethodGet, Prefix+tok+"?period=12w")
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("GET with a failing store = %d; want 500", rec.Code)
	}
	body, _ := io.ReadAll(rec.Body)
	if strings.Contains(string(body), "disk") {
		t.Errorf("error page %q shows the store's error; want a plain apology", body)
	}
	if !strings.Contains(logs.String(), "disk I/O error") || !strings.Contains(logs.String(), "guild=42") {
		t.Errorf("log %q lacks the error and the server; want both", logs.String())
	}
	mac := tok[strings.LastIndexByte(tok, '.')+1:]
	if strings.Contains(logs.String(), mac) {
		t.Errorf("log %q holds the token's signature", logs.String())
	}
}

func TestPageShowsNamesAndNoScript(t *testing.T) {
	src := &fakeSource{key: testKey}
	names := func(_ context.Context, guildID string, ids []string) map[string]string {
		return map[string]string{"9001": "Priya <Raman>"}
	}
	h := New(src, Options{Now: func() time.Time { return testNow }, Names: names})
	rec := get(t, h, http.MethodGet, Prefix+tokenOf(LinkFor("", "42", testKey, testNow)))
	page := rec.Body.String()
	if !strings.Contains(page, "Priya &lt;Raman&gt;") {
		t.Errorf("page lacks the referrer's escaped display name")
	}
	for _, banned := range []string{"<script", "style=", "<style", "javascript:", "http://", "https://"} {
		if strings.Contains(page, banned) {
			t.Errorf("page contains %q; want no script, no inline style and no link elsewhere", banned)
		}
	}
	// Conversion rates are each step of the one before.
	for _, want := range []string{`data-step="accepted"><th scope="row">Accepted</th><td class="num count">5</td><td class="num">83%</td><td class="num">71%</td>`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
}

func TestNiceScale(t *testing.T) {
	tests := []struct{ n, top, step int }{
		{0, 4, 1}, {3, 4, 1}, {5, 5, 1}, {9, 10, 2}, {17, 20, 5}, {40, 40, 10}, {41, 50, 10}, {230, 250, 50}, {999, 1000, 200},
	}
	for _, tt := range tests {
		if top, step := niceScale(tt.n); top != tt.top || step != tt.step {
			t.Errorf("niceScale(%d) = %d, %d; want %d, %d", tt.n, top, step, tt.top, tt.step)
		}
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		d       time.Duration
		samples int
		want    string
	}{
		{0, 0, "–"},
		{40 * time.Minute, 3, "40 min"},
		{150 * time.Minute, 2, "2.5 h"},
		{36 * time.Hour, 1, "36.0 h"},
		{60 * time.Hour, 1, "2.5 days"},
	}
	for _, tt := range tests {
		if got := duration(tt.d, tt.samples); got != tt.want {
			t.Errorf("duration(%v, %d) = %q; want %q", tt.d, tt.samples, got, tt.want)
		}
	}
}
