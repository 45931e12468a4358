package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

// reportAsk is the Report button: it says what a report does and asks to
// confirm. Only the request's student gets an answer other than a refusal.
func (r *Router) reportAsk(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	req, err := r.ownRequest(ctx, c)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "**Report %s, your referrer for request #%d (%s)?**\n", mention(req.ReferrerID), req.ID, roleAtRequest(req))
	b.WriteString("Report when something is wrong: they asked for money or favours, were rude or threatening, or misused your resume or details.\n")
	b.WriteString("They get no new referral requests until a server admin has looked at it, and the admins are told that you reported them")
	if req.State == referral.Accepted {
		b.WriteString("; your request goes to another referrer")
	}
	b.WriteString(".\nJust slow? No need to report: the follow-ups keep you both posted.")
	return ephemeral(b.String(), row(
		button("Yes, report", reportConfirm.with(req.ID), discordgo.DangerButton),
		button("Cancel", reportCancel.with(req.ID), discordgo.SecondaryButton),
	)), nil
}

// reportConfirm files the report: the referrer is paused until an admin
// acts, and the admins are told.
func (r *Router) reportConfirm(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	res, err := r.Store.ReportReferrer(ctx, c.id.ID, c.userID)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Reported. Thank you for telling us. %s gets no new referral requests until an admin has looked at it", mention(res.ReferrerID))
	if res.Notified {
		b.WriteString(", and the server's admins have been told.")
	} else {
		b.WriteString("; the server's admins see it in their list of referrers.")
	}
	switch {
	case res.Requeued && res.NextAsked:
		fmt.Fprintf(&b, "\nYour request #%d goes to another referrer now; I'll DM you when they answer.", res.Request.ID)
	case res.Requeued:
		fmt.Fprintf(&b, "\nYour request #%d waits for another referrer; I'll DM you as soon as one is asked.", res.Request.ID)
	}
	return update(c.i, b.String()), nil
}

func (r *Router) reportCancel(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	if _, err := r.ownRequest(ctx, c); err != nil {
		return nil, err
	}
	return update(c.i, "Not reported; nothing changed."), nil
}

// ownRequest is the presser's request with an accepted referrer; the
// refusals are worded as the store's for a report.
func (r *Router) ownRequest(ctx context.Context, c *call) (referral.Request, error) {
	reqs, err := r.Store.StudentRequests(ctx, c.userID)
	if err != nil {
		return referral.Request{}, err
	}
	for _, req := range reqs {
		if req.ID != c.id.ID {
			continue
		}
		if req.ReferrerID == "" || req.AcceptedAt.IsZero() {
			return req, referral.ErrWrongState
		}
		return req, nil
	}
	return referral.Request{}, referral.ErrNotFound
}

func roleAtRequest(req referral.Request) string {
	return roleAt(referral.Notice{Role: req.Fields.Role, Company: req.Company.Name})
}

// renderReport is the post in the fallback channel after a report. It
// names the student and the referrer without pinging anyone.
func renderReport(n referral.Notice) *discordgo.MessageSend {
	return text(fmt.Sprintf("**A student reported their referrer.** %s reported %s about request #%d (%s).\n"+
		"%s is paused and gets no new referral requests until an admin acts: `/referral-admin approve` clears them, `/referral-admin remove` ends their profile. "+
		"`/referral-admin referrers` shows open reports.",
		mention(n.StudentID), mention(n.ReferrerID), n.RequestID, roleAt(n), mention(n.ReferrerID)))
}

// renderRoleLost tells a referrer who joined with the referrer role that
// the role is gone, so they are pending now.
func renderRoleLost(referral.Notice) *discordgo.MessageSend {
	return text("You no longer have this server's referrer role, so you're **pending** now and get no referral requests; " +
		"the one that was on its way to you went to another referrer. If that's a mistake, ask an admin: " +
		"/referral-admin approve makes you active again, or get the role back and run /referrer join.")
}
