package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// LinkValidity is how long a dashboard link opens the page.
const LinkValidity = 15 * time.Minute

// Prefix is the path the handler serves; mount it there.
const Prefix = "/dashboard/"

// LinkFor is the dashboard link of one server for an admin, valid for
// LinkValidity from now. publicURL is how browsers reach the bot's http
// server (http.public_url).
func LinkFor(publicURL, guildID string, key []byte, now time.Time) string {
	return strings.TrimRight(publicURL, "/") + Prefix + signToken(key, guildID, now.Add(LinkValidity))
}

// signToken is guildID.expiry.mac: the guild and expiry in clear so the
// page needs no lookup, the MAC over both so neither can change.
func signToken(key []byte, guildID string, expires time.Time) string {
	body := guildID + "." + strconv.FormatInt(expires.Unix(), 10)
	return body + "." + tokenMAC(key, body)
}

func tokenMAC(key []byte, body string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("referralbot dashboard v1\x00")) // this key signs nothing else, but say what this is
	m.Write([]byte(body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkToken returns the server a token opens at now, or false for a
// token that is malformed, altered, signed with another key or expired.
func checkToken(key []byte, token string, now time.Time) (guildID string, expires time.Time, ok bool) {
	i := strings.LastIndexByte(token, '.')
	if i < 0 || len(key) == 0 {
		return "", time.Time{}, false
	}
	body, mac := token[:i], token[i+1:]
	// Compare the encoded MAC: decoding first would accept the few
	// spellings of the last base64 character that decode alike.
	if !hmac.Equal([]byte(mac), []byte(tokenMAC(key, body))) {
		return "", time.Time{}, false
	}
	guildID, exp, found := strings.Cut(body, ".")
	if !found || guildID == "" {
		return "", time.Time{}, false
	}
	sec, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return "", time.Time{}, false
	}
	expires = time.Unix(sec, 0)
	if !now.Before(expires) || expires.Sub(now) > LinkValidity+time.Minute {
		return "", time.Time{}, false
	}
	return guildID, expires, true
}
