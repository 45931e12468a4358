package bot_test

import (
	"bytes"
	"fmt"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/referralbot/referralbot/config"
	"github.com/referralbot/referralbot/discordtest"
)

// The weekly digest end to end: the real bot, cron and outbox against the
// fake Discord, with the fake clock moving days ahead. That nothing more is
// posted is checked by running the digest job explicitly, as cron does.

// moveTo moves the bot's clock forward to the next weekday at hh:mm in
// the bot's time zone, and returns that time.
func (h *harness) moveTo(wd time.Weekday, hh, mm int) time.Time {
	h.t.Helper()
	loc := h.cfg.Location()
	now := h.clock.Now().In(loc)
	t := time.Date(now.Year(), now.Month(), now.Day(), hh, mm, 0, 0, loc)
	for t.Weekday() != wd || !t.After(now.Add(time.Minute)) {
		t = time.Date(t.Year(), t.Month(), t.Day()+1, hh, mm, 0, 0, loc)
	}
	h.clock.Advance(t.Sub(now))
	return t
}

// digests lists the messages in the digest channel.
func (h *harness) digests() []*discordtest.Message {
	return h.dc.ChannelMessages(digestID)
}

// waitDigests waits until the digest channel has n messages.
func (h *harness) waitDigests(n int) []*discordtest.Message {
	h.t.Helper()
	eventually(h.t, fmt.Sprintf("%d digests", n), func() bool { return len(h.digests()) >= n })
	got := h.digests()
	if len(got) != n {
		h.t.Fatalf("digest channel has %d messages; want %d:\n%s", len(got), n, dmDump(got))
	}
	return got
}

// stillDigests runs the digest job once more, as cron fires it, waits
// until the outbox has delivered whatever it (or an earlier firing, or the
// bot's start) queued, and checks the digest channel still has n messages.
func (h *harness) stillDigests(n int, why string) {
	h.t.Helper()
	h.bot.DigestNow(h.ctx())
	h.drained()
	if got := h.digests(); len(got) != n {
		h.t.Fatalf("%s: digest channel has %d messages; want %d:\n%s", why, len(got), n, dmDump(got))
	}
}

func (h *harness) setupDigest() {
	h.t.Helper()
	resp := h.run(admin, "referral-admin", "setup", opt("digest_channel", digestID), opt("referrer_role", refRoleID))
	if !resp.Ephemeral || !strings.Contains(resp.Text(), "Saved") {
		h.t.Fatalf("/referral-admin setup = %q; want an ephemeral confirmation", resp.Text())
	}
}

func digestWeek(m *discordtest.Message) string {
	for _, e := range m.Embeds {
		// The title names the seven days to the post, e.g. "the 7 days
		// to Mon 7 Dec 2026, 09:00 EST"; the week is that day's.
		if _, rest, ok := strings.Cut(e.Title, "the 7 days to "); ok {
			end, err := time.Parse("Mon 2 Jan 2006, 15:04 MST", rest)
			if err != nil {
				return ""
			}
			return weekKey(end)
		}
	}
	return ""
}

func newYork(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	return loc
}

// With a cron firing every second, each week gets one digest; setting up
// mid-week posts nothing that week.
func TestDigestOncePerWeekUnderCronEverySecond(t *testing.T) {
	t.Parallel()
	newYork(t) // skips without time zone data
	h := startBot(t, func(c *config.Config) {
		c.Schedule.Digest = "@every 1s" // a descriptor ParseStandard and cron both accept
		c.Timezone = "America/New_York"
	})
	h.moveTo(time.Wednesday, 12, 0)
	h.setupDigest()
	h.stillDigests(0, "after setup on a Wednesday")

	h.clock.Advance(7 * 24 * time.Hour)
	first := h.waitDigests(1)
	h.stillDigests(1, "later firings in the same week")

	h.clock.Advance(7 * 24 * time.Hour)
	both := h.waitDigests(2)
	h.stillDigests(2, "later firings in the next week")
	if w1, w2 := digestWeek(first[0]), digestWeek(both[1]); w1 == "" || w1 == w2 {
		t.Errorf("the digests are for weeks %q and %q; want two different weeks", w1, w2)
	}
}

// A digest missed while the bot was down is posted when it starts, once,
// and only after the scheduled time in the configured time zone.
func TestDigestCatchUpAfterMissedWeek(t *testing.T) {
	t.Parallel()
	ny := newYork(t)
	h := startBot(t, func(c *config.Config) {
		c.Schedule.Digest = "0 9 * * MON" // Mondays 09:00 in New York, 14:00 UTC
		c.Timezone = "America/New_York"
	})
	h.moveTo(time.Wednesday, 12, 0)
	h.setupDigest()
	h.stop()

	// Monday 08:30 in New York is past 09:00 UTC but not yet time.
	h.moveTo(time.Monday, 8, 30)
	h.start()
	h.stillDigests(0, "started before the scheduled time")
	h.stop()

	h.clock.Advance(time.Hour) // 09:30 New York: the week's digest is due
	h.start()
	got := h.waitDigests(1)
	if want := h.clock.Now().In(ny); digestWeek(got[0]) != weekKey(want) {
		t.Errorf("catch-up digest is for week %q; want %s", digestWeek(got[0]), weekKey(want))
	}
	h.restart()
	h.stillDigests(1, "after another restart in the same week")

	// Down for two scheduled times: one digest, for the current week.
	h.stop()
	h.clock.Advance(15 * 24 * time.Hour)
	h.start()
	h.waitDigests(2)
	h.stillDigests(2, "after a catch-up of two missed weeks")
}

