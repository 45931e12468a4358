package referral

import (
	"errors"
	"testing"
	"time"
)

func TestMoveEveryPair(t *testing.T) {
	allowed := map[[2]State]bool{}
	for _, p := range [][2]State{
		{Waiting, Offered}, {Waiting, Withdrawn}, {Waiting, Expired},
		{Offered, Offered}, {Offered, Waiting}, {Offered, Accepted}, {Offered, Withdrawn}, {Offered, Expired},
		{Accepted, Submitted}, {Accepted, Offered}, {Accepted, Waiting}, {Accepted, InProcess}, {Accepted, Closed}, {Accepted, Withdrawn},
		{Submitted, InProcess}, {Submitted, Closed},
		{InProcess, InProcess}, {InProcess, Closed},
	} {
		allowed[p] = true
	}
	for _, from := range States() {
		for _, to := range States() {
			err := Move(from, to)
			if allowed[[2]State{from, to}] {
				if err != nil {
					t.Errorf("Move(%s, %s) = %v; want allowed", from, to, err)
				}
				continue
			}
			var te ErrTransition
			if !errors.As(err, &te) || te.From != from || te.To != to {
				t.Errorf("Move(%s, %s) = %v; want ErrTransition", from, to, err)
			}
		}
	}
}

func TestOutcomes(t *testing.T) {
	cases := []struct {
		in    string
		final bool
		state State
	}{
		{"screen", false, InProcess}, {"interview", false, InProcess},
		{"offer", true, Closed}, {"rejected", true, Closed}, {"no_response", true, Closed},
	}
	for _, c := range cases {
		o, err := ParseOutcome(c.in)
		if err != nil {
			t.Fatalf("ParseOutcome(%q) = %v", c.in, err)
		}
		if o.Final() != c.final || o.State() != c.state {
			t.Errorf("%s: Final() = %v, State() = %s; want %v, %s", c.in, o.Final(), o.State(), c.final, c.state)
		}
	}
	if _, err := ParseOutcome("hired"); err == nil {
		t.Errorf("ParseOutcome(%q) = nil error; want an error", "hired")
	}
}

func TestNudgeDue(t *testing.T) {
	p := Policy{Nudges: []time.Duration{7 * 24 * time.Hour, 14 * 24 * time.Hour}}
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	for n, want := range map[int]time.Time{1: at.AddDate(0, 0, 7), 2: at.AddDate(0, 0, 14)} {
		if got, ok := p.NudgeDue(at, n); !ok || !got.Equal(want) {
			t.Errorf("NudgeDue(%d) = %v, %v; want %v", n, got, ok, want)
		}
	}
	for _, n := range []int{0, 3} {
		if _, ok := p.NudgeDue(at, n); ok {
			t.Errorf("NudgeDue(%d) ok; want no such follow-up", n)
		}
	}
}
