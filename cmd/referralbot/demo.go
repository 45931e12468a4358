package main

import (
	"context"
	"errors"
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
	shown map[string]bool    // DMs already printed, by message id
	files []discordtest.File // attached to the digest
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	verbose := fs.Bool("v", false, "also print the bot's logs")
	outDir := fs.String("out", "", "keep the transcript (transcript.txt), the digest chart and the database (demo.db) in this directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("demo: unexpected argument %q; flags are -out DIR and -v", fs.Arg(0))
	}
	// Printed before any work, so a newcomer knows what the wait is for.
	fmt.Fprintln(stdout, "referralbot demo: the real bot against a built-in fake Discord, about 20 seconds "+
		"(a first `go run` spends about a minute compiling SQLite before this line)")

	dir := *outDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "referralbot-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := prepareDemoDir(dir); err != nil {
		return err
	}
	out := stdout
	var transcript *os.File
	if *outDir != "" {
		f, err := os.Create(filepath.Join(dir, "transcript.txt"))
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		transcript = f
		out = io.MultiWriter(stdout, f)
	}
	logOut := io.Discard
	if *verbose {
		logOut = stderr
	}

	files, err := playDemo(ctx, out, logOut, filepath.Join(dir, "demo.db"))
	if transcript == nil {
		return err
	}
	// With -out, keep what there is even when the demo failed: it shows how far it got.
	kept := []string{"transcript.txt"}
	for _, f := range files {
		name := filepath.Base(f.Name)
		if werr := os.WriteFile(filepath.Join(dir, name), f.Data, 0o644); werr != nil {
			err = errors.Join(err, fmt.Errorf("demo: %w", werr))
			continue
		}
		kept = append(kept, name)
	}
	kept = append(kept, "demo.db")
	err = errors.Join(err, transcript.Close())
	fmt.Fprintf(stdout, "\nKept in %s: %s (open the database with: sqlite3 %s)\n", dir, strings.Join(kept, ", "), filepath.Join(dir, "demo.db"))
	return err
}

// prepareDemoDir creates dir if needed; a demo.db from an earlier run would
// mix its requests into this one, so it is refused.
func prepareDemoDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("demo -out: %w", err)
	}
	db := filepath.Join(dir, "demo.db")
	if _, err := os.Stat(db); err == nil {
		return fmt.Errorf("demo -out: %s is left from an earlier run; delete it or choose another directory", db)
	}
	return nil
}

