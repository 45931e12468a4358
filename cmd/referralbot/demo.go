package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/referralbot/referralbot/bot"
	"github.com/referralbot/referralbot/config"
	"github.com/referralbot/referralbot/discordtest"
)

// The demo community.
const (
	demoGuild    = "900000000000000001"
	demoGeneral  = "910000000000000001"
	demoDigest   = "910000000000000002"
	demoFallback = "910000000000000003"
	demoRefRole  = "920000000000000001"
	demoAdmRole  = "920000000000000002"
	demoAdmin    = "930000000000000001"
	demoAlice    = "930000000000000002"
	demoBob      = "930000000000000003"
	demoDana     = "930000000000000004"
	demoSam      = "930000000000000005"
	demoTia      = "930000000000000006"
)

// demo plays a scripted community against the real bot and an in-process
// fake Discord, printing what the fake Discord received.
type demo struct {
	out   io.Writer
	dc    *discordtest.Server
	ctx   context.Context
	shown map[string]bool // DMs already printed, by message id
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	verbose := fs.Bool("v", false, "also print the bot's logs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	dir, err := os.MkdirTemp("", "referralbot-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	dc, err := discordtest.New()
	if err != nil {
		return fmt.Errorf("start fake discord: %w", err)
	}
	defer dc.Close()
	buildDemoWorld(dc)

	cfg := config.Default()
	cfg.Discord.Token = "demo-token"
	cfg.Discord.GuildIDs = []string{demoGuild}
	cfg.Discord.APIURL = dc.URL()
	cfg.Database.Path = filepath.Join(dir, "demo.db")
	cfg.HTTP.Listen = ""
	cfg.Schedule.Sweep = "@every 1s"
	cfg.Referrals.OfferTimeout = config.Duration(30 * time.Second)
	cfg.Referrals.ReferrerReminder = config.Duration(30 * time.Second)
	cfg.Referrals.Nudges = []config.Duration{config.Duration(2 * time.Second), config.Duration(20 * time.Second)}
	cfg.Referrals.RequestTTL = config.Duration(6 * time.Second)
	logOut := io.Discard
	if *verbose {
		logOut = stderr
	}
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelInfo}))

	botCtx, stopBot := context.WithCancel(ctx)
	b, err := bot.New(botCtx, cfg, logger, bot.WithOutboxPoll(100*time.Millisecond))
	if err != nil {
		stopBot()
		return err
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(botCtx) }()
	defer func() {
		stopBot()
		<-done
	}()
	select {
	case <-b.Ready():
	case err := <-done:
		return fmt.Errorf("bot stopped: %w", err)
	case <-ctx.Done():
		return ctx.Err()
	}

	d := &demo{out: stdout, dc: dc, ctx: ctx, shown: map[string]bool{}}
	if err := d.play(); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}

func buildDemoWorld(dc *discordtest.Server) {
	dc.AddGuild(discordtest.Guild{ID: demoGuild, Name: "State U Computer Science", OwnerID: demoAdmin,
		Channels: []discordtest.Channel{{ID: demoGeneral, Name: "general"}, {ID: demoDigest, Name: "referral-digest"}, {ID: demoFallback, Name: "bot-help"}},
		Roles:    []discordtest.Role{{ID: demoRefRole, Name: "Alumni Referrer"}, {ID: demoAdmRole, Name: "Moderator", Permissions: discordgo.PermissionManageServer}},
	})
	for _, u := range []discordtest.User{
		{ID: demoAdmin, Username: "maya_mod"}, {ID: demoAlice, Username: "alice_aws"}, {ID: demoBob, Username: "bob_amzn"},
		{ID: demoDana, Username: "dana_new"}, {ID: demoSam, Username: "sam_student"}, {ID: demoTia, Username: "tia_student"},
	} {
		dc.AddUser(u)
	}
	dc.AddMember(demoGuild, demoAdmin, demoAdmRole)
	dc.AddMember(demoGuild, demoAlice, demoRefRole)
	dc.AddMember(demoGuild, demoBob, demoRefRole)
	dc.AddMember(demoGuild, demoDana)
	dc.AddMember(demoGuild, demoSam)
	dc.AddMember(demoGuild, demoTia)
}