func weekKey(t time.Time) string {
	y, w := t.ISOWeek()
	return fmt.Sprintf("%d-W%02d", y, w)
}

// /referral-admin digest-now always posts and is the week's digest: the
// scheduled one then posts nothing that week.
func TestDigestNowCountsAsTheWeeksDigest(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil) // Mondays 09:00 UTC
	h.moveTo(time.Wednesday, 12, 0)
	h.setupDigest()

	resp := h.run(admin, "referral-admin", "digest-now")
	if !resp.Ephemeral || !strings.Contains(resp.Text(), "<#"+digestID+">") {
		t.Errorf("digest-now = %q; want an ephemeral reply naming the channel", resp.Text())
	}
	h.waitDigests(1) // even in the week of setup

	h.moveTo(time.Monday, 8, 0)
	h.run(admin, "referral-admin", "digest-now")
	h.waitDigests(2)
	h.clock.Advance(2 * time.Hour) // past 09:00
	h.restart()                    // the scheduled run at start: this week's is posted
	h.stillDigests(2, "scheduled digest after digest-now in the same week")

	h.clock.Advance(7 * 24 * time.Hour)
	h.restart()
	h.waitDigests(3)
}

// The digest pings no one, carries nothing private, shows the contract's
// numbers and the chart, and /referral-admin stats has the same numbers.
func TestDigestContentPingsNoOneAndAttachesChart(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil)
	h.setupDigest()
	join := h.run(alice, "referrer", "join", opt("companies", "Amazon"))
	if !join.Ephemeral {
		t.Fatalf("/referrer join reply not ephemeral: %q", join.Text())
	}

	const (
		intro  = "I'm a third-year computer science student at State University. I built a distributed cache in Go and interned at a fintech."
		note   = "The backend focus matches my internship on payment services."
		job    = "https://www.amazon.jobs/en/jobs/123456/sde-intern"
		resume = "https://drive.example.org/sam-resume.pdf"
	)
	modal := h.run(sam, "referral", "request", opt("company", "Amazon"))
	in, err := h.dc.SubmitModal(h.ctx(), discordtest.ModalSubmit{UserID: sam, Modal: modal, Values: map[string]string{
		"job_url": job, "role": "Software Development Engineer Intern", "intro": intro, "resume_url": resume, "note": note}})
	if err != nil {
		t.Fatalf("submit request: %v", err)
	}
	if _, err := in.Answer(h.ctx()); err != nil {
		t.Fatalf("submit request: %v", err)
	}
	offer := h.waitDM(alice, "Accept")
	h.press(alice, offer, "Accept")
	h.press(alice, offer, "Referral submitted")

	modal = h.run(tia, "referral", "request", opt("company", "Stripe")) // nobody refers there
	in, err = h.dc.SubmitModal(h.ctx(), discordtest.ModalSubmit{UserID: tia, Modal: modal, Values: map[string]string{
		"job_url": "https://stripe.com/jobs/listing/new-grad/5000001", "role": "New Grad Software Engineer",
		"intro":      "I'm graduating from State University in May with a CS degree and led our payments club's card integration project.",
		"resume_url": "https://drive.example.org/tia-resume.pdf"}})
	if err != nil {
		t.Fatalf("submit request: %v", err)
	}
	if _, err := in.Answer(h.ctx()); err != nil {
		t.Fatal(err)
	}

	h.clock.Advance(time.Minute)
	h.run(admin, "referral-admin", "digest-now")
	m := h.waitDigests(1)[0]
	text := m.Text()

	// Pings no one: allowed_mentions parse [] and no users or roles.
	am := m.AllowedMentions
	if am == nil || am.Parse == nil || len(am.Parse) != 0 || len(am.Users) != 0 || len(am.Roles) != 0 || am.RepliedUser {
		t.Errorf("digest allowed_mentions = %+v; want parse [] and nobody listed", am)
	}
	if !strings.Contains(text, "<@"+alice+">") {
		t.Errorf("digest does not thank alice by mention:\n%s", text)
	}
	// Nothing private.
	for _, private := range []string{intro[:40], note[:30], job, resume, "amazon.jobs", "drive.example.org", "stripe.com", "<@" + sam + ">", "<@" + tia + ">"} {
		if strings.Contains(text, private) || strings.Contains(m.Content, private) {
			t.Errorf("digest contains %q:\n%s", private, text)
		}
	}
	for _, want := range []string{"New requests: 2", "Matched: 1", "Referrals submitted: 1", "Recruiter screens: 0", "Interviews: 0", "Offers: 0",
		"Wanted: referrers at Stripe (1 waiting)", "Tip: ", "All time: 2 requests · 1 matched · 1 referral submitted"} {
		if !strings.Contains(text, want) {
			t.Errorf("digest lacks %q:\n%s", want, text)
		}
	}

	// The chart: one PNG attachment shown in the embed.
	if len(m.Files) != 1 {
		t.Fatalf("digest has %d files; want the chart", len(m.Files))
	}
	f := m.Files[0]
	if !strings.HasPrefix(f.Name, "digest-") || !strings.HasSuffix(f.Name, ".png") || f.ContentType != "image/png" {
		t.Errorf("chart file %q (%s); want digest-<week>.png, image/png", f.Name, f.ContentType)
	}
	img, err := png.Decode(bytes.NewReader(f.Data))
	if err != nil {
		t.Fatalf("chart is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 800 || b.Dy() != 400 {
		t.Errorf("chart is %dx%d; want 800x400", b.Dx(), b.Dy())
	}
	if len(m.Embeds) != 1 || m.Embeds[0].Image == nil || m.Embeds[0].Image.URL != "attachment://"+f.Name {
		t.Errorf("digest embed does not show the chart attachment: %+v", m.Embeds)
	}

	// Stats: the same numbers, ephemeral, with a row per company.
	stats := h.run(admin, "referral-admin", "stats")
	if !stats.Ephemeral {
		t.Errorf("/referral-admin stats is not ephemeral")
	}
	digestFields := fieldValues(m.Embeds[0])
	statsFields := fieldValues(stats.Message().Embeds[0])
	for _, label := range []string{"New requests", "Matched", "Referrals submitted", "Recruiter screens", "Interviews", "Offers", "All time"} {
		if digestFields[label] == "" || statsFields[label] != digestFields[label] {
			t.Errorf("%s: stats %q, digest %q; want the same", label, statsFields[label], digestFields[label])
		}
	}
	for _, row := range []string{"Amazon: 1 referrer ·", "Stripe: 0 referrers · 1 waiting"} {
		if !strings.Contains(stats.Text(), row) {
			t.Errorf("stats lacks the row %q:\n%s", row, stats.Text())
		}
	}
}

