package commands

import (
	"context"
	"fmt"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

// outcomeCommand is /referral outcome request:N result:R.
func outcomeCommand() subcommand {
	result := &discordgo.ApplicationCommandOption{
		Type: discordgo.ApplicationCommandOptionString, Name: "result", Description: "What happened", Required: true,
	}
	for _, out := range referral.Outcomes() {
		result.Choices = append(result.Choices, &discordgo.ApplicationCommandOptionChoice{Name: out.Label(), Value: string(out)})
	}
	return subcommand{
		def: subcommandDef("outcome", "Tell what happened after your referral",
			requestOption("The request number (see /referral status)"), result),
		run:   (*Router).outcome,
		topic: aboutOutcome,
	}
}

func (r *Router) outcome(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	id, err := c.opts.requestNumber()
	if err != nil {
		return nil, err
	}
	o, err := referral.ParseOutcome(c.opts.string("result"))
	if err != nil {
		return nil, refusal("Pick a result from the list: recruiter screen, interviewing, offer, rejected or no response.")
	}
	if _, err := r.Store.RecordOutcome(ctx, c.userID, id, o); err != nil {
		return nil, err
	}
	if o == referral.OutcomeRejected {
		return ephemeral(outcomeReply(o), row(keepInMindButton(id))), nil
	}
	return ephemeral(outcomeReply(o)), nil
}

// outcomeButton answers a follow-up button by updating the follow-up
// message, so its buttons can't be pressed again by mistake.
func (r *Router) outcomeButton(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	id, o := c.id.ID, c.id.Outcome
	if _, err := r.Store.RecordOutcome(ctx, c.userID, id, o); err != nil {
		return nil, err
	}
	rows := []discordgo.MessageComponent{row(pressedFollowUp(id, outcomeID(id, o))...)}
	if o == referral.OutcomeRejected {
		rows = append(rows, row(keepInMindButton(id)))
	}
	return update(c.i, outcomeReply(o), rows...), nil
}

// noNewsButton is "No news yet": the next check-in stays scheduled.
func (r *Router) noNewsButton(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	id := c.id.ID
	req, err := r.Store.FollowUpNoNews(ctx, c.userID, id)
	if err != nil {
		return nil, err
	}
	msg := "Thanks for telling me. No news is normal at this point: hearing back often takes one to two weeks, sometimes a month or more."
	if !req.NextNudgeAt.IsZero() {
		msg += fmt.Sprintf(" I'll check in again on %s.", day(req.NextNudgeAt, r.location()))
	} else {
		msg += " That was my last check-in."
	}
	msg += fmt.Sprintf(" When you hear back, tell me with /referral outcome request:%d.", id)
	return update(c.i, msg, row(pressedFollowUp(id, reqNoNews.with(id))...)), nil
}

// keepInMindButton asks the referrer to remember the student.
func (r *Router) keepInMindButton(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	id := c.id.ID
	if _, err := r.Store.KeepInMind(ctx, c.userID, id); err != nil {
		return nil, err
	}
	b := disabled(keepInMindButton(id))
	return update(c.i, "Done: I asked your referrer to keep you in mind for future openings. Good luck with the next one; every application teaches you something.", row(b)), nil
}

func keepInMindButton(requestID int64) discordgo.Button {
	return button("Keep me in mind", reqKeep.with(requestID), discordgo.PrimaryButton)
}

func outcomeID(requestID int64, o referral.Outcome) string {
	return customID{Pattern: reqOutcome, ID: requestID, Outcome: o}.String()
}

// pressedFollowUp is the follow-up row, disabled, with the choice marked.
func pressedFollowUp(requestID int64, pressed string) []discordgo.Button {
	buttons := followUpButtons(requestID)
	for i := range buttons {
		buttons[i].Disabled = true
		if buttons[i].CustomID == pressed {
			buttons[i].Style = discordgo.SuccessButton
		} else {
			buttons[i].Style = discordgo.SecondaryButton
		}
	}
	return buttons
}

// outcomeReply thanks the student and says what usually comes next.
func outcomeReply(o referral.Outcome) string {
	const told = " I've let your referrer know."
	switch o {
	case referral.OutcomeScreen:
		return "Good luck!" + told + " A recruiter screen is usually a short call about the basics: whether you're actively looking, can work full time and need visa sponsorship. Have clear answers ready, and one sentence on why this role."
	case referral.OutcomeInterview:
		return "Great progress!" + told + " Technical interviews mostly test coding and algorithms; system design or behavioural questions can come up too. Practise out loud, and expect the process to take a few weeks."
	case referral.OutcomeOffer:
		return "Congratulations! 🎉" + told + " They'll be delighted; a thank-you message goes a long way too."
	case referral.OutcomeRejected:
		return "I'm sorry." + told + " A referral gets you seen, but the decision often comes down to what this particular role needs; it says little about how good you are. " +
			"You can ask your referrer to keep you in mind for future openings:"
	}
	return "Thanks for closing the loop." + told + " Silence is common; keep applying directly to other openings, and ask for a new referral when a fitting role comes up."
}
