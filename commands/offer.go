package commands

import (
	"context"
	"fmt"

	"github.com/bwmarrin/discordgo"
)

// offerAccept is the Accept button of an offer DM.
func (r *Router) offerAccept(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	if r.AcceptCheck != nil {
		ok, err := r.AcceptCheck.MayAccept(ctx, c.id.ID, c.userID)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, refusal("You no longer hold the referrer role for this server, so I can't pass you this request; it goes to the next referrer. " +
				"If that's a mistake, ask a server admin to give the role back, then run /referrer profile.")
		}
	}
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
