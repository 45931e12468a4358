package discordtest

import (
	"net/http"
	"slices"
	"strconv"
	"time"
)

// listMessages is GET /channels/{channel}/messages as Discord serves it:
// limit 1-100 (default 50), at most one of before, after and around, and
// the result newest first. With after it is the limit messages right after
// that id (still newest first); with around, those nearest the id on both
// sides. Ephemeral and deleted messages are not listed.
func (s *Server) listMessages(r *http.Request) result {
	q := r.URL.Query()
	f := &formErrors{}
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			f.add("limit", "NUMBER_TYPE_COERCE", "Value %q is not int.", v)
		case n < 1:
			f.add("limit", "NUMBER_TYPE_MIN", "int value should be greater than or equal to 1.")
		case n > 100:
			f.add("limit", "NUMBER_TYPE_MAX", "int value should be less than or equal to 100.")
		default:
			limit = n
		}
	}
	var anchorKey string
	var anchor uint64
	for _, key := range []string{"before", "after", "around"} {
		v := q.Get(key)
		if !q.Has(key) {
			continue
		}
		id, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			f.add(key, "NUMBER_TYPE_COERCE", "Value %q is not snowflake.", v)
			continue
		}
		if anchorKey != "" {
			f.add(key, "BASE_TYPE_BAD", "%s and %s are mutually exclusive: pass only one of before, after and around", anchorKey, key)
			continue
		}
		anchorKey, anchor = key, id
	}
	if !f.empty() {
		return f.result()
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	cid := r.PathValue("channel")
	if _, found := s.channels[cid]; !found {
		return notFound(codeUnknownChannel, "Unknown Channel", "channel "+cid)
	}
	type listed struct {
		id uint64
		m  *storedMessage
	}
	var all []listed // oldest first
	for _, m := range s.messages {
		if m.channelID != cid || m.deleted || m.visibleTo != "" {
			continue
		}
		id, _ := strconv.ParseUint(m.id, 10, 64)
		all = append(all, listed{id, m})
	}
	slices.SortFunc(all, func(a, b listed) int {
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	// Every anchor picks a run of consecutive messages, oldest first.
	var pick []listed
	switch anchorKey {
	case "before":
		i, _ := slices.BinarySearchFunc(all, anchor, func(l listed, id uint64) int { return cmpID(l.id, id) })
		pick = all[max(0, i-limit):i]
	case "after":
		i, found := slices.BinarySearchFunc(all, anchor, func(l listed, id uint64) int { return cmpID(l.id, id) })
		if found {
			i++
		}
		pick = all[i:min(len(all), i+limit)]
	case "around":
		i, _ := slices.BinarySearchFunc(all, anchor, func(l listed, id uint64) int { return cmpID(l.id, id) })
		lo := max(0, i-limit/2)
		pick = all[lo:min(len(all), lo+limit)]
	default:
		pick = all[max(0, len(all)-limit):]
	}
	out := make([]wireMessage, 0, len(pick))
	for i := len(pick) - 1; i >= 0; i-- {
		out = append(out, s.wireMessageLocked(pick[i].m))
	}
	return ok(out)
}

func cmpID(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Advance moves the fake's clock d ahead, as a test moves the bot's:
// messages posted from then on are dated (and their ids made) later, and
// the nonces recorded before are d older, so a resend past the five-minute
// window of enforce_nonce posts a second message, as on Discord.
// Interaction deadlines keep real time.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clockOffset += d
	s.addEventLocked(Event{Kind: "fault", Summary: "injected: the clock moved " + d.String() + " ahead"})
}

// nowLocked is the fake's clock: real time plus what Advance added.
func (s *Server) nowLocked() time.Time { return time.Now().Add(s.clockOffset) }
