package commands

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

// statusCommand is /referral status: the caller's requests, newest first.
// Drafts are not requests: they live apart, for the Edit request button.
func statusCommand() subcommand {
	return subcommand{def: subcommandDef("status", "Your requests and where each one stands"), run: (*Router).status}
}

func (r *Router) status(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	list, err := r.Store.StudentRequests(ctx, c.userID)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return ephemeral("You have no requests yet. Ask for a referral with /referral request."), nil
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID > list[j].ID })

	const footer = "\n\nWithdraw an open one with /referral withdraw; tell how it went with /referral outcome."
	var b strings.Builder
	b.WriteString("**Your requests**\n")
	for n, req := range list {
		line := r.statusLine(req)
		// Leave room for "and N more" and the footer within one message.
		if b.Len()+len(line)+len(footer)+40 > maxContent {
			fmt.Fprintf(&b, "…and %d more", len(list)-n)
			break
		}
		b.WriteString(line)
	}
	b.WriteString(footer)
	return ephemeral(b.String()), nil
}

// statusLine is one request: number, company, role, state, referrer once
// accepted and the next follow-up.
func (r *Router) statusLine(req referral.Request) string {
	line := fmt.Sprintf("**#%d** %s: %s — %s", req.ID,
		referral.Truncate(req.Company.Name, 60), referral.Truncate(req.Fields.Role, 60), req.State.Label())
	if req.Outcome != "" {
		line += " (" + strings.ToLower(req.Outcome.Label()) + ")"
	}
	// Who is being asked stays private until they say yes.
	if req.ReferrerID != "" && wasAccepted(req) {
		line += " · referrer " + mention(req.ReferrerID)
	}
	if !req.NextNudgeAt.IsZero() {
		line += " · next check-in " + day(req.NextNudgeAt, r.location())
	}
	return line + "\n"
}

// wasAccepted reports whether a referrer said yes to req at some point.
func wasAccepted(req referral.Request) bool {
	switch req.State {
	case referral.Accepted, referral.Submitted, referral.InProcess, referral.Closed:
		return true
	}
	return !req.AcceptedAt.IsZero()
}
