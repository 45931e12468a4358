package referral

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

func TestRankOrderAndEligibility(t *testing.T) {
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	seeker := Seeker{StudentID: "stu", Role: "Software Engineer Intern",
		Intro: "I'm a third-year student at State University building distributed systems in Go."}
	base := Candidate{Status: Active, Capacity: 4}
	with := func(id string, f func(*Candidate)) Candidate {
		c := base
		c.UserID = id
		f(&c)
		return c
	}
	cands := []Candidate{
		with("busy", func(c *Candidate) { c.UsedInWindow = 3 }),
		with("idle-recent", func(c *Candidate) { c.LastOfferedAt = now.Add(-time.Hour) }),
		with("idle-long-ago", func(c *Candidate) { c.LastOfferedAt = now.Add(-72 * time.Hour) }),
		with("role-match", func(c *Candidate) { c.Roles = "software engineering, backend"; c.UsedInWindow = 3 }),
		with("alum", func(c *Candidate) { c.School = "State University"; c.UsedInWindow = 3 }),
		// Never eligible:
		with("stu", func(c *Candidate) {}),
		with("full", func(c *Candidate) { c.UsedInWindow = 4 }),
		with("paused", func(c *Candidate) { c.Status = Paused }),
		with("pending", func(c *Candidate) { c.Status = Pending }),
		with("asked", func(c *Candidate) { c.AlreadyAsked = true }),
	}
	got := Rank(seeker, cands, now)
	want := []string{"alum", "role-match", "idle-long-ago", "idle-recent", "busy"}
	if len(got) != len(want) {
		t.Fatalf("Rank returned %d candidates %v; want %v", len(got), ids(got), want)
	}
	for i := range want {
		if got[i].UserID != want[i] {
			t.Fatalf("Rank order = %v; want %v", ids(got), want)
		}
	}
}

func ids(cs []Candidate) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.UserID)
	}
	return out
}

func TestSchoolAndRoleMatching(t *testing.T) {
	schools := []struct {
		school, text string
		want         bool
	}{
		{"State University", "I study at state university, class of 2027.", true},
		{"State University", "I study at Statesville University.", false},
		{"MIT", "Junior at MIT studying EECS", true},
		{"", "anything", false},
	}
	for _, c := range schools {
		if got := SchoolMatch(c.school, c.text); got != c.want {
			t.Errorf("SchoolMatch(%q, %q) = %v; want %v", c.school, c.text, got, c.want)
		}
	}
	roles := []struct {
		referrer, role string
		want           int
	}{
		{"software engineering, backend", "Software Engineer Intern", 1},
		{"data science; machine learning", "Machine Learning Engineer", 2},
		{"product management", "Software Engineer", 0},
		{"", "Software Engineer", 0},
	}
	for _, c := range roles {
		if got := RoleOverlap(c.referrer, c.role); got != c.want {
			t.Errorf("RoleOverlap(%q, %q) = %d; want %d", c.referrer, c.role, got, c.want)
		}
	}
}

// Best is the first of Rank, whatever the mix of candidates.
func TestBestIsFirstOfRank(t *testing.T) {
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	seeker := Seeker{StudentID: "stu", Role: "Machine Learning Engineer", Intro: "Final-year student at MIT; I build recommendation models."}
	schools := []string{"", "MIT", "State University"}
	roles := []string{"", "machine learning", "software engineering", "data science; machine learning"}
	rnd := rand.New(rand.NewPCG(1, 2))
	for round := range 500 {
		var cands []Candidate
		for i := range 1 + rnd.IntN(30) {
			c := Candidate{UserID: fmt.Sprintf("u%02d", rnd.IntN(40)), Status: Active, Capacity: 1 + rnd.IntN(4),
				School: schools[rnd.IntN(len(schools))], Roles: roles[rnd.IntN(len(roles))], UsedInWindow: rnd.IntN(4), AlreadyAsked: rnd.IntN(8) == 0}
			if rnd.IntN(3) > 0 {
				c.LastOfferedAt = now.Add(-time.Duration(rnd.IntN(5)) * time.Hour)
			}
			if i%7 == 6 {
				c.Status = Paused
			}
			cands = append(cands, c)
		}
		ranked, best := Rank(seeker, cands, now), Best(seeker, cands, now)
		switch {
		case len(ranked) == 0 && best != nil:
			t.Fatalf("round %d: Best = %s; want nil as Rank is empty", round, best.UserID)
		case len(ranked) > 0 && (best == nil || *best != ranked[0]):
			t.Fatalf("round %d: Best = %v; want Rank's first %v", round, best, ranked[0])
		}
	}
}
