package bot

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

// gatewayLock decides which replica holds the gateway connection when
// several share one PostgreSQL database (package leader). A bot without
// one (SQLite: one process) always leads.
type gatewayLock interface {
	// TryAcquire takes the lock if no other replica holds it. With held
	// true comes lost, closed when the lock goes without Release (its
	// database connection failed): then the gateway must close at once.
	TryAcquire(ctx context.Context) (held bool, lost <-chan struct{}, err error)
	// Release gives the lock up, or closes a standby's idle connection.
	Release()
}

// gatewayStandbyPoll is how often a standby tries the lock. A leader that
// dies frees it at once (PostgreSQL ends its session), or after about 7 s
// when its machine vanishes; with this poll and the lock's own settling
// time (4 s) a standby connects well within 15 s.
const gatewayStandbyPoll = 2 * time.Second

// runGateway holds the gateway session whenever this replica leads: it
// takes the lock, opens the session, and closes it the moment the lock is
// lost, then stands by again; it never has a session without the lock.
// The first outcome goes to started: nil once connected and registered or
// once standing by (the loops run on a standby too), or the error that
// stops Run (a refused token, failed registration). Later failures are
// logged and the replica tries again. It returns when ctx ends, with the
// session closed and the lock released.
func (b *Bot) runGateway(ctx context.Context, registered <-chan error, closed chan struct{}, started chan<- error) {
	first := true
	report := func(err error) {
		if first {
			first = false
			started <- err
		} else if err != nil {
			b.logger.Error("gateway failed; this replica will try to lead again", "err", err)
		}
	}
	if b.lock != nil {
		defer b.lock.Release()
	}
	waitRegistration := true // commands are registered after the process's first READY
	standingBy, lockFailing := false, false
	for ctx.Err() == nil {
		held, lost := true, (<-chan struct{})(nil)
		if b.lock != nil {
			var err error
			held, lost, err = b.lock.TryAcquire(ctx)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				if !lockFailing { // once per run of failures, not every poll
					b.logger.Warn("gateway lock unavailable; standing by", "err", err)
				}
				lockFailing = true
			case !held:
				lockFailing = false
				if !standingBy {
					b.logger.Info("standing by: another replica holds the gateway connection")
					standingBy = true
				}
			}
		}
		if !held {
			report(nil)
			sleep(ctx, gatewayStandbyPoll)
			continue
		}
		standingBy, lockFailing = false, false
		if b.lock != nil {
			b.logger.Info("leading: this replica holds the gateway connection")
			b.leading.Store(true)
		}
		// discordgo's own reconnect loop may have opened it meanwhile.
		if err := b.session.Open(); err != nil && !errors.Is(err, discordgo.ErrWSAlreadyOpen) {
			b.giveUpLead()
			report(openError(err))
			sleep(ctx, gatewayStandbyPoll)
			continue
		}
		if waitRegistration {
			select {
			case err := <-registered:
				waitRegistration = false
				report(err)
			case <-lost:
			case <-ctx.Done():
			}
		}
		select {
		case <-lost:
		case <-ctx.Done():
		}
		if b.lock != nil {
			b.leading.Store(false) // first: from now on no gateway dial gets through
		}
		b.closeGateway(closed)
		b.giveUpLead()
		if ctx.Err() == nil {
			b.closing.Store(false) // a later drop of a new session is news again
			b.logger.Warn("lost the gateway lock (its database connection failed); gateway closed, standing by")
			standingBy = true
			// Two polls: a standby whose connection is fine takes over first.
			sleep(ctx, 2*gatewayStandbyPoll)
		}
	}
}

// closeGateway closes the session and waits (at most 5 s) for discordgo's
// Disconnect about it.
func (b *Bot) closeGateway(closed chan struct{}) {
	select {
	case <-closed: // a stale signal from an earlier close
	default:
	}
	b.closing.Store(true)
	b.session.Close()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
	}
}

// giveUpLead releases a contested lock; without one the bot stays leader.
func (b *Bot) giveUpLead() {
	if b.lock == nil {
		return
	}
	b.leading.Store(false)
	b.lock.Release()
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// errNotLeading refuses a gateway dial on a replica that is not the leader.
var errNotLeading = errors.New("gateway: this replica does not hold the gateway lock")

// leaderOnlyDialer is discordgo's websocket dialer, refusing while
// leading says no. Closing a session does not end a reconnect loop
// discordgo started after a drop; this keeps that loop from connecting a
// replica that has lost the lock.
func leaderOnlyDialer(leading func() bool) *websocket.Dialer {
	d := *websocket.DefaultDialer
	var dialer net.Dialer
	d.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if !leading() {
			return nil, errNotLeading
		}
		return dialer.DialContext(ctx, network, addr)
	}
	return &d
}
