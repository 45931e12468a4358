package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/referralbot/referralbot/commands"
	"github.com/referralbot/referralbot/referral"
	"github.com/referralbot/referralbot/storage"
)

// maxSendAttempts bounds retries of a message that keeps failing with 5xx or
// network errors; after that it is kept as undeliverable with its error.
const maxSendAttempts = 12

// outboxStore is what the sender asks of the store: the due messages, and
// each one's result.
type outboxStore interface {
	DueOutbox(ctx context.Context, now time.Time, limit int) ([]storage.OutboxMessage, error)
	MarkSent(ctx context.Context, id int64, messageID string) error
	MarkRetry(ctx context.Context, id int64, next time.Time, reason string) error
	MarkUndeliverable(ctx context.Context, id int64, reason string) error
	// MarkDMClosed ends a message whose DM Discord refused with 50007,
	// reporting whether a fallback-channel ping was queued instead.
	MarkDMClosed(ctx context.Context, id int64) (fallback bool, err error)
}

// sender delivers the outbox: it wakes on a poke or a short tick, sends
// each due message, and records the result in the store.
type sender struct {
	store   outboxStore
	session *discordgo.Session
	loc     *time.Location
	logger  *slog.Logger
	now     func() time.Time
	poll    time.Duration
	wake    chan struct{}
	metrics *metrics
	roles   *roleChecker // checks offers to role-based referrers (roles.go); nil = no check
	writes  *writeGate   // paused while the database cannot be written; nil = never

	selfID atomic.Value // string: the bot's own user id, from Ready

	mu        sync.Mutex
	dmChannel map[string]string // user id -> DM channel id
}

func newSender(store outboxStore, s *discordgo.Session, loc *time.Location, logger *slog.Logger, now func() time.Time, m *metrics) *sender {
	return &sender{store: store, session: s, loc: loc, logger: logger, now: now, poll: time.Second, metrics: m,
		wake: make(chan struct{}, 1), dmChannel: map[string]string{}}
}

// poke asks the sender to look at the outbox now.
func (o *sender) poke() { pokeChan(o.wake) }

// pokeChan wakes whoever waits on wake (capacity 1) without blocking: one
// pending wake-up covers any number of pokes.
func pokeChan(wake chan struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}

func (o *sender) run(ctx context.Context) {
	t := time.NewTicker(o.poll)
	defer t.Stop()
	for {
		o.drain(ctx)
		select {
		case <-ctx.Done():
			return
		case <-o.wake:
		case <-t.C:
		}
	}
}

// drain sends everything due, in order. While the database cannot be
// written it sends nothing: a message whose delivery cannot be recorded
// would be sent again later. The write gate pokes it when writes work again.
func (o *sender) drain(ctx context.Context) {
	for ctx.Err() == nil && !o.paused() {
		due, err := o.store.DueOutbox(ctx, o.now(), 50)
		if err != nil {
			if ctx.Err() == nil { // a shutdown is not a failure
				o.logger.Error("outbox read failed", "err", err)
			}
			return
		}
		if len(due) == 0 {
			return
		}
		for _, m := range due {
			if ctx.Err() != nil || o.paused() {
				return
			}
			o.deliver(ctx, m)
		}
	}
}

func (o *sender) paused() bool { return o.writes != nil && o.writes.paused() != nil }