func fieldValues(e *discordgo.MessageEmbed) map[string]string {
	out := map[string]string{}
	for _, f := range e.Fields {
		out[f.Name] = f.Value
	}
	return out
}

// Set up mid-week, a server gets its first digest at the next firing of
// the schedule after setup, then none until the next week.
func TestDigestFirstFiringAfterMidWeekSetup(t *testing.T) {
	t.Parallel()
	t.Run("every second", func(t *testing.T) {
		t.Parallel()
		h := startBot(t, func(c *config.Config) { c.Schedule.Digest = "@every 1s" })
		h.moveTo(time.Wednesday, 15, 0)
		h.setupDigest()
		h.stillDigests(0, "setup itself")
		h.clock.Advance(2 * time.Second) // the next firing
		h.waitDigests(1)
		h.clock.Advance(3 * time.Hour)
		h.stillDigests(1, "later firings the same week")
		h.moveTo(time.Monday, 0, 0)
		h.clock.Advance(time.Second)
		h.waitDigests(2)
		h.stillDigests(2, "later firings of the next week")
	})
	t.Run("daily", func(t *testing.T) {
		t.Parallel()
		h := startBot(t, func(c *config.Config) { c.Schedule.Digest = "0 9 * * *" })
		h.moveTo(time.Wednesday, 10, 0)
		h.setupDigest()
		h.stillDigests(0, "setup after Wednesday's firing")
		h.moveTo(time.Thursday, 8, 59)
		h.stillDigests(0, "before Thursday's firing")
		h.clock.Advance(time.Minute)
		h.bot.DigestNow(h.ctx()) // the firing, as cron runs it
		got := h.waitDigests(1)
		if want := weekKey(h.clock.Now()); digestWeek(got[0]) != want {
			t.Errorf("first digest is for week %q; want %s", digestWeek(got[0]), want)
		}
		h.moveTo(time.Friday, 9, 0)
		h.stillDigests(1, "Friday's firing, same week")
		h.moveTo(time.Monday, 9, 0)
		h.bot.DigestNow(h.ctx())
		h.waitDigests(2)
	})
	t.Run("restart catches up only a firing after setup", func(t *testing.T) {
		t.Parallel()
		h := startBot(t, func(c *config.Config) { c.Schedule.Digest = "0 9 * * *" })
		h.moveTo(time.Wednesday, 10, 0)
		h.setupDigest()
		h.stop()
		h.clock.Advance(time.Hour) // Wednesday 11:00: the week's firings all came before setup
		h.start()
		h.stillDigests(0, "restart with no firing since setup")
		h.stop()
		h.moveTo(time.Thursday, 12, 0) // down at Thursday's 09:00 firing
		h.start()
		h.waitDigests(1)
		h.restart()
		h.stillDigests(1, "another restart the same week")
	})
}
