package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/referralbot/referralbot/referral"
)

// offerDecline is the Decline button of an offer DM. The request moves on
// at once; the referrer may then say why, which teaches: students hear
// (never from whom) when referrers want more detail, admins see the counts.
func (r *Router) offerDecline(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	if _, err := r.Store.AnswerOffer(ctx, c.id.ID, c.userID, false); err != nil {
		return nil, err
	}
	return update(c.i, "You declined; no problem at all. The request goes to another referrer, and the student isn't told who declined.\n"+
		"If you like, tell me why (optional; it helps students write better requests):", declineReasonRow(c.id.ID)), nil
}

// declineReasonRow offers the reasons as buttons, Skip last.
func declineReasonRow(offerID int64) discordgo.ActionsRow {
	var bs []discordgo.Button
	for _, reason := range referral.DeclineReasons() {
		style := discordgo.SecondaryButton
		if reason == referral.DeclineSkipped {
			style = discordgo.PrimaryButton
		}
		bs = append(bs, button(reason.Label(), customID{Pattern: offerReason, ID: offerID, Reason: reason}.String(), style))
	}
	return row(bs...)
}

// offerReasonButton records the reason a referrer gave after declining.
func (r *Router) offerReasonButton(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	_, studentTold, err := r.Store.GiveDeclineReason(ctx, c.id.ID, c.userID, c.id.Reason)
	if err != nil {
		return nil, err
	}
	msg := "You declined; the request went to another referrer. Thank you for saying why."
	switch c.id.Reason {
	case referral.DeclineSkipped:
		return update(c.i, "You declined; the request went to another referrer. Thank you for looking at it."), nil
	case referral.DeclineNeedsDetail:
		if studentTold {
			msg += " The student gets tips on what to add, without your name."
		} else {
			msg += " The student was already asked for more detail."
		}
	case referral.DeclineCantNow:
		days := int(referral.PauseAfterCantNow.Hours() / 24)
		return update(c.i, msg+fmt.Sprintf(" Want a break from offers? I can pause you for %d days (/referrer resume ends it early).", days),
			row(button(fmt.Sprintf("Pause me for %d days", days), offerPause.with(c.id.ID), discordgo.PrimaryButton))), nil
	}
	return update(c.i, msg), nil
}

// offerPauseButton pauses the referrer for a week after "I can't refer
// right now".
func (r *Router) offerPauseButton(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	ref, err := r.Store.PauseAfterDecline(ctx, c.id.ID, c.userID, r.now().Add(referral.PauseAfterCantNow))
	if err != nil {
		return nil, err
	}
	until := "you resume"
	if !ref.PausedUntil.IsZero() {
		until = day(ref.PausedUntil, r.location())
	}
	return update(c.i, fmt.Sprintf("Paused until %s: no offers until then. /referrer resume ends the pause early. Thank you for helping!", until)), nil
}

// editRequestButton reopens an open request's form with its current text,
// after referrers asked for more detail.
func (r *Router) editRequestButton(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	d, err := r.Store.StartEdit(ctx, c.userID, c.id.ID)
	if err != nil {
		return nil, err
	}
	return requestModal(modalDraft.with(d.ID), d.Company.Name, d.Fields), nil
}

// requestEdited answers a successful edit.
func requestEdited(req referral.Request) *discordgo.InteractionResponse {
	return ephemeral(fmt.Sprintf("Request #%d is updated. It keeps its number and its place in line, "+
		"and referrers asked from now on see the new text.", req.ID))
}

// renderNeedsDetail is the student's DM when referrers asked for more
// detail: the weakest parts with tips, and Edit request.
func renderNeedsDetail(n referral.Notice) *discordgo.MessageSend {
	var b strings.Builder
	fmt.Fprintf(&b, "Referrers looked at your request #%d (%s) and asked for a little more detail. ", n.RequestID, roleAt(n))
	b.WriteString("It's still looking for a referrer; a more specific request is more likely to get a yes. What to strengthen:\n")
	for _, p := range n.Tips {
		fmt.Fprintf(&b, "\n**%s**: %s\n  Tip: %s", fieldLabel(p.Field), p.Message, p.Tip)
	}
	b.WriteString("\n\nPress **Edit request** to improve it: it keeps its number and its place in line.")
	m := text(b.String())
	m.Components = []discordgo.MessageComponent{row(button("Edit request", reqEdit.with(n.RequestID), discordgo.PrimaryButton))}
	return m
}
