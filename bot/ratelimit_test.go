package bot

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/referralbot/referralbot/config"
)

func TestRateLimiterSlidingWindow(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	type step struct {
		user     string
		atMS     int
		wantOK   bool
		wantWait time.Duration // when refused
	}
	tests := []struct {
		name   string
		max    int
		window time.Duration
		steps  []step
	}{
		{"under the limit", 3, 10 * time.Second, []step{
			{"a", 0, true, 0}, {"a", 100, true, 0}, {"a", 200, true, 0},
		}},
		{"one over is refused until the oldest leaves the window", 3, 10 * time.Second, []step{
			{"a", 0, true, 0}, {"a", 1000, true, 0}, {"a", 2000, true, 0},
			{"a", 2500, false, 7500 * time.Millisecond},
			{"a", 9999, false, time.Millisecond},
			{"a", 10000, true, 0}, // the one at 0 left the window
			{"a", 10001, false, 999 * time.Millisecond},
			{"a", 11000, true, 0},
		}},
		{"refusals do not extend the wait", 2, 10 * time.Second, []step{
			{"a", 0, true, 0}, {"a", 0, true, 0},
			{"a", 1000, false, 9 * time.Second}, {"a", 5000, false, 5 * time.Second}, {"a", 9000, false, time.Second},
			{"a", 10000, true, 0},
		}},
		{"users are counted apart", 1, 10 * time.Second, []step{
			{"a", 0, true, 0}, {"b", 0, true, 0},
			{"a", 1, false, 10*time.Second - time.Millisecond},
			{"c", 2, true, 0},
		}},
		{"a sustained pace at the limit passes", 2, time.Second, []step{
			{"a", 0, true, 0}, {"a", 500, true, 0}, {"a", 1000, true, 0}, {"a", 1500, true, 0}, {"a", 2000, true, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newRateLimiter(config.Limits{Interactions: tt.max, Window: config.Duration(tt.window)})
			for i, s := range tt.steps {
				ok, wait, _ := l.allow(s.user, at(s.atMS))
				if ok != s.wantOK || (!ok && wait != s.wantWait) {
					t.Errorf("step %d: allow(%q, +%dms) = %v, %v; want %v, %v", i, s.user, s.atMS, ok, wait, s.wantOK, s.wantWait)
				}
			}
		})
	}
}

func TestRateLimiterFirstRefusalOnly(t *testing.T) {
	l := newRateLimiter(config.Limits{Interactions: 1, Window: config.Duration(time.Second)})
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var firsts []bool
	for _, ms := range []int{0, 10, 20, 30, 1000, 1010} {
		_, _, first := l.allow("a", t0.Add(time.Duration(ms)*time.Millisecond))
		firsts = append(firsts, first)
	}
	if want := []bool{false, true, false, false, false, true}; fmt.Sprint(firsts) != fmt.Sprint(want) {
		t.Errorf("first refusal flags = %v; want %v (logged once per run of refusals)", firsts, want)
	}
}

// Memory follows the members active lately: a flood of distinct users is
// forgotten once they are idle for a window.
func TestRateLimiterForgetsIdleUsers(t *testing.T) {
	l := newRateLimiter(config.Limits{Interactions: 10, Window: config.Duration(10 * time.Second)})
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for i := range 5000 {
		l.allow(fmt.Sprintf("user-%d", i), t0.Add(time.Duration(i)*time.Millisecond))
	}
	if n := l.tracked(); n > 5000 {
		t.Fatalf("tracked() = %d after 5000 users; want at most 5000", n)
	}
	l.allow("late", t0.Add(time.Minute))
	if n := l.tracked(); n != 1 {
		t.Errorf("tracked() = %d a minute after the flood; want 1 (only the user active now)", n)
	}
}

func TestRateLimiterOff(t *testing.T) {
	if l := newRateLimiter(config.Limits{Interactions: 0, Window: config.Duration(10 * time.Second)}); l != nil {
		t.Errorf("newRateLimiter(interactions 0) = %+v; want nil, no limit", l)
	}
}

func TestCountsTowardLimit(t *testing.T) {
	tests := []struct {
		typ  discordgo.InteractionType
		want bool
	}{
		{discordgo.InteractionPing, false},
		{discordgo.InteractionApplicationCommand, true},
		{discordgo.InteractionMessageComponent, true},
		{discordgo.InteractionApplicationCommandAutocomplete, false},
		{discordgo.InteractionModalSubmit, true},
	}
	for _, tt := range tests {
		if got := counts(&discordgo.Interaction{Type: tt.typ}); got != tt.want {
			t.Errorf("counts(type %v) = %v; want %v", tt.typ, got, tt.want)
		}
	}
}

func TestSlowDownText(t *testing.T) {
	tests := []struct {
		wait time.Duration
		want string
	}{
		{7500 * time.Millisecond, "Try again in 8 s"},
		{time.Millisecond, "Try again in 1 s"},
		{10 * time.Second, "Try again in 10 s"},
	}
	for _, tt := range tests {
		got := slowDownText(10, 10*time.Second, tt.wait)
		if !strings.Contains(got, tt.want) || !strings.Contains(got, "Slow down") || !strings.Contains(got, "10 actions in 10s") {
			t.Errorf("slowDownText(10, 10s, %v) = %q; want %q, \"Slow down\" and \"10 actions in 10s\"", tt.wait, got, tt.want)
		}
	}
}