// playDemo runs the bot on dbPath against a fresh fake Discord, plays the
// script and stops the bot, so the database is closed when it returns. It
// returns the files attached to the digest.
func playDemo(ctx context.Context, out, logOut io.Writer, dbPath string) ([]discordtest.File, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	dc, err := discordtest.New()
	if err != nil {
		return nil, fmt.Errorf("start fake discord: %w", err)
	}
	defer dc.Close()
	buildDemoWorld(dc)

	cfg := config.Default()
	cfg.Discord.Token = "demo-token"
	cfg.Discord.GuildIDs = []string{demoGuild}
	cfg.Discord.APIURL = dc.URL()
	cfg.Database.Path = dbPath
	cfg.HTTP.Listen = ""
	cfg.Schedule.Sweep = "@every 1s"
	cfg.Referrals.OfferTimeout = config.Duration(30 * time.Second)
	cfg.Referrals.ReferrerReminder = config.Duration(2 * time.Second)
	cfg.Referrals.Nudges = []config.Duration{config.Duration(2 * time.Second), config.Duration(4 * time.Second)}
	cfg.Referrals.RequestTTL = config.Duration(6 * time.Second)
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelInfo}))

	botCtx, stopBot := context.WithCancel(ctx)
	b, err := bot.New(botCtx, cfg, logger, bot.WithOutboxPoll(100*time.Millisecond))
	if err != nil {
		stopBot()
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(botCtx) }()
	stop := func() error {
		stopBot()
		return <-done
	}
	select {
	case <-b.Ready():
	case err := <-done:
		stopBot()
		return nil, fmt.Errorf("bot stopped: %w", err)
	case <-ctx.Done():
		return nil, errors.Join(ctx.Err(), stop())
	}

	d := &demo{out: out, dc: dc, ctx: ctx, shown: map[string]bool{}}
	if err := d.play(); err != nil {
		return d.files, errors.Join(fmt.Errorf("demo: %w", err), stop())
	}
	return d.files, stop()
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
	d.note("bob declines; the bot asks the next referrer at once and lets bob say why")
	declined, err := d.press(demoBob, offer, "Decline")
	if err != nil {
		return err
	}
	if _, err := d.press(demoBob, declined.Message(), "The request needs more detail"); err != nil {
		return err
	}
	d.note("a decline that teaches: sam hears what to strengthen, never who asked")
	tips, err := d.waitDM(demoSam, "more detail")
	if err != nil {
		return err
	}
	modal, err = d.press(demoSam, tips, "Edit request")
	if err != nil {
		return err
	}
	if _, err := d.submit(demoSam, modal, map[string]string{
		"job_url": "https://www.amazon.jobs/en/jobs/2840123/software-development-engineer-intern",
		"role":    "Software Development Engineer Intern, backend",
		"intro": "I'm a third-year CS student at State University. Last summer I interned at a logistics startup, " +
			"where I built a Go service that cut route-planning time by 40%. I'm applying for Amazon's SDE internship, " +
			"and I maintain the course's autograder, used by 600 students a term.",
		"resume_url": "https://drive.example.org/sam-resume.pdf",
		"note":       "The team builds fulfilment services, close to what I did on routing.",
	}); err != nil {
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
	if _, err := d.waitDMButton(demoAlice, "Referral submitted"); err != nil {
		return err
	}

	d.section("alice has not submitted yet: one reminder (after 2 seconds here, 4 days in a real server)")
	reminder, err := d.waitDM(demoAlice, "Referral submitted")
	if err != nil {
		return err
	}
	if _, err := d.press(demoAlice, reminder, "Referral submitted"); err != nil {
		return err
	}
	if _, err := d.waitDM(demoSam, "<@"+demoAlice+">"); err != nil { // told it is in
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

	d.section("The second follow-up (4 seconds here, 14 days in a real server)")
	followUp, err = d.waitDM(demoSam, "Rejected")
	if err != nil {
		return err
	}
	d.note("sam was not selected this time")
	if _, err := d.press(demoSam, followUp, "Rejected"); err != nil {
		return err
	}
	if _, err := d.press(demoSam, followUp, "Keep me in mind"); err != nil {
		return err
	}
	if _, err := d.waitDM(demoAlice, "in mind"); err != nil {
		return err
	}
	if _, err := d.command(demoSam, "referral", "status"); err != nil {
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
	d.files = digest.Files

	d.section("The admin's numbers for the server")
	if _, err := d.command(demoAdmin, "referral-admin", "stats"); err != nil {
		return err
	}
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
	resp, err := in.Answer(d.ctx)
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
	resp, err := in.Answer(d.ctx)
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

// waitDM waits for a DM to user not shown yet that contains the text or
// offers the button, and shows it after any earlier DMs not shown yet.
func (d *demo) waitDM(user, contains string) (*discordtest.Message, error) {
	m, err := d.dc.WaitDM(d.ctx, user, func(m *discordtest.Message) bool {
		return !d.shown[m.ID] && (strings.Contains(m.Text(), contains) || hasButton(m, contains))
	})
	if err != nil {
		return nil, fmt.Errorf("waiting for a DM to %s: %w", d.name(user), err)
	}
	for _, earlier := range d.dc.DMs(user) {
		if earlier.ID == m.ID {
			break
		}
		if !d.shown[earlier.ID] {
			d.shown[earlier.ID] = true
			d.show("DM to "+d.name(user), earlier)
		}
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
