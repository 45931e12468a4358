package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

// Mail is one email the bot sends.
type Mail struct {
	To      string
	Subject string
	Text    string
}

// Mailer sends the verification emails of /referrer verify; the bot
// implements it with the smtp: settings. Send returns at once, so the
// interaction is answered within Discord's three seconds, and calls done
// with the mail server's verdict once it has one.
type Mailer interface {
	Send(m Mail, done func(error))
}

// codeInput is the modal's text input.
const codeInput = "code"

// verifyCommand is /referrer verify email:. It mails a one-time code to a
// work address; the reply's Enter code button opens a modal to type it.
// Only the domain is kept.
func verifyCommand() subcommand {
	return subcommand{
		def: subcommandDef("verify", "Verify your work email to show \"verified @domain\" in offers",
			stringOption("email", "Your work email address", true, 254)),
		run:   (*Router).referrerVerify,
		topic: aboutReferrer,
	}
}

func (r *Router) referrerVerify(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	if r.Mailer == nil {
		return ephemeral("Email verification is not configured on this server, so I can't send you a code. An admin can approve you as a referrer with /referral-admin approve instead."), nil
	}
	if err := c.needGuild(); err != nil {
		return nil, err
	}
	addr := strings.TrimSpace(c.opts.string("email"))
	domain, err := referral.WorkEmailDomain(addr)
	if err != nil {
		return nil, refusal(err.Error()) // written for users
	}
	code, err := referral.NewCode()
	if err != nil {
		return nil, err
	}
	t, err := r.Store.StartVerification(ctx, referral.VerifyStart{GuildID: c.guildID, UserID: c.userID, Domain: domain, Code: code})
	var wait referral.WaitError
	switch {
	case errors.As(err, &wait) && wait.Locked:
		return nil, refusal(fmt.Sprintf("Too many wrong codes, so verification is paused until %s. Then run /referrer verify again for a new code.", dayTime(wait.Until, r.location())))
	case errors.As(err, &wait):
		return nil, refusal(fmt.Sprintf("I sent you a code less than a minute ago; mail can take a moment (check your spam folder too). You can ask for a new one after %s.", dayTime(wait.Until, r.location())))
	case err != nil:
		return nil, err
	}

	logger := r.logger()
	r.Mailer.Send(verificationMail(addr, code, domain), func(sendErr error) {
		failure := ""
		if sendErr != nil {
			// The server's answer may quote the address: it stays out of the
			// database and the logs.
			failure = strings.ReplaceAll(sendErr.Error(), addr, "the address")
			logger.Warn("verification mail failed", "guild_id", c.guildID, "user_id", c.userID, "err", failure)
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := r.Store.VerificationMailed(sctx, t.ID, t.SentAt, failure); err != nil {
			logger.Error("recording the verification mail failed", "user_id", c.userID, "err", err)
		}
	})

	msg := fmt.Sprintf("I'm emailing a %d-digit code to **%s** now. It works for %d minutes; check your spam folder if it doesn't show up within a minute.\n"+
		"When you have it, press **Enter code**. Once it's right, your referral offers show **verified @%s**. Only the domain is kept, never your address.",
		referral.CodeDigits, referral.Truncate(addr, 254), int(referral.CodeTTL/time.Minute), domain)
	return ephemeral(msg, row(enterCodeButton(t.ID))), nil
}

func verificationMail(to, code, domain string) Mail {
	return Mail{
		To:      to,
		Subject: "Your referral bot verification code",
		Text: fmt.Sprintf("Your verification code is %s\n\n"+
			"Enter it in Discord with the \"Enter code\" button under your /referrer verify reply. It works for %d minutes.\n\n"+
			"Once it's entered, students see \"verified @%s\" on your referral offers. Only the domain is kept; this address is not stored.\n\n"+
			"If you didn't ask for this, ignore this email: someone typed your address by mistake, and nothing happens without the code.\n",
			code, int(referral.CodeTTL/time.Minute), domain),
	}
}

func enterCodeButton(codeID int64) discordgo.Button {
	return button("Enter code", verifyEnter.with(codeID), discordgo.PrimaryButton)
}

// verifyEnter is the Enter code button: it opens the modal while the code
// can still be used, and says why not otherwise.
func (r *Router) verifyEnter(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	t, err := r.Store.VerificationStatus(ctx, c.id.ID, c.userID)
	if err != nil {
		return nil, err
	}
	if err := r.usable(t); err != nil {
		return nil, err
	}
	return &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseModal,
		Data: &discordgo.InteractionResponseData{
			CustomID: verifyModal.with(t.ID),
			Title:    referral.Truncate("Verify @"+t.Domain, maxModalTitle),
			Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
				discordgo.TextInput{
					CustomID:    codeInput,
					Label:       fmt.Sprintf("The %d-digit code from the email", referral.CodeDigits),
					Style:       discordgo.TextInputShort,
					Placeholder: "123456",
					Required:    true,
					MinLength:   referral.CodeDigits,
					MaxLength:   12, // room for spaces or dashes when pasted
				},
			}}},
		},
	}, nil
}

