package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/referralbot/referralbot/config"
	"github.com/referralbot/referralbot/discordtest"
)

// Every timed step of PRODUCT.md "Lifecycle and timing", driven by the fake
// clock: just before its due time a step has not run (h.settle sweeps and
// drains the outbox), just after it the cron sweep runs it, and later sweeps
// never run it again.

const (
	offerText     = "is asking you for a referral"
	movedOnText   = "has moved on"
	acceptedText  = "agreed to refer you"
	submittedText = "has submitted your referral"
	reminderText  = "friendly reminder"
	followUpText  = "Did you hear back"
	expiredText   = "has expired"
	pauseOverText = "Your pause is over"
	beingAsked    = "is being asked about your request"
	amazonJob     = "https://www.amazon.jobs/en/jobs/2840123/sde-intern"
)

var followUpLabels = []string{"Recruiter screen", "Interviewing", "Offer", "Rejected", "No news yet"}

// acceptedRequest sets the server up with alice as the only Amazon
// referrer, has sam request a referral there and alice accept it. It returns
// alice's offer DM as updated by the Accept press (it carries "Referral
// submitted").
func acceptedRequest(t *testing.T, h *harness) *discordtest.Message {
	t.Helper()
	h.adminSetup(false)
	h.joinReferrer(alice, "Amazon")
	h.submitRequest(sam, "Amazon", amazonJob)
	offer := h.waitDMButton(alice, "Accept")
	resp := h.press(alice, offer, "Accept")
	if !hasEnabledButton(resp.Message(), "Referral submitted") {
		t.Fatalf("Accept answered %q; want the offer updated with a Referral submitted button", resp.Text())
	}
	h.waitDM(sam, acceptedText)
	return resp.Message()
}

// submittedRequest is acceptedRequest followed by alice pressing Referral
// submitted.
func submittedRequest(t *testing.T, h *harness) {
	t.Helper()
	m := acceptedRequest(t, h)
	h.press(alice, m, "Referral submitted")
	h.waitDM(sam, submittedText)
}

func wantDMCount(t *testing.T, h *harness, user, text string, want int) {
	t.Helper()
	if n := h.countSentDMs(user, text); n != want {
		t.Errorf("%d DMs sent to %s containing %q; want %d\nDMs as sent:\n%s", n, user, text, want, dmDump(h.sentDMs(user)))
	}
}

func wantFollowUpButtons(t *testing.T, m *discordtest.Message) {
	t.Helper()
	var labels []string
	for _, b := range m.Buttons() {
		if !b.Disabled {
			labels = append(labels, b.Label)
		}
	}
	if strings.Join(labels, "|") != strings.Join(followUpLabels, "|") {
		t.Errorf("follow-up buttons = %q; want %q", labels, followUpLabels)
	}
}

func TestStepsOfferTimeoutAsksNextReferrerAndLateAcceptMovesOn(t *testing.T) {
	t.Parallel()
	h := startBot(t, func(c *config.Config) { c.Referrals.OfferTimeout = config.Duration(time.Hour) })
	h.adminSetup(false)
	h.joinReferrer(alice, "Amazon")
	h.submitRequest(sam, "Amazon", amazonJob)
	first := h.waitDMButton(alice, "Accept")
	if !strings.Contains(first.Text(), "moves on by itself") {
		t.Errorf("offer DM %q does not say when it moves on without an answer", first.Text())
	}
	// bob joins once the request is with alice: he is next in line.
	h.joinReferrer(bob, "Amazon")

	h.clock.Advance(59 * time.Minute)
	h.settle()
	wantDMCount(t, h, bob, offerText, 0)
	wantDMCount(t, h, alice, movedOnText, 0)

	h.clock.Advance(2 * time.Minute)
	second := h.waitDMButton(bob, "Accept") // by the cron sweep
	h.waitDM(alice, movedOnText)

	late := h.press(alice, first, "Accept")
	if !late.Ephemeral || !strings.Contains(late.Text(), "moved on") {
		t.Errorf("alice's late Accept answered %q (ephemeral %v); want an ephemeral \"moved on\"", late.Text(), late.Ephemeral)
	}
	// Nothing changed: the request is still bob's to answer.
	h.press(bob, second, "Accept")
	told := h.waitDM(sam, acceptedText)
	if !strings.Contains(told.Content, "<@"+bob+">") {
		t.Errorf("sam was told %q; want bob named as the referrer", told.Content)
	}

	h.clock.Advance(3 * time.Hour)
	h.settle()
	wantDMCount(t, h, bob, offerText, 1)
	wantDMCount(t, h, alice, offerText, 1)
	wantDMCount(t, h, alice, movedOnText, 1)
	wantDMCount(t, h, sam, acceptedText, 1)
}

