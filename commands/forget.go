package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

// forgetCommand is /referral forget-me: it explains and asks to confirm,
// because deleting cannot be undone.
func forgetCommand() subcommand {
	return subcommand{def: subcommandDef("forget-me", "Delete your personal data from the bot"), run: (*Router).forgetMe}
}

func (r *Router) forgetMe(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	msg := "**Delete your data?** This removes, in every server that uses this bot:\n" +
		"- your referrer profiles (companies, roles, school, verified domain)\n" +
		"- the texts and links of your requests: intros, notes, job and resume links\n" +
		"- your drafts\n" +
		"Open requests are withdrawn, and offers waiting for your answer go to the next referrer. " +
		"Counts in server stats stay, without your name. This can't be undone."
	return ephemeral(msg, row(
		button("Delete my data", string(forgetConfirm), discordgo.DangerButton),
		button("Cancel", string(forgetCancel), discordgo.SecondaryButton),
	)), nil
}

// forgetConfirm deletes the presser's data. The button carries no user id:
// it acts on whoever presses it, and only that user sees the message.
func (r *Router) forgetConfirm(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	res, err := r.Store.ForgetUser(ctx, c.userID)
	if errors.Is(err, referral.ErrNothingToForget) {
		return update(c.i, "There was nothing stored about you, so nothing was deleted."), nil
	}
	if err != nil {
		return nil, err
	}
	if res.Requests+res.Drafts+res.Referrers == 0 {
		// A referrer who left long ago: only their id in history was left.
		return update(c.i, fmt.Sprintf("Done. I removed your id from %s; nothing else was stored about you. Take care!",
			plural(res.History, "past offer or log entry", "past offers and log entries"))), nil
	}
	return update(c.i, fmt.Sprintf("Done. I deleted %s, %s and %s. Take care!",
		plural(res.Requests, "request", "requests"), plural(res.Drafts, "draft", "drafts"),
		plural(res.Referrers, "referrer profile", "referrer profiles"))), nil
}

func (r *Router) forgetCancel(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	return update(c.i, "Cancelled: nothing was deleted."), nil
}
