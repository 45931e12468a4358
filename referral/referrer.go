package referral

import (
	"fmt"
	"time"
)

// ReferrerStatus says whether a referrer receives offers.
type ReferrerStatus string

const (
	// Pending referrers wait for an admin's approval and get no offers.
	Pending ReferrerStatus = "pending"
	Active  ReferrerStatus = "active"
	Paused  ReferrerStatus = "paused"
)

// MinCapacity and MaxCapacity bound a referrer's referrals per 30 days.
const (
	MinCapacity = 1
	MaxCapacity = 20
)

// CheckCapacity validates the capacity option of /referrer join.
func CheckCapacity(n int) error {
	if n < MinCapacity || n > MaxCapacity {
		return fmt.Errorf("capacity must be between %d and %d referrals per 30 days", MinCapacity, MaxCapacity)
	}
	return nil
}

// Referrer is an alumnus's profile in one server.
type Referrer struct {
	ID             int64 // the profile's row, the subject of its pause_end step
	GuildID        string
	UserID         string
	Status         ReferrerStatus
	Companies      []Company
	Roles          string
	School         string
	Capacity       int
	PausedUntil    time.Time
	PauseReason    string // "" for their own pause, PauseReported after a student's report
	ActiveVia      string // ViaRole, ViaAdmin, or "" while pending
	VerifiedDomain string
	LastOfferedAt  time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// ReferrerStats are a referrer's counts for /referrer profile and admin lists.
type ReferrerStats struct {
	UsedInWindow int // accepted in the last 30 days plus pending offers
	Offered      int
	Accepted     int
	Declined     int
	Submitted    int
	Screens      int
	Interviews   int
	Offers       int
	LastActivity time.Time
}

// CapacityLeft is what the referrer can still take in the window.
func (r Referrer) CapacityLeft(s ReferrerStats) int {
	if left := r.Capacity - s.UsedInWindow; left > 0 {
		return left
	}
	return 0
}
