package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/bwmarrin/discordgo"

	"github.com/referralbot/referralbot/discordtest"
)

// world is the community the load comes from, the same in both fakes.
type world struct {
	guild, general, digest, fallback string
	refRole, adminRole, admin        string
	companies                        []string
	referrers                        []string
	students                         []string
}

func newWorld(students, referrers, companies int) *world {
	w := &world{guild: "700000000000000001", general: "710000000000000001", digest: "710000000000000002",
		fallback: "710000000000000003", refRole: "720000000000000001", adminRole: "720000000000000002",
		admin: "730000000000000001"}
	for i := range companies {
		w.companies = append(w.companies, fmt.Sprintf("Company %03d", i+1))
	}
	for i := range referrers {
		w.referrers = append(w.referrers, fmt.Sprintf("74%016d", i+1))
	}
	for i := range students {
		w.students = append(w.students, fmt.Sprintf("75%016d", i+1))
	}
	return w
}

// populate adds the guild, its roles and every member to a fake.
func (w *world) populate(dc *discordtest.Server) {
	dc.AddGuild(discordtest.Guild{ID: w.guild, Name: "Load Test Alumni", OwnerID: w.admin,
		Channels: []discordtest.Channel{{ID: w.general, Name: "general"}, {ID: w.digest, Name: "referral-digest"}, {ID: w.fallback, Name: "bot-help"}},
		Roles: []discordtest.Role{{ID: w.refRole, Name: "Referrer"},
			{ID: w.adminRole, Name: "Admin", Permissions: discordgo.PermissionManageServer}},
	})
	dc.AddUser(discordtest.User{ID: w.admin, Username: "admin"})
	dc.AddMember(w.guild, w.admin, w.adminRole)
	for i, id := range w.referrers {
		dc.AddUser(discordtest.User{ID: id, Username: fmt.Sprintf("referrer%d", i+1)})
		dc.AddMember(w.guild, id, w.refRole)
	}
	for i, id := range w.students {
		dc.AddUser(discordtest.User{ID: id, Username: fmt.Sprintf("student%d", i+1)})
		dc.AddMember(w.guild, id)
	}
}

// companyOf spreads referrers over companies round robin.
func (w *world) companyOf(referrer int) string { return w.companies[referrer%len(w.companies)] }

// setUp makes the bot's world through real interactions: the admin's
// setup, then every referrer's /referrer join with the capacity.
func (w *world) setUp(ctx context.Context, dc *discordtest.Server, capacity int) error {
	if _, err := ask(ctx, dc, discordtest.Command{GuildID: w.guild, ChannelID: w.general, UserID: w.admin,
		Name: "referral-admin", Subcommand: "setup", Options: []discordtest.Option{
			{Name: "digest_channel", Value: w.digest}, {Name: "fallback_channel", Value: w.fallback},
			{Name: "referrer_role", Value: w.refRole}}}); err != nil {
		return fmt.Errorf("set-up: /referral-admin setup: %w", err)
	}
	return parallel(ctx, len(w.referrers), 16, func(i int) error {
		_, err := ask(ctx, dc, discordtest.Command{GuildID: w.guild, ChannelID: w.general, UserID: w.referrers[i],
			Name: "referrer", Subcommand: "join", Options: []discordtest.Option{
				{Name: "companies", Value: w.companyOf(i)}, {Name: "capacity", Value: capacity}}})
		if err != nil {
			return fmt.Errorf("set-up: /referrer join for referrer %d: %w", i+1, err)
		}
		return nil
	})
}

// ask runs a command and waits for its answer.
func ask(ctx context.Context, dc *discordtest.Server, c discordtest.Command) (*discordtest.Response, error) {
	in, err := dc.RunCommand(ctx, c)
	if err != nil {
		return nil, err
	}
	return in.Response(ctx)
}

// request opens the request modal for a student and submits it with a
// job link under path; it waits for both answers.
func (w *world) request(ctx context.Context, dc *discordtest.Server, student, company, jobURL string) error {
	modal, err := ask(ctx, dc, discordtest.Command{GuildID: w.guild, ChannelID: w.general, UserID: student,
		Name: "referral", Subcommand: "request", Options: []discordtest.Option{{Name: "company", Value: company}}})
	if err != nil {
		return err
	}
	if modal.Type != discordgo.InteractionResponseModal {
		return fmt.Errorf("/referral request answered with type %d, not a modal: %q", modal.Type, modal.Text())
	}
	in, err := dc.SubmitModal(ctx, discordtest.ModalSubmit{Modal: modal, Values: requestValues(student, jobURL)})
	if err != nil {
		return err
	}
	_, err = in.Response(ctx)
	return err
}

func requestValues(student, jobURL string) map[string]string {
	return map[string]string{
		"job_url": jobURL,
		"role":    "Software Engineer Intern, backend",
		"intro": "I'm a third-year CS student. Last summer I interned at a logistics startup, where I built a Go " +
			"service that cut route-planning time by 40%. I'm applying for this internship on the platform team.",
		"resume_url": "https://drive.example.org/resume-" + student + ".pdf",
	}
}

// parallel runs f(0..n-1) with at most width at a time and returns the
// first error.
func parallel(ctx context.Context, n, width int, f func(i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(width, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					cancel(err)
				}
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}