func (d *demo) play() error {
	d.section("An admin sets the server up")
	if _, err := d.command(demoAdmin, "referral-admin", "setup", discordtest.Option{Name: "digest_channel", Value: demoDigest},
		discordtest.Option{Name: "fallback_channel", Value: demoFallback}, discordtest.Option{Name: "referrer_role", Value: demoRefRole}); err != nil {
		return err
	}

	d.section("Alumni join as referrers")
	if _, err := d.command(demoAlice, "referrer", "join", discordtest.Option{Name: "companies", Value: "AWS"},
		discordtest.Option{Name: "roles", Value: "data engineering"}, discordtest.Option{Name: "capacity", Value: 3}); err != nil {
		return err
	}
	if _, err := d.command(demoBob, "referrer", "join", discordtest.Option{Name: "companies", Value: "Amazon"},
		discordtest.Option{Name: "roles", Value: "software engineering, backend"}, discordtest.Option{Name: "school", Value: "State University"}); err != nil {
		return err
	}
	d.note("dana does not hold the referrer role, so she waits for an admin")
	if _, err := d.command(demoDana, "referrer", "join", discordtest.Option{Name: "companies", Value: "Google"}); err != nil {
		return err
	}
	if _, err := d.command(demoAdmin, "referral-admin", "approve", discordtest.Option{Name: "user", Value: demoDana}); err != nil {
		return err
	}

	d.section("A student asks for a referral, too vaguely at first")
	modal, err := d.command(demoSam, "referral", "request", discordtest.Option{Name: "company", Value: "Amazon"})
	if err != nil {
		return err
	}
	reply, err := d.submit(demoSam, modal, map[string]string{
		"job_url": "amazon.jobs/sde-intern", "role": "SDE intern",
		"intro":      "hi!! can you refer me please? thanks so much, I really really need this, please please refer me asap!!!",
		"resume_url": "my resume is on linkedin",
	})
	if err != nil {
		return err
	}
	d.note("sam presses Edit request: the form comes back with what was typed")
	modal, err = d.press(demoSam, reply.Message(), "Edit request")
	if err != nil {
		return err
	}
	if _, err := d.submit(demoSam, modal, map[string]string{
		"job_url": "https://www.amazon.jobs/en/jobs/2840123/software-development-engineer-intern",
		"role":    "Software Development Engineer Intern, backend",
		"intro": "I'm a third-year CS student at State University. Last summer I interned at a logistics startup, " +
			"where I built a Go service that cut route-planning time by 40%. I'm applying for Amazon's SDE internship.",
		"resume_url": "https://drive.example.org/sam-resume.pdf",
		"note":       "The team builds fulfilment services, close to what I did on routing.",
	}); err != nil {
		return err
	}

	d.section("The best referrer is asked first: bob shares sam's school")
	offer, err := d.waitDM(demoBob, "Accept")
	if err != nil {
		return err
	}
	d.note("bob is busy this week and declines; the bot asks the next referrer")
	if _, err := d.press(demoBob, offer, "Decline"); err != nil {
		return err
	}
	offer, err = d.waitDM(demoAlice, "Accept")
	if err != nil {
		return err
	}
	if _, err := d.press(demoAlice, offer, "Accept"); err != nil {
		return err
	}
	if _, err := d.waitDM(demoSam, "<@"+demoAlice+">"); err != nil {
		return err
	}
	submitted, err := d.waitDMButton(demoAlice, "Referral submitted")
	if err != nil {
		return err
	}
	if _, err := d.press(demoAlice, submitted, "Referral submitted"); err != nil {
		return err
	}

	d.section("A follow-up reaches the student (after 2 seconds here, 7 days in a real server)")
	followUp, err := d.waitDMButton(demoSam, "Interviewing")
	if err != nil {
		return err
	}
	if _, err := d.press(demoSam, followUp, "Interviewing"); err != nil {
		return err
	}
	if _, err := d.waitDM(demoAlice, "nterview"); err != nil {
		return err
	}

	d.section("A request nobody can take expires (6 seconds here, 30 days in a real server)")
	modal, err = d.command(demoTia, "referral", "request", discordtest.Option{Name: "company", Value: "Stripe"})
	if err != nil {
		return err
	}
	if _, err := d.submit(demoTia, modal, map[string]string{
		"job_url": "https://stripe.com/jobs/listing/new-grad-engineer/5000001", "role": "New Grad Software Engineer",
		"intro": "I'm graduating from State University in May with a CS degree. I led our payments club's project " +
			"integrating card payments into the campus store, and I'd love to work on Stripe's APIs.",
		"resume_url": "https://drive.example.org/tia-resume.pdf",
	}); err != nil {
		return err
	}
	if _, err := d.waitDM(demoTia, "xpired"); err != nil {
		return err
	}

	d.section("The weekly digest (posted now on an admin's request)")
	if _, err := d.command(demoAdmin, "referral-admin", "digest-now"); err != nil {
		return err
	}
	digest, err := d.dc.WaitChannelMessage(d.ctx, demoDigest, nil)
	if err != nil {
		return fmt.Errorf("no digest: %w", err)
	}
	d.show("#referral-digest", digest)
	d.section("Done")
	fmt.Fprintf(d.out, "The fake Discord received %d REST calls; every message above is what it recorded.\n", len(d.dc.Requests()))
	return nil
}

