package commands

import (
	"context"
	"fmt"

	"github.com/bwmarrin/discordgo"
)

// offerAccept is the Accept button of an offer DM.
func (r *Router) offerAccept(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	ans, err := r.Store.AnswerOffer(ctx, c.id.ID, c.userID, true)
	if err != nil {
		return nil, err
	}
	req := ans.Request
	msg := fmt.Sprintf("You accepted. Thank you! %s has been told you'll refer them.\n"+
		"Next: submit them in your company's internal referral tool with the job link and resume below, then press **Referral submitted** so they know it's in.",
		mention(req.StudentID))
	return update(c.i, msg, row(button("Referral submitted", reqSubmitted.with(req.ID), discordgo.SuccessButton))), nil
}

// offerDecline is the Decline button of an offer DM.
func (r *Router) offerDecline(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	if _, err := r.Store.AnswerOffer(ctx, c.id.ID, c.userID, false); err != nil {
		return nil, err
	}
	return update(c.i, "You declined; no problem at all. The request goes to another referrer, and the student isn't told who declined."), nil
}

// referralSubmitted is the Referral submitted button.
func (r *Router) referralSubmitted(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	req, err := r.Store.MarkSubmitted(ctx, c.id.ID, c.userID)
	if err != nil {
		return nil, err
	}
	when := r.now()
	if !req.SubmittedAt.IsZero() {
		when = req.SubmittedAt
	}
	msg := fmt.Sprintf("Referral submitted on %s. Thank you! %s is told, I'll check in with them in the coming weeks, and you'll hear how it went.",
		day(when, r.location()), mention(req.StudentID))
	return update(c.i, msg, row(disabled(button("Referral submitted", reqSubmitted.with(req.ID), discordgo.SuccessButton)))), nil
}