// usable refuses a code that can't be typed any more, saying what to do.
func (r *Router) usable(t referral.VerifyTicket) error {
	switch {
	case !t.LockedUntil.IsZero():
		return refusal(fmt.Sprintf("Too many wrong codes, so verification is paused until %s. Then run /referrer verify again for a new code.", dayTime(t.LockedUntil, r.location())))
	case t.MailState == "failed":
		why := ""
		if t.MailError != "" {
			why = " (" + referral.Truncate(t.MailError, 200) + ")"
		}
		return refusal("The email with your code couldn't be sent" + why + ". Check the address and run /referrer verify again.")
	case !r.now().Before(t.ExpiresAt):
		return refusal(codeExpired)
	}
	return nil
}

var codeExpired = fmt.Sprintf("That code has expired: codes work for %d minutes. Run /referrer verify again for a new one.", int(referral.CodeTTL/time.Minute))

// verifyModalSubmit checks the typed code.
func (r *Router) verifyModalSubmit(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	data, _ := c.i.Data.(discordgo.ModalSubmitInteractionData)
	code := referral.NormalizeCode(modalText(data.Components, codeInput))
	if len(code) != referral.CodeDigits || strings.Trim(code, "0123456789") != "" {
		return ephemeral(fmt.Sprintf("The code is the %d digits from the email, like 123456. Press **Enter code** to try again; this didn't count as a try.", referral.CodeDigits),
			row(enterCodeButton(c.id.ID))), nil
	}
	res, err := r.Store.CheckCode(ctx, c.id.ID, c.userID, code)
	if err != nil {
		return nil, err
	}
	switch res.Outcome {
	case referral.CodeVerified:
		return ephemeral(fmt.Sprintf("Verified! Your referral offers now show **verified @%s**. Only the domain is kept, not your address.", res.Domain)), nil
	case referral.CodeWrong:
		return ephemeral(fmt.Sprintf("That code doesn't match. %s left; press **Enter code** to try again, or run /referrer verify for a new code.",
			plural(res.TriesLeft, "try", "tries")), row(enterCodeButton(c.id.ID))), nil
	case referral.CodeLocked:
		return ephemeral(fmt.Sprintf("That code doesn't match either, and that was the last try: verification is paused until %s. Then run /referrer verify again for a new code.",
			dayTime(res.LockedUntil, r.location()))), nil
	}
	return ephemeral(codeExpired), nil
}

// modalText reads one text input of a submitted modal; Discord sends
// pointers, values built in Go may not be.
func modalText(comps []discordgo.MessageComponent, id string) string {
	for _, comp := range comps {
		switch v := comp.(type) {
		case *discordgo.ActionsRow:
			if v != nil {
				if s := modalText(v.Components, id); s != "" {
					return s
				}
			}
		case discordgo.ActionsRow:
			if s := modalText(v.Components, id); s != "" {
				return s
			}
		case *discordgo.TextInput:
			if v != nil && v.CustomID == id {
				return v.Value
			}
		case discordgo.TextInput:
			if v.CustomID == id {
				return v.Value
			}
		}
	}
	return ""
}