func (d *demo) section(title string) {
	fmt.Fprintf(d.out, "\n== %s ==\n", title)
}

func (d *demo) note(s string) { fmt.Fprintf(d.out, "   (%s)\n", s) }

func (d *demo) name(id string) string { return "@" + d.dc.Username(id) }

// label shows an option value as Discord's client would: names, not ids.
func (d *demo) label(v any) string {
	switch v {
	case demoDigest:
		return "#referral-digest"
	case demoGeneral:
		return "#general"
	case demoFallback:
		return "#bot-help"
	case demoRefRole:
		return "@Alumni Referrer"
	}
	if s, ok := v.(string); ok && strings.HasPrefix(s, "93") && len(s) == len(demoAdmin) {
		return d.name(s)
	}
	return fmt.Sprint(v)
}

func (d *demo) command(user, name, sub string, opts ...discordtest.Option) (*discordtest.Response, error) {
	var parts []string
	for _, o := range opts {
		parts = append(parts, fmt.Sprintf("%s:%s", o.Name, d.label(o.Value)))
	}
	fmt.Fprintf(d.out, "\n%s runs /%s %s %s\n", d.name(user), name, sub, strings.Join(parts, " "))
	in, err := d.dc.RunCommand(d.ctx, discordtest.Command{GuildID: demoGuild, ChannelID: demoGeneral, UserID: user, Name: name, Subcommand: sub, Options: opts})
	if err != nil {
		return nil, err
	}
	return d.response(in)
}

func (d *demo) response(in *discordtest.Interaction) (*discordtest.Response, error) {
	resp, err := in.Response(d.ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.Type == discordgo.InteractionResponseModal:
		fmt.Fprintf(d.out, "   bot opens the form %q\n", resp.Data.Title)
	case resp.Message() != nil:
		who := "bot replies"
		if resp.Ephemeral {
			who = "bot replies (only they see it)"
		}
		d.show(who, resp.Message())
	}
	return resp, nil
}

