package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

// The request modal's fields; their custom_ids are part of the contract.
type modalField struct {
	id          string
	label       string
	placeholder string // teaches what a good answer looks like
	style       discordgo.TextInputStyle
	required    bool
	minLen      int
	maxLen      int
}

var requestFields = []modalField{
	{"job_url", "Job posting link", "https://… the posting itself, not the careers home page",
		discordgo.TextInputShort, true, 0, referral.MaxURLLen},
	{"role", "Role you're applying for", "e.g. Software Development Engineer Intern, Summer 2026",
		discordgo.TextInputShort, true, referral.MinRoleLen, referral.MaxRoleLen},
	{"intro", "Who you are (2-4 sentences)", "School, year and major; one thing you built or did; the kind of role you want.",
		discordgo.TextInputParagraph, true, referral.MinIntroLen, referral.MaxIntroLen},
	{"resume_url", "Resume link", "https://… a PDF link anyone can open (Drive, Dropbox, your site)",
		discordgo.TextInputShort, true, 0, referral.MaxURLLen},
	{"note", "Why you fit this role (optional)", "Two or three of the posting's requirements you meet, with an example each.",
		discordgo.TextInputParagraph, false, 0, referral.MaxNoteLen},
}

// fieldLabel is how a problem's field reads in the reply.
func fieldLabel(id string) string {
	for _, f := range requestFields {
		if f.id == id {
			return f.label
		}
	}
	return id
}

// requestModal is the request form, pre-filled when editing a draft.
func requestModal(customID, company string, values referral.RequestFields) *discordgo.InteractionResponse {
	prefill := map[string]string{
		"job_url": values.JobURL, "role": values.Role, "intro": values.Intro,
		"resume_url": values.ResumeURL, "note": values.Note,
	}
	rows := make([]discordgo.MessageComponent, 0, len(requestFields))
	for _, f := range requestFields {
		value := referral.Truncate(prefill[f.id], maxTextInput)
		// A draft longer than the rule is shown whole, so nothing typed is
		// lost; Validate asks again to shorten it.
		maxLen := max(f.maxLen, runeLen(value))
		rows = append(rows, discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.TextInput{
				CustomID:    f.id,
				Label:       f.label,
				Style:       f.style,
				Placeholder: f.placeholder,
				Value:       value,
				Required:    f.required,
				MinLength:   f.minLen,
				MaxLength:   maxLen,
			},
		}})
	}
	return &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseModal,
		Data: &discordgo.InteractionResponseData{
			CustomID:   customID,
			Title:      referral.Truncate("Referral at "+company, maxModalTitle),
			Components: rows,
		},
	}
}

// requestCommand is /referral request company: it opens the modal.
func requestCommand() subcommand {
	company := stringOption("company", "The company you're applying to", true, referral.MaxCompanyLen)
	company.Autocomplete = true
	return subcommand{
		def:      subcommandDef("request", "Ask for a referral at a company", company),
		run:      (*Router).request,
		complete: (*Router).requestAutocomplete,
		topic:    aboutDraft,
	}
}

// request opens the modal. Its custom_id carries the company key, from
// which the submit recovers the name; a company whose name the key does
// not give back (a spelling no referrer here has) or whose key is too long
// for a custom_id is kept in an empty draft instead, so nothing is lost.
func (r *Router) request(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	if err := c.needGuild(); err != nil {
		return nil, err
	}
	co, err := referral.ParseCompany(c.opts.string("company"))
	if err != nil {
		return nil, refusal(err.Error()) // written for users
	}
	name, err := r.companyName(ctx, c.guildID, co.Key)
	if err != nil {
		return nil, err
	}
	if id := (customID{Pattern: modalNew, Company: co.Key}).String(); len(id) <= maxCustomIDLen && (name.known || name.text == co.Name) {
		return requestModal(id, name.text, referral.RequestFields{}), nil
	}
	draftID, err := r.Store.SaveDraft(ctx, referral.DraftRequest{GuildID: c.guildID, StudentID: c.userID, Company: co, UpdatedAt: r.now()})
	if err != nil {
		return nil, err
	}
	return requestModal(modalDraft.with(draftID), co.Name, referral.RequestFields{}), nil
}

// recoveredName is the name a modal's company key stands for: as the
// server's referrers spell it, or the canonical name of a well-known
// company (known), or else the key itself.
type recoveredName struct {
	text  string
	known bool
}

// companyName recovers the name of a company key.
func (r *Router) companyName(ctx context.Context, guildID, key string) (recoveredName, error) {
	name, ok, err := r.Store.CompanyName(ctx, guildID, key)
	if err != nil {
		return recoveredName{}, err
	}
	if ok {
		return recoveredName{name, true}, nil
	}
	if co := referral.NormalizeCompany(key); co.Key == key && co.Name != key {
		return recoveredName{co.Name, true}, nil
	}
	return recoveredName{key, false}, nil
}

// requestAutocomplete suggests companies that have referrers here.
func (r *Router) requestAutocomplete(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	if c.guildID == "" {
		return choices(nil), nil
	}
	query := ""
	if f := c.opts.focused(); f != nil {
		query, _ = f.Value.(string)
	}
	known, err := r.Store.Companies(ctx, c.guildID)
	if err != nil {
		return nil, err
	}
	var list []*discordgo.ApplicationCommandOptionChoice
	for _, co := range referral.MatchCompanies(query, known, maxChoices) {
		name := referral.Truncate(co.Name, maxChoiceLen)
		if name == "" || len(list) == maxChoices {
			continue
		}
		list = append(list, &discordgo.ApplicationCommandOptionChoice{Name: name, Value: name})
	}
	return choices(list), nil
}

