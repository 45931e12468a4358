package commands

import (
	"context"
	"fmt"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

// withdrawCommand is /referral withdraw request:N.
func withdrawCommand() subcommand {
	return subcommand{
		def:   subcommandDef("withdraw", "Withdraw one of your open requests", requestOption("The request number to withdraw (see /referral status)")),
		run:   (*Router).withdraw,
		topic: aboutWithdraw,
	}
}

func (r *Router) withdraw(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	id, err := c.opts.requestNumber()
	if err != nil {
		return nil, err
	}
	req, err := r.Store.WithdrawRequest(ctx, c.userID, id)
	if err != nil {
		return nil, err
	}
	return ephemeral(fmt.Sprintf("Request #%d (%s) is withdrawn. If a referrer was being asked or had accepted, I'll let them know it moved on.",
		req.ID, referral.Truncate(req.Company.Name, maxShortShown))), nil
}