func (d *demo) submit(user string, modal *discordtest.Response, values map[string]string) (*discordtest.Response, error) {
	fmt.Fprintf(d.out, "\n%s fills in the form:\n", d.name(user))
	for _, id := range []string{"job_url", "role", "intro", "resume_url", "note"} {
		if v, ok := values[id]; ok {
			fmt.Fprintf(d.out, "     %-10s %s\n", id+":", v)
		}
	}
	in, err := d.dc.SubmitModal(d.ctx, discordtest.ModalSubmit{UserID: user, Modal: modal, Values: values})
	if err != nil {
		return nil, err
	}
	return d.response(in)
}

func (d *demo) press(user string, m *discordtest.Message, label string) (*discordtest.Response, error) {
	fmt.Fprintf(d.out, "\n%s presses [%s]\n", d.name(user), label)
	in, err := d.dc.PressButton(d.ctx, discordtest.Press{UserID: user, Message: m, Label: label})
	if err != nil {
		return nil, err
	}
	resp, err := in.Response(d.ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.Type == discordgo.InteractionResponseModal:
		fmt.Fprintf(d.out, "   bot opens the form %q\n", resp.Data.Title)
	case resp.Type == discordgo.InteractionResponseUpdateMessage:
		// The message keeps its embed; show what changed: the text and buttons.
		msg := resp.Message()
		d.shown[msg.ID] = true
		d.show("bot updates the message", &discordtest.Message{Content: msg.Content, Components: msg.Components})
	case resp.Message() != nil:
		d.show("bot replies (only they see it)", resp.Message())
	}
	return resp, nil
}

func (d *demo) waitDM(user, contains string) (*discordtest.Message, error) {
	m, err := d.dc.WaitDM(d.ctx, user, func(m *discordtest.Message) bool {
		return !d.shown[m.ID] && (strings.Contains(m.Text(), contains) || hasButton(m, contains))
	})
	if err != nil {
		return nil, fmt.Errorf("waiting for a DM to %s: %w", d.name(user), err)
	}
	d.shown[m.ID] = true
	d.show("DM to "+d.name(user), m)
	return m, nil
}

// waitDMButton waits for a DM offering the button, also on a message shown
// before and since updated.
func (d *demo) waitDMButton(user, label string) (*discordtest.Message, error) {
	m, err := d.dc.WaitDM(d.ctx, user, func(m *discordtest.Message) bool { return hasButton(m, label) })
	if err != nil {
		return nil, fmt.Errorf("waiting for a DM to %s with [%s]: %w", d.name(user), label, err)
	}
	if !d.shown[m.ID] {
		d.shown[m.ID] = true
		d.show("DM to "+d.name(user), m)
	}
	return m, nil
}

var mentionPattern = regexp.MustCompile(`<([@#])&?(\d+)>`)

// readable shows mentions as Discord's client renders them.
func (d *demo) readable(s string) string {
	return mentionPattern.ReplaceAllStringFunc(s, func(m string) string {
		id := mentionPattern.FindStringSubmatch(m)[2]
		if l := d.label(id); l != id {
			return l
		}
		return m
	})
}

func hasButton(m *discordtest.Message, label string) bool {
	for _, b := range m.Buttons() {
		if b.Label == label && !b.Disabled {
			return true
		}
	}
	return false
}

// show prints a message as a person would read it, with its buttons.
func (d *demo) show(who string, m *discordtest.Message) {
	fmt.Fprintf(d.out, "   %s:\n", who)
	for _, line := range strings.Split(strings.TrimSpace(d.readable(m.Text())), "\n") {
		fmt.Fprintf(d.out, "   │ %s\n", line)
	}
	var labels []string
	for _, b := range m.Buttons() {
		if !b.Disabled {
			labels = append(labels, "["+b.Label+"]")
		}
	}
	if len(labels) > 0 {
		fmt.Fprintf(d.out, "   │ %s\n", strings.Join(labels, " "))
	}
	for _, f := range m.Files {
		fmt.Fprintf(d.out, "   │ attachment: %s (%d bytes)\n", f.Name, len(f.Data))
	}
}
