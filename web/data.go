package web

import (
	"context"
	"time"

	"github.com/referralbot/referralbot/dashboard"
)

// Source is what the dashboard reads; *storage.Store implements it.
type Source interface {
	// Dashboard is one server's numbers for the period ending at now.
	Dashboard(ctx context.Context, guildID string, period dashboard.Period, now time.Time) (dashboard.Data, error)
	// DashboardKey is the secret that signs dashboard links, created on
	// first use and the same ever after.
	DashboardKey(ctx context.Context) ([]byte, error)
}