func (o *sender) deliver(ctx context.Context, m storage.OutboxMessage) {
	log := o.logger.With("outbox_id", m.ID, "kind", m.Outgoing.Notice.Kind, "attempt", m.Attempts+1)
	if !o.screen(ctx, m, log) {
		return
	}
	msg, err := commands.RenderNotice(m.Outgoing.Notice, o.loc)
	if err != nil {
		log.Error("render failed; kept as undeliverable", "err", err)
		o.record(ctx, log, o.store.MarkUndeliverable(ctx, m.ID, "render: "+err.Error()))
		return
	}
	channelID := m.Outgoing.ChannelID
	if m.Outgoing.UserID != "" {
		channelID, err = o.dm(m.Outgoing.UserID)
	}
	var sentID string
	if err == nil {
		sentID, err = o.post(channelID, msg, m, log)
	}
	// The message may be out whatever happens to ctx now: record it even
	// when the bot is shutting down, or the next start sends it again.
	running := ctx
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var rest *discordgo.RESTError
	var limited *discordgo.RateLimitError
	switch {
	case errors.As(err, &limited):
		// Nothing was done, so nothing is recorded: the message stays due
		// with the same nonce and no attempt counted, however long the
		// limit lasts. The sender is serial, so waiting here holds every
		// message back, as a global limit needs.
		wait := max(limited.RetryAfter, minRateLimitWait)
		log.Info("rate limited by discord; the outbox waits", "retry_after", wait)
		sleep(running, wait)
	case err == nil:
		o.metrics.sent.Inc()
		o.record(ctx, log, o.store.MarkSent(ctx, m.ID, sentID))
		log.Debug("delivered")
	case errors.As(err, &rest) && rest.Message != nil && rest.Message.Code == discordgo.ErrCodeCannotSendMessagesToThisUser:
		// DMs closed: final for this message; ping the user in the fallback channel instead.
		fallback, ferr := o.store.MarkDMClosed(ctx, m.ID)
		o.record(ctx, log, ferr)
		if !fallback {
			o.metrics.undeliverable.Inc()
		}
		log.Warn("user's DMs are closed", "fallback_posted", fallback)
		o.poke()
	case errors.As(err, &rest) && rest.Response != nil && rest.Response.StatusCode < 500 && rest.Response.StatusCode != http.StatusTooManyRequests:
		o.metrics.undeliverable.Inc()
		log.Error("discord refused the message; kept as undeliverable", "status", rest.Response.StatusCode, "err", err)
		o.record(ctx, log, o.store.MarkUndeliverable(ctx, m.ID, err.Error()))
	case m.Attempts+1 >= maxSendAttempts:
		o.metrics.undeliverable.Inc()
		log.Error("giving up after repeated failures; kept as undeliverable", "err", err)
		o.record(ctx, log, o.store.MarkUndeliverable(ctx, m.ID, err.Error()))
	default:
		next := o.now().Add(backoff(m.Attempts))
		o.metrics.retries.Inc()
		log.Warn("send failed; will retry", "err", err, "next", next)
		o.record(ctx, log, o.store.MarkRetry(ctx, m.ID, next, err.Error()))
	}
}

// minRateLimitWait keeps a 429 that names no wait from spinning.
const minRateLimitWait = 100 * time.Millisecond

// outboxCall makes the outbox's REST calls hand 429s back instead of
// sleeping inside discordgo, so the sender decides: it waits with ctx
// (a shutdown does not sit out a long limit) and counts no failure.
var outboxCall = discordgo.WithRetryOnRatelimit(false)

func (o *sender) record(ctx context.Context, log *slog.Logger, err error) {
	switch {
	case err == nil || ctx.Err() != nil:
	case errors.Is(err, referral.ErrUnavailable):
		// The write gate has logged why and paused the sender; the message
		// stays due and goes out (with the same nonce) once writes work.
		log.Debug("outbox update refused by the database", "err", err)
	default:
		log.Error("outbox update failed", "err", err)
	}
}

// backoff is exponential from one second, with jitter so that many failed
// messages do not retry in lockstep, capped at three minutes. An attempt
// that Discord did post although its answer was lost (a timeout, a 5xx
// from a proxy) is recognised by the next one through its nonce, or, past
// the minutes Discord matches nonces for, by post's look at the channel.
func backoff(attempts int) time.Duration {
	d := time.Second << min(attempts, 10)
	if d > 3*time.Minute {
		d = 3 * time.Minute
	}
	return d/2 + rand.N(d/2+1)
}

// outboxNonce names one outbox row to Discord: the same on every attempt,
// so with enforce_nonce a resend after a crash returns the message already
// posted. The row's creation time keeps it unique when row ids come round
// again, as after restoring a backup. At most 24 characters (Discord: 25).
func outboxNonce(m storage.OutboxMessage) string {
	return "ob" + strconv.FormatInt(m.ID, 36) + "." + strconv.FormatInt(m.CreatedAt.UnixMilli(), 36)
}

// nonceTrustedFor is how long after a row was made a resend may rely on
// enforce_nonce alone. Discord matches a nonce for "a few minutes"; two
// leaves a margin.
const nonceTrustedFor = 2 * time.Minute

// Looking for an earlier attempt reads at most historyPages pages of the
// channel, newest first, and stops at messages older than the row (less
// clockSkew, for the host's clock against Discord's).
const (
	historyPageSize = 50
	historyPages    = 4
	clockSkew       = time.Minute
)

