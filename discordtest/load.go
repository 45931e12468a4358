package discordtest

import (
	"slices"
	"strconv"
	"time"

	"github.com/bwmarrin/discordgo"
)

// What a load driver needs: timings read without waiting (thousands of
// interactions in flight must not each wait on every change), new events
// by cursor, and a way to drop history so a long soak stays bounded.

// Timing is when the fake wrote an interaction to the bot's gateway
// connection and when the bot's callback to it was accepted.
type Timing struct {
	Delivered time.Time // zero until written to a live gateway connection
	Answered  time.Time // zero until a callback was accepted
	Type      discordgo.InteractionResponseType
	Refused   string // the last refused callback, e.g. one past the deadline
	Known     bool   // false if the interaction is unknown (or forgotten)
	// http mode: the endpoint that got the request, and the endpoints
	// skipped before it because they refused the connection.
	Endpoint string
	Refusals []string
}

// Latency is Answered - Delivered, or 0 while unanswered.
func (t Timing) Latency() time.Duration {
	if t.Answered.IsZero() || t.Delivered.IsZero() {
		return 0
	}
	return t.Answered.Sub(t.Delivered)
}

// Timings reports the timing of each interaction, in order, under one
// lock and without waiting.
func (s *Server) Timings(ins []*Interaction) []Timing {
	out := make([]Timing, len(ins))
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, in := range ins {
		it, found := s.interactions[in.ID]
		if !found {
			continue
		}
		t := Timing{Delivered: it.deliveredAt, Refused: it.lastErr, Known: true, Endpoint: it.endpoint,
			Refusals: slices.Clone(it.refusals)}
		if it.resp != nil {
			t.Answered, t.Type = it.resp.at, it.resp.typ
		}
		out[i] = t
	}
	return out
}

// EventsSince returns the events recorded after cursor (0 = from the start)
// whose kind is one of kinds (none = all), and the cursor to pass next time.
// Cursors stay valid across ForgetBefore; events it dropped are skipped.
func (s *Server) EventsSince(cursor int, kinds ...string) ([]Event, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := max(cursor-s.eventsForgotten, 0)
	var out []Event
	for _, e := range s.events[min(start, len(s.events)):] {
		if len(kinds) > 0 && !slices.Contains(kinds, e.Kind) {
			continue
		}
		e.Message, e.Response = e.Message.clone(), e.Response.clone()
		out = append(out, e)
	}
	return out, s.eventsForgotten + len(s.events)
}

// ForgetBefore drops what happened before t: events, request logs,
// interactions created before t, and bot messages neither created nor
// edited since (with their nonces), except messages that a kept interaction
// refers to. Handles and snapshots of forgotten things stop working. A soak
// calls it now and then so the fake's memory stays flat; tests that never
// call it keep everything.
func (s *Server) ForgetBefore(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for n < len(s.events) && s.events[n].At.Before(t) {
		n++
	}
	s.events = slices.Clone(s.events[n:])
	s.eventsForgotten += n
	n = 0
	for n < len(s.requests) && s.requests[n].At.Before(t) {
		n++
	}
	s.requests = slices.Clone(s.requests[n:])

	keep := map[string]bool{}
	for id, it := range s.interactions {
		if snowflakeTime(id).Before(t) {
			delete(s.interactions, id)
			delete(s.tokens, it.token)
			continue
		}
		keep[it.sourceMsgID], keep[it.originalID] = true, true
		for _, f := range it.followups {
			keep[f] = true
		}
	}
	gone := map[string]bool{}
	for id, m := range s.messages {
		if !keep[id] && m.createdAt.Before(t) && m.editedAt.Before(t) {
			delete(s.messages, id)
			gone[id] = true
		}
	}
	if len(gone) > 0 {
		for ch, ids := range s.posts {
			ids = slices.DeleteFunc(ids, func(id string) bool { return gone[id] })
			if len(ids) == 0 {
				delete(s.posts, ch)
			} else {
				s.posts[ch] = slices.Clip(ids)
			}
		}
	}
	for k, n := range s.nonces {
		if n.at.Before(t) {
			delete(s.nonces, k)
		}
	}
}

// snowflakeTime reads the creation time from an ID made by newIDLocked.
func snowflakeTime(id string) time.Time {
	v, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(int64(v>>22) + discordEpochMs)
}
