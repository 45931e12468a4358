package referral

import (
	"sort"
	"strings"
	"time"
	"unicode"
)

// CapacityWindow is the period a referrer's capacity counts over.
const CapacityWindow = 30 * 24 * time.Hour

// Candidate is a referrer as matching sees them for one request.
type Candidate struct {
	UserID        string
	Status        ReferrerStatus
	PausedUntil   time.Time // zero = not paused by days; Status Paused without it = until resumed
	School        string
	Roles         string // free text, comma separated
	Capacity      int
	UsedInWindow  int // offers accepted in the last CapacityWindow plus offers pending now
	LastOfferedAt time.Time
	AlreadyAsked  bool // was offered this request before (any answer)
	// VerifiedDomain is shown on the offer ("verified @domain").
	VerifiedDomain string
}

// Seeker is the side of a request that matching compares against.
type Seeker struct {
	StudentID string
	Role      string
	Intro     string
}

// Eligible reports whether c may be offered the request now.
func (c Candidate) Eligible(s Seeker, now time.Time) bool {
	switch {
	case c.Status != Active:
		return false
	case c.UserID == s.StudentID:
		return false
	case c.AlreadyAsked:
		return false
	case c.UsedInWindow >= c.Capacity:
		return false
	}
	return true
}

// Rank returns the eligible candidates best first: same school (the
// referrer's school named in the student's intro), then role overlap, then
// fewest referrals in the window, then longest since their last offer.
func Rank(s Seeker, cands []Candidate, now time.Time) []Candidate {
	m := newMatcher(s)
	var list []scored
	for _, c := range cands {
		if c.Eligible(s, now) {
			list = append(list, m.score(c))
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].before(list[j]) })
	out := make([]Candidate, len(list))
	for i, sc := range list {
		out[i] = sc.c
	}
	return out
}

// Best is the candidate to ask first, or nil when nobody is eligible: the
// first of Rank, found in one pass.
func Best(s Seeker, cands []Candidate, now time.Time) *Candidate {
	m := newMatcher(s)
	var best scored
	found := false
	for _, c := range cands {
		if !c.Eligible(s, now) {
			continue
		}
		if sc := m.score(c); !found || sc.before(best) {
			best, found = sc, true
		}
	}
	if !found {
		return nil
	}
	return &best.c
}

// scored is a candidate with the request-dependent parts of its rank.
type scored struct {
	c      Candidate
	school bool
	roles  int
}

// before is the rank's order.
func (a scored) before(b scored) bool {
	if a.school != b.school {
		return a.school
	}
	if a.roles != b.roles {
		return a.roles > b.roles
	}
	if a.c.UsedInWindow != b.c.UsedInWindow {
		return a.c.UsedInWindow < b.c.UsedInWindow
	}
	if !a.c.LastOfferedAt.Equal(b.c.LastOfferedAt) {
		return a.c.LastOfferedAt.Before(b.c.LastOfferedAt)
	}
	return a.c.UserID < b.c.UserID
}

// matcher scores candidates against one seeker: the student's words are
// split once, and referrers sharing a school or roles text (most do, at
// a big company) are scored once.
type matcher struct {
	intro   string          // the intro's words, space separated and padded
	role    []string        // the role's stems, each once
	schools map[string]bool // school -> named in the intro
	roles   map[string]int  // roles text -> overlap
}

func newMatcher(s Seeker) *matcher {
	m := &matcher{intro: " " + strings.Join(words(s.Intro), " ") + " ", schools: map[string]bool{}, roles: map[string]int{}}
	seen := map[string]bool{}
	for _, w := range words(s.Role) {
		if w = stem(w); !seen[w] {
			seen[w] = true
			m.role = append(m.role, w)
		}
	}
	return m
}

func (m *matcher) score(c Candidate) scored {
	school, ok := m.schools[c.School]
	if !ok {
		school = schoolIn(c.School, m.intro)
		m.schools[c.School] = school
	}
	roles, ok := m.roles[c.Roles]
	if !ok {
		roles = roleOverlap(c.Roles, m.role)
		m.roles[c.Roles] = roles
	}
	return scored{c: c, school: school, roles: roles}
}

// SchoolMatch reports whether the referrer's school is named in the
// student's text; the modal has no school field, students name it in intros.
func SchoolMatch(school, text string) bool {
	return schoolIn(school, " "+strings.Join(words(text), " ")+" ")
}

// schoolIn is SchoolMatch on text already split into padded words.
func schoolIn(school, paddedWords string) bool {
	school = strings.Join(words(school), " ")
	if len(school) < 2 {
		return false
	}
	return strings.Contains(paddedWords, " "+school+" ")
}

// RoleOverlap counts the meaningful words shared by a referrer's roles and
// the requested role ("Software Engineer Intern" vs "software engineering, SDE").
func RoleOverlap(referrerRoles, role string) int {
	var stems []string
	seen := map[string]bool{}
	for _, w := range words(role) {
		if w = stem(w); !seen[w] {
			seen[w] = true
			stems = append(stems, w)
		}
	}
	return roleOverlap(referrerRoles, stems)
}

// roleOverlap counts the role stems (each once) found in referrerRoles.
func roleOverlap(referrerRoles string, roleStems []string) int {
	have := map[string]bool{}
	for _, w := range words(referrerRoles) {
		if !roleStopWords[w] {
			have[stem(w)] = true
		}
	}
	n := 0
	for _, w := range roleStems {
		if have[w] {
			n++
		}
	}
	return n
}

var roleStopWords = map[string]bool{"and": true, "or": true, "the": true, "of": true, "a": true, "an": true, "in": true, "for": true, "i": true, "ii": true, "iii": true, "new": true, "grad": true}

// stem folds the common English endings so "engineering" meets "engineer".
func stem(w string) string {
	for _, suf := range []string{"ing", "er", "s"} {
		if len(w) > len(suf)+3 && strings.HasSuffix(w, suf) {
			return strings.TrimSuffix(w, suf)
		}
	}
	return w
}

// words splits text into lowercase letter/digit words.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}