// post delivers one message and returns its Discord id. The outbox records
// an attempt only with its outcome (attempts, last_error, next_attempt_at
// move together in MarkSent, MarkRetry, MarkUndeliverable), so an attempt
// cut short by a crash or a lost answer leaves no trace, and the row's
// creation is the earliest its first attempt can have been. A row older
// than nonceTrustedFor may have been posted outside the nonce window: it
// first looks for its nonce in the channel and, when found, takes that
// message instead of posting again.
func (o *sender) post(channelID string, msg *discordgo.MessageSend, m storage.OutboxMessage, log *slog.Logger) (string, error) {
	nonce := outboxNonce(m)
	if o.now().Sub(m.CreatedAt) > nonceTrustedFor {
		id, err := o.findPosted(channelID, nonce, m.CreatedAt)
		if err != nil {
			return "", fmt.Errorf("look for an earlier attempt: %w", err)
		}
		if id != "" {
			log.Info("already posted by an earlier attempt; recorded, not posted again", "message_id", id)
			return id, nil
		}
	}
	sent, err := o.send(channelID, msg, nonce)
	if err != nil {
		return "", err
	}
	return sent.ID, nil
}

// postedMessage is what findPosted reads of a message in the history;
// discordgo's Message has no nonce.
type postedMessage struct {
	ID        string          `json:"id"`
	Nonce     json.RawMessage `json:"nonce"` // a string or an integer
	Timestamp time.Time       `json:"timestamp"`
	Author    struct {
		ID  string `json:"id"`
		Bot bool   `json:"bot"`
	} `json:"author"`
}

// findPosted returns the id of the bot's own message in the channel that
// carries nonce, or "" when there is none among those since the row was
// made.
func (o *sender) findPosted(channelID, nonce string, since time.Time) (string, error) {
	self, _ := o.selfID.Load().(string)
	endpoint := discordgo.EndpointChannelMessages(channelID)
	before := ""
	for range historyPages {
		q := url.Values{"limit": {strconv.Itoa(historyPageSize)}}
		if before != "" {
			q.Set("before", before)
		}
		resp, err := o.session.RequestWithBucketID(http.MethodGet, endpoint+"?"+q.Encode(), nil, endpoint, outboxCall)
		if err != nil {
			return "", err
		}
		var page []postedMessage
		if err := json.Unmarshal(resp, &page); err != nil {
			return "", fmt.Errorf("decode channel messages: %w", err)
		}
		for _, p := range page {
			var got string
			if json.Unmarshal(p.Nonce, &got) != nil {
				continue // an integer nonce is never ours
			}
			if got == nonce && p.Author.Bot && (self == "" || p.Author.ID == self) {
				return p.ID, nil
			}
		}
		if len(page) < historyPageSize || page[len(page)-1].Timestamp.Before(since.Add(-clockSkew)) {
			return "", nil
		}
		before = page[len(page)-1].ID
	}
	return "", nil
}

func (o *sender) dm(userID string) (string, error) {
	o.mu.Lock()
	id, ok := o.dmChannel[userID]
	o.mu.Unlock()
	if ok {
		return id, nil
	}
	ch, err := o.session.UserChannelCreate(userID, outboxCall)
	if err != nil {
		return "", fmt.Errorf("open dm: %w", err)
	}
	o.mu.Lock()
	o.dmChannel[userID] = ch.ID
	o.mu.Unlock()
	return ch.ID, nil
}

// messageWithNonce adds the nonce fields discordgo's MessageSend lacks:
// with enforce_nonce, a resend after a crash between sending and recording
// returns the first message instead of posting a second.
type messageWithNonce struct {
	*discordgo.MessageSend
	Nonce        string `json:"nonce"`
	EnforceNonce bool   `json:"enforce_nonce"`
}

func (o *sender) send(channelID string, msg *discordgo.MessageSend, nonce string) (*discordgo.Message, error) {
	endpoint := discordgo.EndpointChannelMessages(channelID)
	body := messageWithNonce{MessageSend: msg, Nonce: nonce, EnforceNonce: true}
	var resp []byte
	var err error
	if len(msg.Files) > 0 {
		contentType, data, merr := discordgo.MultipartBodyWithJSON(body, msg.Files)
		if merr != nil {
			return nil, merr
		}
		resp, err = o.session.RequestRaw(http.MethodPost, endpoint, contentType, data, endpoint, 0, outboxCall)
	} else {
		resp, err = o.session.RequestWithBucketID(http.MethodPost, endpoint, body, endpoint, outboxCall)
	}
	if err != nil {
		return nil, err
	}
	var m discordgo.Message
	if err := json.Unmarshal(resp, &m); err != nil {
		return nil, fmt.Errorf("decode sent message: %w", err)
	}
	return &m, nil
}
