package bot

import (
	"context"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/referralbot/referralbot/web"
)

// dashboardLinks signs the links /referral-admin dashboard hands out, with
// the key the store keeps (made on first use, nothing to configure).
type dashboardLinks struct {
	store     web.Source
	publicURL string
}

func (d dashboardLinks) Link(ctx context.Context, guildID string, now time.Time) (string, error) {
	key, err := d.store.DashboardKey(ctx)
	if err != nil {
		return "", err
	}
	return web.LinkFor(d.publicURL, guildID, key, now), nil
}

// memberNames shows referrers by their server nickname or user name on the
// dashboard; an id Discord does not answer for stays an id.
func memberNames(members guildMembers) web.Names {
	return func(ctx context.Context, guildID string, userIDs []string) map[string]string {
		names := make(map[string]string, len(userIDs))
		for _, id := range userIDs {
			if ctx.Err() != nil {
				break
			}
			m, err := members.GuildMember(guildID, id, discordgo.WithContext(ctx))
			if err != nil || m == nil || m.User == nil {
				continue
			}
			switch {
			case m.Nick != "":
				names[id] = m.Nick
			case m.User.GlobalName != "":
				names[id] = m.User.GlobalName
			default:
				names[id] = m.User.Username
			}
		}
		return names
	}
}
