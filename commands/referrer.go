package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

// joinCommand is /referrer join: create or update the caller's profile.
func joinCommand() subcommand {
	return subcommand{
		def: subcommandDef("join", "Become (or update your profile as) a referrer for your companies",
			stringOption("companies", "Companies you can refer to, comma-separated, e.g. \"Amazon, AWS\"", true, 1000),
			stringOption("roles", "Roles you know well, e.g. \"software engineering, data science\"", false, 200),
			stringOption("school", "Your school, so students from it are matched with you first", false, 100),
			intOption("capacity", "Referrals you can make per 30 days (1-20)", false, referral.MinCapacity, referral.MaxCapacity),
		),
		run: (*Router).referrerJoin,
	}
}

func (r *Router) referrerJoin(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	if err := c.needGuild(); err != nil {
		return nil, err
	}
	companies, err := referral.ParseCompanies(c.opts.string("companies"))
	if err != nil {
		return nil, refusal(err.Error()) // its text is written for users
	}
	capacity := 0 // keep the current capacity, or take the default
	if n, ok := c.opts.int("capacity"); ok {
		// Discord enforces the option's bounds, but a stale command
		// definition or a forged interaction must not get past them.
		if err := referral.CheckCapacity(int(n)); err != nil {
			return nil, refusal(err.Error())
		}
		capacity = int(n)
	}
	var memberRoles []string
	if c.i.Member != nil {
		memberRoles = c.i.Member.Roles
	}
	res, err := r.Store.JoinReferrer(ctx, referral.JoinInput{
		GuildID:     c.guildID,
		UserID:      c.userID,
		Companies:   companies,
		Roles:       strings.TrimSpace(referral.CleanText(c.opts.string("roles"))),
		School:      strings.TrimSpace(referral.CleanText(c.opts.string("school"))),
		Capacity:    capacity,
		MemberRoles: memberRoles,
	})
	if err != nil {
		return nil, err
	}
	ref := res.Referrer
	var b strings.Builder
	if res.Created {
		b.WriteString("Thank you for volunteering as a referrer!\n")
	} else {
		b.WriteString("Your referrer profile is updated.\n")
	}
	fmt.Fprintf(&b, "Companies: %s\n", companyNames(ref.Companies))
	fmt.Fprintf(&b, "Capacity: %s per 30 days\n", plural(ref.Capacity, "referral", "referrals"))
	switch ref.Status {
	case referral.Active:
		b.WriteString("You're **active**: requests for these companies come to you by DM, one at a time, with Accept and Decline buttons.\n")
	case referral.Pending:
		b.WriteString("You're **pending until an admin approves you** (/referral-admin approve). Students share their resume and story with referrers, so the server decides who refers; you get no offers meanwhile.\n")
	case referral.Paused:
		if res.Created { // a new profile starts paused only while a report about them is open
			b.WriteString("You're **paused until a server admin has looked at a report** about you, so no offers come to you.\n")
			break
		}
		b.WriteString("You're **paused**, so no offers come to you; /referrer resume turns them back on.\n")
	}
	if n := len(res.Offered); n > 0 {
		verb := "were"
		if n == 1 {
			verb = "was"
		}
		fmt.Fprintf(&b, "%s waiting for these companies %s matched just now.\n", plural(n, "request", "requests"), verb)
	} else {
		b.WriteString("No waiting requests were matched just now.\n")
	}
	b.WriteString("Make sure your DMs from server members are open, or offers can't reach you.")
	return ephemeral(b.String()), nil
}

// pauseCommand is /referrer pause [days].
func pauseCommand() subcommand {
	return subcommand{
		def: subcommandDef("pause", "Stop receiving referral offers for a while",
			intOption("days", "Resume automatically after this many days; leave empty to pause until /referrer resume", false, 1, 365)),
		run:   (*Router).referrerPause,
		topic: aboutReferrer,
	}
}

func (r *Router) referrerPause(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	if err := c.needGuild(); err != nil {
		return nil, err
	}
	var until time.Time // zero: until /referrer resume
	if days, ok := c.opts.int("days"); ok {
		if days < 1 || days > 365 {
			return nil, refusal("Pause for 1 to 365 days, or leave days empty to pause until /referrer resume.")
		}
		until = r.now().Add(time.Duration(days) * 24 * time.Hour)
	}
	ref, err := r.Store.PauseReferrer(ctx, c.guildID, c.userID, until)
	if err != nil {
		return nil, err
	}
	msg := "Paused: you get no new offers until you run /referrer resume."
	if !ref.PausedUntil.IsZero() {
		until = ref.PausedUntil // the store's word wins
	}
	if !until.IsZero() {
		msg = fmt.Sprintf("Paused: you get no new offers until %s; they resume by themselves then (or earlier with /referrer resume).", day(until, r.location()))
	}
	return ephemeral(msg + "\nOffers that were waiting for your answer go to the next referrer. Referrals you already accepted stay yours."), nil
}