// editDraftButton reopens the modal with what the student typed.
func (r *Router) editDraftButton(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	d, err := r.Store.Draft(ctx, c.id.ID)
	if err != nil {
		return nil, err
	}
	if d.StudentID != c.userID {
		return nil, referral.ErrNotYours
	}
	return requestModal(modalDraft.with(d.ID), d.Company.Name, d.Fields), nil
}

// requestModalSubmit checks the request; a bad one is kept as a draft.
func (r *Router) requestModalSubmit(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	data, _ := c.i.Data.(discordgo.ModalSubmitInteractionData)
	form := referral.RequestForm{GuildID: c.guildID, StudentID: c.userID, Fields: modalValues(data.Components)}
	switch c.id.Pattern {
	case modalDraft:
		form.DraftID = c.id.ID // the store takes the draft's own server and company
	default:
		if err := c.needGuild(); err != nil {
			return nil, err
		}
		name, err := r.companyName(ctx, c.guildID, c.id.Company)
		if err != nil {
			return nil, err
		}
		form.Company = referral.Company{Key: c.id.Company, Name: name.text}
	}
	// One store call: it validates, and either sends the request or keeps
	// the form as a draft, in one transaction.
	res, err := r.Store.SubmitRequest(ctx, form)
	switch {
	case err != nil:
		return nil, err
	case res.Sent:
		return requestPreview(res.Submission), nil
	case res.Edited:
		return requestEdited(res.Request), nil
	case len(res.Problems) > 0:
		return problemsReply(res.Problems, res.DraftID), nil
	case errors.Is(res.Refused, referral.ErrTooManyOpen):
		return draftKept(res.DraftID, fmt.Sprintf("You already have %s, the most allowed at once. "+
			"Withdraw one you no longer need with /referral withdraw (/referral status lists their numbers), then press **Edit request** to send this one. "+
			"It's saved as a draft meanwhile.", plural(res.MaxOpen, "open request", "open requests"))), nil
	case errors.Is(res.Refused, referral.ErrDuplicateJob):
		return draftKept(res.DraftID, "You already have an open request for this job link; /referral status shows it. "+
			"If this is a different opening, press **Edit request** and use the link of that posting. It's saved as a draft meanwhile."), nil
	case res.Refused != nil:
		return nil, res.Refused
	}
	return nil, errors.New("submit request: the store neither sent nor kept it")
}

// draftKept explains why a good request was kept as a draft, with the
// button that reopens it.
func draftKept(draftID int64, msg string) *discordgo.InteractionResponse {
	return ephemeral(msg, row(button("Edit request", draftEdit.with(draftID), discordgo.PrimaryButton)))
}

// problemsReply lists what to fix, each with its tip, and the Edit button.
func problemsReply(problems []referral.Problem, draftID int64) *discordgo.InteractionResponse {
	var b strings.Builder
	b.WriteString("Almost there. Your request isn't sent yet; please fix this and press **Edit request** (what you typed is kept):\n")
	for _, p := range problems {
		fmt.Fprintf(&b, "\n**%s**: %s", fieldLabel(p.Field), p.Message)
		if p.Tip != "" {
			fmt.Fprintf(&b, "\n  Tip: %s", p.Tip)
		}
	}
	b.WriteString("\n\nReferrers say yes to specific requests: who you are, which role, the job link and your resume.")
	return ephemeral(b.String(), row(button("Edit request", draftEdit.with(draftID), discordgo.PrimaryButton)))
}

// requestPreview shows the student exactly what the referrer will see.
func requestPreview(sub referral.Submission) *discordgo.InteractionResponse {
	req := sub.Request
	var msg string
	if sub.Offered {
		msg = fmt.Sprintf("**Request #%d** is in. A referrer at %s is being asked now; I'll DM you when they answer.", req.ID, referral.Truncate(req.Company.Name, maxShortShown))
	} else {
		msg = fmt.Sprintf("**Request #%d** is in. No referrer at %s is free right now, so it's waiting; I'll DM you as soon as one is asked.", req.ID, referral.Truncate(req.Company.Name, maxShortShown))
	}
	msg += " Make sure your DMs from server members are open.\nThis is exactly what the referrer will see:"
	return ephemeralEmbed(msg, offerEmbed(referral.OfferNotice(req, 0, "", "")))
}

// modalValues reads the text inputs of a submitted modal. Discord sends
// pointers; values built in Go may not be, so both are read.
func modalValues(comps []discordgo.MessageComponent) referral.RequestFields {
	values := map[string]string{}
	var walk func([]discordgo.MessageComponent)
	walk = func(list []discordgo.MessageComponent) {
		for _, comp := range list {
			switch v := comp.(type) {
			case *discordgo.ActionsRow:
				if v != nil {
					walk(v.Components)
				}
			case discordgo.ActionsRow:
				walk(v.Components)
			case *discordgo.TextInput:
				if v != nil {
					values[v.CustomID] = v.Value
				}
			case discordgo.TextInput:
				values[v.CustomID] = v.Value
			}
		}
	}
	walk(comps)
	return referral.RequestFields{
		JobURL: values["job_url"], Role: values["role"], Intro: values["intro"],
		ResumeURL: values["resume_url"], Note: values["note"],
	}
}
