package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/referralbot/referralbot/referral"
	"github.com/referralbot/referralbot/storage"
)

// The referrer-role check. A referrer who joined holding the server's
// referrer role is active on the strength of that role, so before an offer
// (the student's resume and story) is delivered to them, the sender asks
// Discord whether they still hold it. If not, the store withdraws the
// offer, makes them pending and hands the request to the next candidate,
// all in one transaction. Referrers approved by an admin are not checked.

// roleCacheTTL is how long a member's roles read from Discord are reused.
const roleCacheTTL = time.Minute

// guildMembers is what the check needs of Discord; *discordgo.Session has it.
type guildMembers interface {
	GuildMember(guildID, userID string, options ...discordgo.RequestOption) (*discordgo.Member, error)
}

// roleStore is what the check needs of the store.
type roleStore interface {
	// StillQueued reports whether the outbox row is still to be sent.
	StillQueued(ctx context.Context, outboxID int64) (bool, error)
	// RoleToCheck is the referrer role to check for the referrer, or ""
	// when they are not active on the strength of a role.
	RoleToCheck(ctx context.Context, guildID, userID string) (string, error)
	// WithdrawOfferRoleLost withdraws the offer and hands the request on,
	// reporting false when the offer or the referrer changed meanwhile.
	WithdrawOfferRoleLost(ctx context.Context, offerID int64, leftServer bool) (bool, error)
	// OfferRoleToCheck is the offer's server and the role userID must hold
	// to accept it; "" = nothing to check.
	OfferRoleToCheck(ctx context.Context, offerID int64, userID string) (guildID, roleID string, err error)
}

type roleChecker struct {
	discord guildMembers
	store   roleStore
	now     func() time.Time

	mu    sync.Mutex
	cache map[string]cachedRoles // guild id + "/" + user id
}

type cachedRoles struct {
	roles []string
	gone  bool // not a member of the server any more
	at    time.Time
}

func newRoleChecker(discord guildMembers, store roleStore, now func() time.Time) *roleChecker {
	return &roleChecker{discord: discord, store: store, now: now, cache: map[string]cachedRoles{}}
}

// memberRoles returns the member's roles, read from Discord at most once a
// minute per member; gone reports a member who left the server.
func (rc *roleChecker) memberRoles(guildID, userID string) (roles []string, gone bool, err error) {
	key := guildID + "/" + userID
	now := rc.now()
	rc.mu.Lock()
	c, ok := rc.cache[key]
	rc.mu.Unlock()
	if ok && now.Sub(c.at) >= 0 && now.Sub(c.at) < roleCacheTTL {
		return c.roles, c.gone, nil
	}
	m, err := rc.discord.GuildMember(guildID, userID)
	var rest *discordgo.RESTError
	switch {
	case errors.As(err, &rest) && rest.Message != nil &&
		(rest.Message.Code == discordgo.ErrCodeUnknownMember || rest.Message.Code == discordgo.ErrCodeUnknownUser):
		c = cachedRoles{gone: true, at: now}
	case err != nil:
		return nil, false, fmt.Errorf("read member roles: %w", err)
	default:
		c = cachedRoles{roles: append([]string(nil), m.Roles...), at: now}
	}
	rc.mu.Lock()
	rc.cache[key] = c
	rc.mu.Unlock()
	return c.roles, c.gone, nil
}

// offerAllowed decides whether an offer notice may be delivered now: not
// when its queued row is gone (withdrawn meanwhile), nor when its referrer
// joined with the referrer role and has lost it, in which case the offer
// is withdrawn and the request moves on.
func (rc *roleChecker) offerAllowed(ctx context.Context, m storage.OutboxMessage) (bool, error) {
	out := m.Outgoing
	queued, err := rc.store.StillQueued(ctx, m.ID)
	if err != nil || !queued {
		return false, err
	}
	roleID, err := rc.store.RoleToCheck(ctx, out.GuildID, out.UserID)
	if err != nil || roleID == "" {
		return err == nil, err
	}
	roles, gone, err := rc.memberRoles(out.GuildID, out.UserID)
	if err != nil {
		return false, err
	}
	if !gone && slices.Contains(roles, roleID) {
		return true, nil
	}
	withdrawn, err := rc.store.WithdrawOfferRoleLost(ctx, out.Notice.OfferID, gone)
	if err != nil {
		return false, err
	}
	// Not withdrawn: the offer or the referrer changed meanwhile (answered,
	// approved by an admin), so the notice goes out as it would have.
	return !withdrawn, nil
}

// MayAccept checks the role again when a referrer presses Accept: a role
// taken away after the offer was delivered must not hand them the
// student's trust. Without it the offer is withdrawn and moves on, the
// profile becomes pending and the trust log records it (as before
// delivery); the member's roles come from the same one-minute cache.
func (rc *roleChecker) MayAccept(ctx context.Context, offerID int64, userID string) (bool, error) {
	guildID, roleID, err := rc.store.OfferRoleToCheck(ctx, offerID, userID)
	if err != nil || roleID == "" {
		return err == nil, err
	}
	roles, gone, err := rc.memberRoles(guildID, userID)
	if err != nil {
		return false, err
	}
	if !gone && slices.Contains(roles, roleID) {
		return true, nil
	}
	withdrawn, err := rc.store.WithdrawOfferRoleLost(ctx, offerID, gone)
	// Not withdrawn: it changed meanwhile; the Accept itself decides.
	return !withdrawn, err
}

// screen runs before the sender delivers a message and reports whether to
// deliver it now. Only offer notices are checked. A check that fails (Discord
// or the database not answering) is retried like a failed send.
func (o *sender) screen(ctx context.Context, m storage.OutboxMessage, log *slog.Logger) bool {
	if o.roles == nil || m.Outgoing.Notice.Kind != referral.NoticeOffer || m.Outgoing.UserID == "" {
		return true
	}
	ok, err := o.roles.offerAllowed(ctx, m)
	switch {
	case err != nil && ctx.Err() != nil:
		return false
	case err != nil && m.Attempts+1 >= maxSendAttempts:
		o.metrics.undeliverable.Inc()
		log.Error("giving up: the referrer role could not be checked; kept as undeliverable", "err", err)
		o.record(ctx, log, o.store.MarkUndeliverable(ctx, m.ID, "role check: "+err.Error()))
		return false
	case err != nil:
		next := o.now().Add(backoff(m.Attempts))
		o.metrics.retries.Inc()
		log.Warn("referrer role check failed; will retry", "err", err, "next", next)
		o.record(ctx, log, o.store.MarkRetry(ctx, m.ID, next, "role check: "+err.Error()))
		return false
	case !ok:
		log.Info("offer not delivered: withdrawn, or the referrer lost the referrer role", "user_id", m.Outgoing.UserID, "offer_id", m.Outgoing.Notice.OfferID)
		o.poke() // the request may have gone to someone else
		return false
	}
	return true
}