// resumeCommand is /referrer resume.
func resumeCommand() subcommand {
	return subcommand{def: subcommandDef("resume", "Receive referral offers again"), run: (*Router).referrerResume, topic: aboutResume}
}

func (r *Router) referrerResume(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	if err := c.needGuild(); err != nil {
		return nil, err
	}
	ref, err := r.Store.ResumeReferrer(ctx, c.guildID, c.userID)
	if err != nil {
		return nil, err
	}
	if ref.Status == referral.Pending {
		return ephemeral("Your pause is over, but you're still pending until an admin approves you (/referral-admin approve)."), nil
	}
	return ephemeral("Welcome back: you receive referral offers again for " + companyNames(ref.Companies) + "."), nil
}

// leaveCommand is /referrer leave.
func leaveCommand() subcommand {
	return subcommand{def: subcommandDef("leave", "Delete your referrer profile in this server"), run: (*Router).referrerLeave, topic: aboutReferrer}
}

func (r *Router) referrerLeave(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	if err := c.needGuild(); err != nil {
		return nil, err
	}
	if err := r.Store.LeaveReferrer(ctx, c.guildID, c.userID); err != nil {
		return nil, err
	}
	return ephemeral("Your referrer profile in this server is deleted, and offers that were waiting for your answer go to the next referrer. Thank you for the help you gave; /referrer join brings you back any time."), nil
}

// profileCommand is /referrer profile.
func profileCommand() subcommand {
	return subcommand{def: subcommandDef("profile", "Your referrer profile, capacity left and counts"), run: (*Router).referrerProfile, topic: aboutReferrer}
}

func (r *Router) referrerProfile(ctx context.Context, c *call) (*discordgo.InteractionResponse, error) {
	if err := c.needGuild(); err != nil {
		return nil, err
	}
	row, err := r.Store.ReferrerProfile(ctx, c.guildID, c.userID)
	if err != nil {
		return nil, err
	}
	ref, st := row.Referrer, row.Stats
	status := string(ref.Status)
	if ref.Status == referral.Paused && !ref.PausedUntil.IsZero() {
		status += " until " + day(ref.PausedUntil, r.location())
	}
	if ref.Status == referral.Paused && ref.PauseReason == referral.PauseReported {
		status += " after a student's report, until an admin reviews it"
	}
	if ref.Status == referral.Pending {
		status += " (until an admin approves you)"
	}
	fields := []*discordgo.MessageEmbedField{
		{Name: "Status", Value: status, Inline: true},
		{Name: "Capacity left", Value: fmt.Sprintf("%d of %d in the last 30 days", ref.CapacityLeft(st), ref.Capacity), Inline: true},
		{Name: "Companies", Value: companyNames(ref.Companies)},
	}
	if ref.Roles != "" {
		fields = append(fields, &discordgo.MessageEmbedField{Name: "Roles", Value: ref.Roles, Inline: true})
	}
	if ref.School != "" {
		fields = append(fields, &discordgo.MessageEmbedField{Name: "School", Value: ref.School, Inline: true})
	}
	if ref.VerifiedDomain != "" {
		fields = append(fields, &discordgo.MessageEmbedField{Name: "Verified", Value: "verified @" + ref.VerifiedDomain, Inline: true})
	}
	fields = append(fields, &discordgo.MessageEmbedField{
		Name: "Your referrals",
		Value: fmt.Sprintf("Offered %d · accepted %d · declined %d · submitted %d\nRecruiter screens %d · interviews %d · offers %d",
			st.Offered, st.Accepted, st.Declined, st.Submitted, st.Screens, st.Interviews, st.Offers),
	})
	if !st.LastActivity.IsZero() {
		fields = append(fields, &discordgo.MessageEmbedField{Name: "Last activity", Value: day(st.LastActivity, r.location())})
	}
	return ephemeralEmbed("", &discordgo.MessageEmbed{Title: "Your referrer profile", Fields: fields}), nil
}