func TestStepsReferrerReminderOnceWithSubmittedButton(t *testing.T) {
	t.Parallel()
	h := startBot(t, func(c *config.Config) { c.Referrals.ReferrerReminder = config.Duration(24 * time.Hour) })
	acceptedRequest(t, h)

	h.clock.Advance(23 * time.Hour)
	h.settle()
	wantDMCount(t, h, alice, reminderText, 0)

	h.clock.Advance(2 * time.Hour)
	reminder := h.waitDM(alice, reminderText)
	if !hasEnabledButton(reminder, "Referral submitted") {
		t.Fatalf("reminder %q has no Referral submitted button", reminder.Text())
	}
	if !strings.Contains(reminder.Text(), amazonJob) {
		t.Errorf("reminder %q lacks the job link the referrer needs to submit", reminder.Text())
	}
	h.clock.Advance(72 * time.Hour)
	h.settle()
	wantDMCount(t, h, alice, reminderText, 1)

	h.press(alice, reminder, "Referral submitted")
	h.waitDM(sam, submittedText)
}

func TestStepsNudgesFollowUpUntilFinalOutcome(t *testing.T) {
	t.Parallel()
	h := startBot(t, func(c *config.Config) {
		c.Referrals.Nudges = []config.Duration{config.Duration(24 * time.Hour), config.Duration(48 * time.Hour), config.Duration(72 * time.Hour)}
	})
	submittedRequest(t, h)

	h.clock.Advance(23 * time.Hour)
	h.settle()
	wantDMCount(t, h, sam, followUpText, 0)

	h.clock.Advance(2 * time.Hour)
	first := h.waitDM(sam, "Check-in 1 of 3")
	wantFollowUpButtons(t, first)
	noNews := h.press(sam, first, "No news yet")
	if !strings.Contains(noNews.Text(), "check in again") {
		t.Errorf("No news yet answered %q; want the next check-in announced", noNews.Text())
	}

	h.clock.Advance(24 * time.Hour) // submitted + 49h: follow-up 2 is due
	second := h.waitDM(sam, "Check-in 2 of 3")
	wantFollowUpButtons(t, second)
	h.press(sam, second, "Offer")
	h.waitDM(alice, "got an **offer**")

	h.clock.Advance(48 * time.Hour) // past follow-up 3
	h.settle()
	wantDMCount(t, h, sam, "Check-in 1 of 3", 1)
	wantDMCount(t, h, sam, "Check-in 2 of 3", 1)
	wantDMCount(t, h, sam, "Check-in 3 of 3", 0)
	wantDMCount(t, h, alice, "got an **offer**", 1)
}

func TestStepsRejectedKeepMeInMindAsksReferrerOnce(t *testing.T) {
	t.Parallel()
	h := startBot(t, func(c *config.Config) { c.Referrals.Nudges = []config.Duration{config.Duration(24 * time.Hour)} })
	submittedRequest(t, h)
	h.clock.Advance(25 * time.Hour)
	followUp := h.waitDM(sam, followUpText)
	rejected := h.press(sam, followUp, "Rejected")
	h.waitDM(alice, "not selected this time")
	m := rejected.Message()
	if !hasEnabledButton(m, "Keep me in mind") {
		t.Fatalf("after Rejected the follow-up reads %q; want a Keep me in mind button", m.Text())
	}

	// Two presses before the bot's answers arrive (held by the fake), as a
	// double click does: the referrer is asked once, the other press is
	// told it was already done.
	h.dc.Delay("POST", "/interactions/*/*/callback", 500*time.Millisecond)
	ctx := h.ctx()
	var texts []string
	var ins []*discordtest.Interaction
	for range 2 {
		in, err := h.dc.PressButton(ctx, discordtest.Press{UserID: sam, Message: m, Label: "Keep me in mind"})
		if err != nil {
			t.Fatalf("press Keep me in mind: %v", err)
		}
		ins = append(ins, in)
	}
	for _, in := range ins {
		resp, err := in.Answer(ctx)
		if err != nil {
			t.Fatalf("Keep me in mind: no response: %v", err)
		}
		texts = append(texts, resp.Text())
	}
	h.dc.Delay("POST", "/interactions/*/*/callback", 0)
	done, already := 0, 0
	for _, s := range texts {
		switch {
		case strings.Contains(s, "Already done"):
			already++
		case strings.Contains(s, "asked your referrer"):
			done++
		}
	}
	if done != 1 || already != 1 {
		t.Errorf("two Keep me in mind presses answered %q; want one done and one \"Already done\"", texts)
	}
	h.waitDM(alice, "keep them in mind")
	h.settle()
	wantDMCount(t, h, alice, "keep them in mind", 1)
}

