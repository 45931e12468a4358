package commands

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// linksFunc is a DashboardLinks made of a function.
type linksFunc func(ctx context.Context, guildID string, now time.Time) (string, error)

func (f linksFunc) Link(ctx context.Context, guildID string, now time.Time) (string, error) {
	return f(ctx, guildID, now)
}

func TestAdminDashboard(t *testing.T) {
	h := newHarness(t)
	resp := h.do(adminCall(discordgo.PermissionManageGuild, "dashboard"))
	mustEphemeral(t, resp)
	if !strings.Contains(resp.Data.Content, "http.public_url") {
		t.Errorf("without a public address the reply = %q; want it to say how to set http.public_url", resp.Data.Content)
	}

	var gotGuild string
	var gotNow time.Time
	h.router.Dashboard = linksFunc(func(_ context.Context, guildID string, now time.Time) (string, error) {
		gotGuild, gotNow = guildID, now
		return "https://referrals.example.org/dashboard/" + guildID + ".123.mac", nil
	})
	resp = h.do(adminCall(discordgo.PermissionManageGuild, "dashboard"))
	mustEphemeral(t, resp)
	if gotGuild != testGuild || !gotNow.Equal(h.router.now()) {
		t.Errorf("Link(%q, %v); want the caller's server %q at the router's now", gotGuild, gotNow, testGuild)
	}
	if !strings.Contains(resp.Data.Content, "15 minutes") {
		t.Errorf("reply = %q; want it to say the link works for 15 minutes", resp.Data.Content)
	}
	var button *discordgo.Button
	for _, c := range resp.Data.Components {
		if r, ok := c.(discordgo.ActionsRow); ok {
			for _, b := range r.Components {
				if btn, ok := b.(discordgo.Button); ok {
					button = &btn
				}
			}
		}
	}
	if button == nil || button.Style != discordgo.LinkButton || button.URL != "https://referrals.example.org/dashboard/"+testGuild+".123.mac" {
		t.Errorf("reply button = %+v; want a link button to the signed link", button)
	}
}
