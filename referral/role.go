package referral

import "time"

// ActionRoleRegained is the bot finding a pending referrer holding the
// server's referrer role again; actor "".
const ActionRoleRegained = "role_regained"

// RoleRegained is a pending referrer seen holding the server's referrer
// role (at a command of theirs): active again through the role, as joining
// while holding it would make them, without running /referrer join again;
// waiting requests for their companies are offered. Anything else changes
// nothing. Needs Referrer.
func RoleRegained(s Snapshot, referrerRoleID string, memberRoles []string, now time.Time) (Change, error) {
	ref := s.Referrer
	if ref == nil || ref.Status != Pending || referrerRoleID == "" || !contains(memberRoles, referrerRoleID) {
		return Change{}, nil
	}
	rc := referrerChange(*ref)
	rc.Status, rc.ActiveVia = Active, ViaRole
	return Change{
		Referrer: rc,
		Actions:  []AdminAction{{GuildID: ref.GuildID, Action: ActionRoleRegained, TargetID: ref.UserID, Detail: "holds the referrer role again"}},
		Then:     []Next{{Match: &Match{GuildID: ref.GuildID, Companies: ref.Companies}}},
	}, nil
}
