package bot

import (
	"testing"
	"time"
)

// Memory is given back once per quiet spell: not while interactions keep
// coming, once after they stop, and again only after the next one.
func TestIdleReleaseOncePerQuietSpell(t *testing.T) {
	releases := 0
	r := &idleRelease{quietFor: 10 * time.Second, released: func() { releases++ }}
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	r.check(t0)
	if releases != 0 {
		t.Fatalf("released %d times before any interaction; want 0", releases)
	}
	r.touch(t0)
	r.check(t0.Add(9 * time.Second))
	if releases != 0 {
		t.Fatalf("released %d times 9 s after an interaction; want 0 (quiet for 10 s)", releases)
	}
	r.check(t0.Add(10 * time.Second))
	r.check(t0.Add(20 * time.Second))
	r.check(t0.Add(time.Hour))
	if releases != 1 {
		t.Fatalf("released %d times in a quiet hour; want once", releases)
	}
	r.touch(t0.Add(2 * time.Hour))
	r.check(t0.Add(2*time.Hour + 11*time.Second))
	if releases != 2 {
		t.Fatalf("released %d times after the next interaction went quiet; want 2", releases)
	}
}
