package bot

import (
	"context"
	"time"

	"github.com/referralbot/referralbot/storage"
)

// WithWriteProbe makes the write gate probe a database that cannot be
// written every d instead of backing off from a second to thirty.
func WithWriteProbe(d time.Duration) Option {
	return func(b *Bot) { b.writes.minProbe, b.writes.maxProbe = d, d }
}

// SimulateFullDisk makes the bot's database refuse every write that needs a
// new page, as on a full disk (full=false lifts it); see storage.Store.
func (b *Bot) SimulateFullDisk(ctx context.Context, full bool) error {
	return b.store.(*storage.Store).SimulateFullDisk(ctx, full)
}
