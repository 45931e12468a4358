package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

const movedOn = "Thank you, but this request has moved on (it timed out, was withdrawn or closed), so there's nothing to do. Nothing changed."

// offerAccept is the Accept button of an offer DM.
func (r *Router) offerAccept(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	ans, err := r.Store.AnswerOffer(ctx, c.id.ID, c.userID, true)
	if err != nil {
		return nil, offerRefusal(err)
	}
	req := ans.Request
	msg := fmt.Sprintf("You accepted. Thank you! %s has been told you'll refer them.\n"+
		"Next: submit them in your company's internal referral tool with the job link and resume below, then press **Referral submitted** so they know it's in.",
		mention(req.StudentID))
	return update(c.i, msg, row(button("Referral submitted", submittedID(req.ID), discordgo.SuccessButton))), nil
}

// offerDecline is the Decline button of an offer DM.
func (r *Router) offerDecline(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	if _, err := r.Store.AnswerOffer(ctx, c.id.ID, c.userID, false); err != nil {
		return nil, offerRefusal(err)
	}
	return update(c.i, "You declined; no problem at all. The request goes to another referrer, and the student isn't told who declined."), nil
}

// referralSubmitted is the Referral submitted button.
func (r *Router) referralSubmitted(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	req, err := r.Store.MarkSubmitted(ctx, c.id.ID, c.userID)
	if errors.Is(err, referral.ErrAlreadyDone) {
		return nil, refusal("Already done: this referral is marked as submitted.")
	}
	if err != nil {
		return nil, offerRefusal(err)
	}
	when := r.now()
	if !req.SubmittedAt.IsZero() {
		when = req.SubmittedAt
	}
	msg := fmt.Sprintf("Referral submitted on %s. Thank you! %s is told, I'll check in with them in the coming weeks, and you'll hear how it went.",
		day(when, r.location()), mention(req.StudentID))
	return update(c.i, msg, row(disabled(button("Referral submitted", submittedID(req.ID), discordgo.SuccessButton)))), nil
}

// offerRefusal words the refusals of the referrer's buttons.
func offerRefusal(err error) error {
	switch {
	case errors.Is(err, referral.ErrNotYours):
		return refusal("This was sent to another referrer, so only they can answer it. Nothing changed.")
	case errors.Is(err, referral.ErrMovedOn), errors.Is(err, referral.ErrNotFound),
		errors.Is(err, referral.ErrWrongState), errors.As(err, new(referral.ErrTransition)):
		return refusal(movedOn)
	case errors.Is(err, referral.ErrAlreadyDone):
		return refusal("Already done: you answered this before. Nothing changed.")
	}
	return err
}