func TestStepsRequestTTLExpiresAndPointsToApplyingDirectly(t *testing.T) {
	t.Parallel()
	h := startBot(t, func(c *config.Config) { c.Referrals.RequestTTL = config.Duration(48 * time.Hour) })
	h.adminSetup(false)
	h.joinReferrer(alice, "Amazon")
	reply := h.submitRequest(sam, "Stripe", "https://stripe.com/jobs/listing/new-grad/5000001")
	if !strings.Contains(reply.Text(), "waiting") {
		t.Fatalf("request with no Stripe referrer answered %q; want it waiting", reply.Text())
	}

	h.clock.Advance(47 * time.Hour)
	h.settle()
	wantDMCount(t, h, sam, expiredText, 0)

	h.clock.Advance(2 * time.Hour)
	m := h.waitDM(sam, expiredText)
	if !strings.Contains(m.Text(), "apply directly") {
		t.Errorf("expiry DM %q does not point to applying directly", m.Text())
	}
	h.clock.Advance(72 * time.Hour)
	h.settle()
	wantDMCount(t, h, sam, expiredText, 1)
	if st := h.run(sam, "referral", "status"); !strings.Contains(st.Text(), "expired") {
		t.Errorf("/referral status = %q; want the request expired", st.Text())
	}
}

func TestStepsPauseDaysEndsAndOffersResume(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil)
	h.adminSetup(false)
	h.joinReferrer(alice, "Amazon")
	h.run(alice, "referrer", "pause", opt("days", 1))
	reply := h.submitRequest(sam, "Amazon", amazonJob)
	if !strings.Contains(reply.Text(), "waiting") {
		t.Fatalf("request while the only referrer is paused answered %q; want it waiting", reply.Text())
	}

	h.clock.Advance(23 * time.Hour)
	h.settle()
	wantDMCount(t, h, alice, pauseOverText, 0)
	wantDMCount(t, h, alice, offerText, 0)

	h.clock.Advance(2 * time.Hour)
	h.waitDM(alice, pauseOverText)
	h.waitDMButton(alice, "Accept") // the waiting request, offered at once
	h.waitDM(sam, beingAsked)       // "I'll DM you as soon as one is asked"
	h.clock.Advance(24 * time.Hour)
	h.settle()
	wantDMCount(t, h, alice, pauseOverText, 1)
	wantDMCount(t, h, alice, offerText, 1)
	if p := h.run(alice, "referrer", "profile"); !strings.Contains(p.Text(), "Status: active") {
		t.Errorf("/referrer profile after the pause = %q; want \"Status: active\"", p.Text())
	}
}

func TestStepsDueDuringDowntimeRunOnceAfterRestart(t *testing.T) {
	t.Parallel()
	h := startBot(t, func(c *config.Config) {
		c.Referrals.Nudges = []config.Duration{config.Duration(24 * time.Hour), config.Duration(48 * time.Hour)}
	})
	submittedRequest(t, h)

	h.stop()
	h.clock.Advance(25 * time.Hour) // follow-up 1 falls due while the bot is down
	h.start()
	h.waitDM(sam, "Check-in 1 of 2")
	h.settle()
	h.restart()
	h.settle()
	wantDMCount(t, h, sam, "Check-in 1 of 2", 1)
	wantDMCount(t, h, sam, "Check-in 2 of 2", 0)
}

// The sweeper re-matches waiting requests when a referrer becomes free with
// no event to say so: an offer on another request ended, or an accepted
// referral left the 30-day capacity window.
func TestStepsSweepRematchesWaitingRequestsWhenCapacityFrees(t *testing.T) {
	t.Parallel()
	h := startBot(t, func(c *config.Config) { c.Referrals.RequestTTL = config.Duration(90 * 24 * time.Hour) })
	h.adminSetup(false)
	h.joinReferrer(alice, "Amazon", opt("capacity", 1))
	h.submitRequest(sam, "Amazon", amazonJob)
	samOffer := h.waitDMButton(alice, "Accept")
	// alice's one slot is taken by the pending offer: tia waits.
	if r := h.submitRequest(tia, "Amazon", "https://www.amazon.jobs/en/jobs/2840999/sde"); !strings.Contains(r.Text(), "waiting") {
		t.Fatalf("second request answered %q; want it waiting", r.Text())
	}
	// alice declines sam: sam's request waits (she was asked), and her
	// slot is free for tia's, which sits behind sam's in the queue.
	h.press(alice, samOffer, "Decline")
	tiaOffer, err := h.dc.WaitDM(h.ctx(), alice, func(m *discordtest.Message) bool {
		return strings.Contains(m.Content, "<@"+tia+">") && hasEnabledButton(m, "Accept")
	})
	if err != nil {
		t.Fatalf("tia's waiting request was not offered to alice once her slot freed: %v", err)
	}
	h.waitDM(tia, beingAsked)
	h.press(alice, tiaOffer, "Accept")

	// Her slot is now used for 30 days; sam asks again for another job.
	if r := h.submitRequest(sam, "Amazon", "https://www.amazon.jobs/en/jobs/2841000/sde-ii"); !strings.Contains(r.Text(), "waiting") {
		t.Fatalf("request while alice is at capacity answered %q; want it waiting", r.Text())
	}
	h.clock.Advance(29 * 24 * time.Hour)
	h.settle()
	wantDMCount(t, h, alice, offerText, 2)

	h.clock.Advance(2 * 24 * time.Hour)
	eventually(t, "sam's new request offered to alice once her capacity left the window", func() bool {
		return h.countSentDMs(alice, offerText) == 3
	})
	h.waitDM(sam, beingAsked)
}
