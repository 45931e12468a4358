package bot

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// fakeMembers answers GuildMember from a map and counts the calls.
type fakeMembers struct {
	mu    sync.Mutex
	roles map[string][]string // user id -> roles; missing = not a member
	err   error
	calls int
}

func (f *fakeMembers) GuildMember(guildID, userID string, _ ...discordgo.RequestOption) (*discordgo.Member, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	r, ok := f.roles[userID]
	if !ok {
		return nil, &discordgo.RESTError{Message: &discordgo.APIErrorMessage{Code: discordgo.ErrCodeUnknownMember, Message: "Unknown Member"}}
	}
	return &discordgo.Member{User: &discordgo.User{ID: userID}, Roles: r}, nil
}

func TestTrustRoleCacheOneMinute(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	dc := &fakeMembers{roles: map[string][]string{"alice": {"ref"}}}
	rc := newRoleChecker(dc, nil, func() time.Time { return now })

	roles, gone, err := rc.memberRoles("g", "alice")
	if err != nil || gone || len(roles) != 1 || roles[0] != "ref" {
		t.Fatalf("memberRoles = %v, %v, %v", roles, gone, err)
	}
	dc.roles["alice"] = nil // the role is taken away
	now = now.Add(59 * time.Second)
	if roles, _, _ := rc.memberRoles("g", "alice"); len(roles) != 1 || dc.calls != 1 {
		t.Errorf("within a minute: roles %v after %d calls; want the cached role, one call", roles, dc.calls)
	}
	now = now.Add(2 * time.Second)
	if roles, _, _ := rc.memberRoles("g", "alice"); len(roles) != 0 || dc.calls != 2 {
		t.Errorf("after a minute: roles %v after %d calls; want read again, none", roles, dc.calls)
	}

	if _, gone, err := rc.memberRoles("g", "bob"); err != nil || !gone {
		t.Errorf("a member who left: gone %v, %v; want gone", gone, err)
	}
	dc.err = errors.New("502 Bad Gateway")
	if _, _, err := rc.memberRoles("g", "carol"); err == nil {
		t.Errorf("Discord failing: no error; want one, so the offer is retried")
	}
	dc.err = nil
	dc.roles["carol"] = []string{"ref"}
	if roles, _, err := rc.memberRoles("g", "carol"); err != nil || len(roles) != 1 {
		t.Errorf("after a failure: %v, %v; want read again (failures are not cached)", roles, err)
	}
}
