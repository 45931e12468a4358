package bot

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/referralbot/referralbot/commands"
	"github.com/referralbot/referralbot/config"
)

// rateLimiter lets each member do at most max things in any window of
// window: a sliding window per user, kept as the times of their last max
// allowed interactions. Refused interactions are not recorded, so hammering
// does not extend the wait. A user with nothing left inside the window is
// forgotten, so memory follows the members active in the last two windows,
// not everyone ever seen.
type rateLimiter struct {
	max    int
	window time.Duration

	mu        sync.Mutex
	users     map[string]*userWindow
	nextSweep time.Time
}

type userWindow struct {
	times  []time.Time // up to max, a ring once full: times[oldest] is the oldest
	oldest int
	last   time.Time
	warned bool // logged once for this run of refusals
}

// newRateLimiter returns nil, no limit, for limits.interactions 0.
func newRateLimiter(l config.Limits) *rateLimiter {
	if l.Interactions <= 0 || l.Window <= 0 {
		return nil
	}
	return &rateLimiter{max: l.Interactions, window: time.Duration(l.Window), users: map[string]*userWindow{}}
}

// allow records an interaction by user at now if it is within the limit;
// otherwise it reports how long until one would be, and whether this is
// the first refusal since the user was last allowed.
func (l *rateLimiter) allow(user string, now time.Time) (ok bool, wait time.Duration, first bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	u := l.users[user]
	if u == nil {
		u = &userWindow{}
		l.users[user] = u
	}
	if len(u.times) < l.max {
		u.times = append(u.times, now)
	} else {
		oldest := u.times[u.oldest]
		if until := oldest.Add(l.window).Sub(now); until > 0 {
			first = !u.warned
			u.warned = true
			return false, until, first
		}
		u.times[u.oldest] = now
		u.oldest = (u.oldest + 1) % l.max
	}
	u.last, u.warned = now, false
	return true, 0, false
}

// sweep forgets, at most once a window, the users whose last allowed
// interaction is a whole window old: they are free again anyway.
func (l *rateLimiter) sweep(now time.Time) {
	if now.Before(l.nextSweep) {
		return
	}
	l.nextSweep = now.Add(l.window)
	for id, u := range l.users {
		if now.Sub(u.last) >= l.window {
			delete(l.users, id)
		}
	}
}

// tracked is how many users the limiter remembers (for tests).
func (l *rateLimiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.users)
}

// counts reports whether an interaction counts toward the limit: commands,
// button presses and form submits do; autocomplete fires on every
// keystroke and pings are Discord's own, so they pass uncounted.
func counts(i *discordgo.Interaction) bool {
	switch i.Type {
	case discordgo.InteractionApplicationCommand, discordgo.InteractionMessageComponent, discordgo.InteractionModalSubmit:
		return true
	}
	return false
}

// handleInteraction answers one interaction: through the router, unless
// the member is over the limit; then with an ephemeral "slow down" and
// nothing done. Either way it is answered once.
func (b *Bot) handleInteraction(ctx context.Context, resp commands.Responder, i *discordgo.Interaction) {
	b.idle.touch(time.Now())
	if b.limiter != nil && i != nil && counts(i) {
		if userID := interactionUserID(i); userID != "" {
			ok, wait, first := b.limiter.allow(userID, b.now())
			if !ok {
				b.refuseLimited(resp, i, userID, wait, first)
				return
			}
		}
	}
	b.router.Handle(ctx, resp, i)
}

func (b *Bot) refuseLimited(resp commands.Responder, i *discordgo.Interaction, userID string, wait time.Duration, first bool) {
	b.metrics.limited.Inc()
	log := b.logger.Debug
	if first {
		log = b.logger.Info // once per run of refusals, so a flood does not flood the log
	}
	log("interaction refused: over the per-member limit", "user_id", userID, "interaction_id", i.ID, "wait", wait.Round(time.Millisecond))
	answer := &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{
			Content:         slowDownText(b.limiter.max, b.limiter.window, wait),
			Flags:           discordgo.MessageFlagsEphemeral,
			AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}},
		},
	}
	if err := resp.InteractionRespond(i, answer); err != nil {
		b.logger.Warn("interaction response failed", "command", "limited", "interaction_id", i.ID, "user_id", userID, "err", err)
	}
}

// slowDownText tells the member how long to wait, in whole seconds rounded up.
func slowDownText(limit int, window, wait time.Duration) string {
	secs := max(1, int(math.Ceil(wait.Seconds())))
	return fmt.Sprintf("Slow down: that's more than %d actions in %s. Try again in %d s; I did nothing with this one (a form sent now was not saved).",
		limit, config.FormatDuration(window), secs)
}

// interactionUserID is who acted: the member in a server, the user in a DM.
func interactionUserID(i *discordgo.Interaction) string {
	switch {
	case i.Member != nil && i.Member.User != nil:
		return i.Member.User.ID
	case i.User != nil:
		return i.User.ID
	}
	return ""
}

// limitedRouter is the router behind the per-member limit, for the HTTP
// interactions endpoint (the gateway handler calls handleInteraction).
type limitedRouter struct{ b *Bot }

func (l limitedRouter) Handle(ctx context.Context, resp commands.Responder, i *discordgo.Interaction) {
	l.b.handleInteraction(ctx, resp, i)
}
