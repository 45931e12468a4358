package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

// withdrawCommand is /referral withdraw request:N.
func (r *Router) withdrawCommand(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	id, err := c.opts.requestNumber()
	if err != nil {
		return nil, err
	}
	req, err := r.Store.WithdrawRequest(ctx, c.userID, id)
	switch {
	case errors.Is(err, referral.ErrNotFound), errors.Is(err, referral.ErrNotYours):
		// Same answer for both, so request numbers reveal nothing about others.
		return nil, refusal(fmt.Sprintf("You have no request #%d. /referral status lists your requests and their numbers.", id))
	case errors.Is(err, referral.ErrAlreadyDone):
		return nil, refusal(fmt.Sprintf("Request #%d is already withdrawn.", id))
	case errors.Is(err, referral.ErrWrongState), errors.As(err, new(referral.ErrTransition)):
		return nil, refusal(fmt.Sprintf("Request #%d can't be withdrawn any more: only requests that are waiting, with a referrer or accepted can be. "+
			"If the referral was submitted, tell how it went with /referral outcome instead.", id))
	case err != nil:
		return nil, err
	}
	return ephemeral(fmt.Sprintf("Request #%d (%s) is withdrawn. If a referrer was being asked or had accepted, I'll let them know it moved on.",
		req.ID, referral.Truncate(req.Company.Name, maxShortShown))), nil
}
