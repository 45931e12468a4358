package commands

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
	"github.com/referralbot/referralbot/storage"
)

// testNow is where the tests' clock starts.
var testNow = time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)

// clock is a settable time shared by the router and the store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func testPolicy() referral.Policy {
	return referral.Policy{OfferTimeout: 72 * time.Hour, ReferrerReminder: 96 * time.Hour,
		Nudges: []time.Duration{7 * 24 * time.Hour, 14 * 24 * time.Hour}, RequestTTL: 30 * 24 * time.Hour,
		MaxOpenPerStudent: 3, DefaultCapacity: 4, Retention: 180 * 24 * time.Hour}
}

// openStore opens the real store on a file in t.TempDir(). It is the one
// place in these tests that knows how storage.Open is called.
func openStore(t *testing.T, now func() time.Time) *storage.Store {
	t.Helper()
	s, err := storage.Open(context.Background(), filepath.Join(t.TempDir(), "commands.db"),
		storage.Options{Policy: testPolicy(), Now: now, Location: time.UTC})
	if err != nil {
		t.Fatalf("storage.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// recorder is a Responder that keeps what it was asked to send.
type recorder struct {
	mu        sync.Mutex
	responses []*discordgo.InteractionResponse
}

func (r *recorder) InteractionRespond(i *discordgo.Interaction, resp *discordgo.InteractionResponse, _ ...discordgo.RequestOption) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.responses = append(r.responses, resp)
	return nil
}

// harness is a router over the real store with a recording responder.
type harness struct {
	t        *testing.T
	clock    *clock
	store    *storage.Store
	router   *Router
	log      *bytes.Buffer
	observed []string // "label result"
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, clock: &clock{t: testNow}, log: &bytes.Buffer{}}
	h.store = openStore(t, h.clock.Now)
	h.router = &Router{
		Store:    h.store,
		Now:      h.clock.Now,
		Location: time.UTC,
		Logger:   slog.New(slog.NewTextHandler(h.log, nil)),
		Observe: func(command, result string, d time.Duration) {
			h.observed = append(h.observed, command+" "+result)
		},
	}
	return h
}

// do runs one interaction and returns the single response it got.
func (h *harness) do(i *discordgo.Interaction) *discordgo.InteractionResponse {
	h.t.Helper()
	rec := &recorder{}
	h.router.Handle(context.Background(), rec, i)
	if len(rec.responses) != 1 {
		h.t.Fatalf("interaction got %d responses; want exactly 1", len(rec.responses))
	}
	return rec.responses[0]
}

// lastResult is what Observe was told about the last interaction.
func (h *harness) lastResult() string {
	if len(h.observed) == 0 {
		return ""
	}
	return h.observed[len(h.observed)-1]
}

// setup runs /referral-admin setup's store call: digest channel 900,
// referrer role 800.
func (h *harness) setup() {
	h.t.Helper()
	if err := h.store.SetupGuild(context.Background(), settingsFixture()); err != nil {
		h.t.Fatalf("SetupGuild: %v", err)
	}
}

// join makes user a referrer at companies: active when holding the
// referrer role, pending otherwise.
func (h *harness) join(user string, active bool, companies ...string) referral.JoinResult {
	h.t.Helper()
	h.setup()
	in := referral.JoinInput{GuildID: testGuild, UserID: user}
	for _, name := range companies {
		in.Companies = append(in.Companies, referral.NormalizeCompany(name))
	}
	if active {
		in.MemberRoles = []string{settingsFixture().ReferrerRoleID}
	}
	res, err := h.store.JoinReferrer(context.Background(), in)
	if err != nil {
		h.t.Fatalf("JoinReferrer(%s): %v", user, err)
	}
	return res
}

// request stores a valid request of student for Amazon with the job link.
func (h *harness) request(student, job string) referral.Request {
	h.t.Helper()
	f := goodFields()
	f.JobURL = job
	sub, err := h.store.CreateRequest(context.Background(), referral.NewRequest{
		GuildID: testGuild, StudentID: student, Company: referral.NormalizeCompany("Amazon"), Fields: f})
	if err != nil {
		h.t.Fatalf("CreateRequest(%s): %v", student, err)
	}
	return sub.Request
}

// offered is request 1 of the student offered to the alumnus: the
// custom_ids of the Accept and Decline buttons of the offer DM.
func (h *harness) offered() (referral.Request, string, string) {
	h.t.Helper()
	h.join(testAlumnus, true, "Amazon")
	req := h.request(testStudent, "https://amazon.jobs/en/jobs/1")
	accept, decline := h.offerButtons(testAlumnus)
	return req, accept, decline
}

// offerButtons are the Accept and Decline custom_ids of the latest offer
// DM queued for the referrer, as the bot would render it.
func (h *harness) offerButtons(referrerID string) (accept, decline string) {
	h.t.Helper()
	var ids []string
	for _, m := range h.outbox() {
		if m.Outgoing.Notice.Kind != referral.NoticeOffer || m.Outgoing.UserID != referrerID {
			continue
		}
		msg, err := RenderNotice(m.Outgoing.Notice, time.UTC)
		if err != nil {
			h.t.Fatalf("RenderNotice(offer): %v", err)
		}
		ids = nil
		for _, b := range buttons(msg.Components) {
			ids = append(ids, b.CustomID)
		}
	}
	if len(ids) != 2 {
		h.t.Fatalf("no offer DM with Accept and Decline queued for %s", referrerID)
	}
	return ids[0], ids[1]
}

// outbox is every queued message, oldest first.
func (h *harness) outbox() []storage.OutboxMessage {
	h.t.Helper()
	msgs, err := h.store.DueOutbox(context.Background(), testNow.AddDate(10, 0, 0), 1000)
	if err != nil {
		h.t.Fatalf("DueOutbox: %v", err)
	}
	return msgs
}

// accepted is request 1 accepted by the alumnus.
func (h *harness) accepted() referral.Request {
	h.t.Helper()
	req, accept, _ := h.offered()
	if resp := h.do(dmButton(testAlumnus, accept)); resp.Type != discordgo.InteractionResponseUpdateMessage {
		h.t.Fatalf("Accept answered type %d (%q)", resp.Type, resp.Data.Content)
	}
	return h.find(testStudent, req.ID)
}

// submitted is request 1 accepted and marked submitted by the alumnus.
func (h *harness) submitted() referral.Request {
	h.t.Helper()
	req := h.accepted()
	if _, err := h.store.MarkSubmitted(context.Background(), req.ID, testAlumnus); err != nil {
		h.t.Fatalf("MarkSubmitted: %v", err)
	}
	return h.find(testStudent, req.ID)
}

// find is one of the student's requests as the store has it now.
func (h *harness) find(student string, id int64) referral.Request {
	h.t.Helper()
	for _, r := range h.requests(student) {
		if r.ID == id {
			return r
		}
	}
	h.t.Fatalf("student %s has no request #%d", student, id)
	return referral.Request{}
}

func (h *harness) requests(student string) []referral.Request {
	h.t.Helper()
	list, err := h.store.StudentRequests(context.Background(), student)
	if err != nil {
		h.t.Fatalf("StudentRequests: %v", err)
	}
	return list
}

// noStore has no store behind it: a handler that touches it panics, and
// the router answers with the apology and the result "error", so a test
// that sees "refused" knows the store was never called.
type noStore struct{ Store }

// stubStore is the real store except where a test sets a function, for
// cases a real store cannot produce (a failing disk, say).
type stubStore struct {
	Store
	submitRequest   func(context.Context, referral.RequestForm) (referral.SubmitResult, error)
	companies       func(context.Context, string) ([]referral.Company, error)
	studentRequests func(context.Context, string) ([]referral.Request, error)
}

func (s stubStore) SubmitRequest(ctx context.Context, in referral.RequestForm) (referral.SubmitResult, error) {
	if s.submitRequest != nil {
		return s.submitRequest(ctx, in)
	}
	return s.Store.SubmitRequest(ctx, in)
}

func (s stubStore) Companies(ctx context.Context, guildID string) ([]referral.Company, error) {
	if s.companies != nil {
		return s.companies(ctx, guildID)
	}
	return s.Store.Companies(ctx, guildID)
}

func (s stubStore) StudentRequests(ctx context.Context, studentID string) ([]referral.Request, error) {
	if s.studentRequests != nil {
		return s.studentRequests(ctx, studentID)
	}
	return s.Store.StudentRequests(ctx, studentID)
}

// fakeMailer records mails and answers with err.
type fakeMailer struct {
	mu   sync.Mutex
	sent []Mail
	err  error
}

func (m *fakeMailer) Send(mail Mail, done func(error)) {
	m.mu.Lock()
	m.sent = append(m.sent, mail)
	err := m.err
	m.mu.Unlock()
	done(err)
}

// Interactions as Discord sends them, built in Go.

const (
	testGuild   = "g1"
	testStudent = "201"
	testAlumnus = "301"
	testAdmin   = "401"
)

func member(userID string, perms int64, roles ...string) *discordgo.Member {
	return &discordgo.Member{User: &discordgo.User{ID: userID}, Permissions: perms, Roles: roles}
}

// slash builds a slash command "name sub" with options in a server.
func slash(userID, name, sub string, opts ...*discordgo.ApplicationCommandInteractionDataOption) *discordgo.Interaction {
	return &discordgo.Interaction{
		ID: "i-" + sub, Type: discordgo.InteractionApplicationCommand, GuildID: testGuild,
		Member: member(userID, 0), Token: "secret-token",
		Data: discordgo.ApplicationCommandInteractionData{Name: name, Options: []*discordgo.ApplicationCommandInteractionDataOption{{
			Name: sub, Type: discordgo.ApplicationCommandOptionSubCommand, Options: opts,
		}}},
	}
}

func str(name, v string) *discordgo.ApplicationCommandInteractionDataOption {
	return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: discordgo.ApplicationCommandOptionString, Value: v}
}

// num is an integer option as JSON decodes it: a float64.
func num(name string, v float64) *discordgo.ApplicationCommandInteractionDataOption {
	return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: discordgo.ApplicationCommandOptionInteger, Value: v}
}

func idOption(name string, typ discordgo.ApplicationCommandOptionType, id string) *discordgo.ApplicationCommandInteractionDataOption {
	return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: typ, Value: id}
}

// dmButton is a button press in a DM: the presser is in User, not Member.
func dmButton(userID, customID string) *discordgo.Interaction {
	return &discordgo.Interaction{
		ID: "i-button", Type: discordgo.InteractionMessageComponent, User: &discordgo.User{ID: userID}, Token: "secret-token",
		Data:    discordgo.MessageComponentInteractionData{CustomID: customID, ComponentType: discordgo.ButtonComponent},
		Message: &discordgo.Message{ID: "m1", Embeds: []*discordgo.MessageEmbed{{Title: "kept"}}},
	}
}

// guildButton is a button press on an ephemeral reply in a server.
func guildButton(userID, customID string) *discordgo.Interaction {
	i := dmButton(userID, customID)
	i.User, i.GuildID, i.Member = nil, testGuild, member(userID, 0)
	return i
}

func modalSubmit(userID, customID string, f referral.RequestFields) *discordgo.Interaction {
	input := func(id, v string) discordgo.MessageComponent {
		return &discordgo.ActionsRow{Components: []discordgo.MessageComponent{&discordgo.TextInput{CustomID: id, Value: v}}}
	}
	return &discordgo.Interaction{
		ID: "i-modal", Type: discordgo.InteractionModalSubmit, GuildID: testGuild, Member: member(userID, 0), Token: "secret-token",
		Data: discordgo.ModalSubmitInteractionData{CustomID: customID, Components: []discordgo.MessageComponent{
			input("job_url", f.JobURL), input("role", f.Role), input("intro", f.Intro),
			input("resume_url", f.ResumeURL), input("note", f.Note),
		}},
	}
}

// goodFields pass validation.
func goodFields() referral.RequestFields {
	return referral.RequestFields{
		JobURL:    "https://amazon.jobs/en/jobs/2801234/software-development-engineer-intern",
		Role:      "Software Development Engineer Intern",
		Intro:     "I'm a third-year computer science student at McGill. Last summer I built a Kafka-based log pipeline at a fintech startup, and I'd love to work on distributed systems at AWS.",
		ResumeURL: "https://drive.google.com/file/d/abc123/view",
		Note:      "The posting asks for Java and distributed systems; my pipeline handled 2M events a day.",
	}
}

// Checks shared by the tests.

func mustEphemeral(t *testing.T, resp *discordgo.InteractionResponse) {
	t.Helper()
	if resp.Type != discordgo.InteractionResponseChannelMessageWithSource || resp.Data == nil || resp.Data.Flags&discordgo.MessageFlagsEphemeral == 0 {
		t.Fatalf("response type %d flags %v; want an ephemeral message", resp.Type, flagsOf(resp))
	}
	mustNotPing(t, resp.Data.AllowedMentions)
}

func flagsOf(resp *discordgo.InteractionResponse) discordgo.MessageFlags {
	if resp.Data == nil {
		return 0
	}
	return resp.Data.Flags
}

func mustNotPing(t *testing.T, m *discordgo.MessageAllowedMentions, allowedUsers ...string) {
	t.Helper()
	if m == nil || m.Parse == nil || len(m.Parse) != 0 {
		t.Fatalf("allowed_mentions = %+v; want parse: [] set", m)
	}
	if len(m.Roles) != 0 {
		t.Errorf("allowed_mentions roles = %v; want none", m.Roles)
	}
	if strings.Join(m.Users, ",") != strings.Join(allowedUsers, ",") {
		t.Errorf("allowed_mentions users = %v; want %v", m.Users, allowedUsers)
	}
}

// buttons lists the buttons of a component list.
func buttons(comps []discordgo.MessageComponent) []discordgo.Button {
	var out []discordgo.Button
	for _, c := range comps {
		switch v := c.(type) {
		case discordgo.ActionsRow:
			out = append(out, buttons(v.Components)...)
		case *discordgo.ActionsRow:
			out = append(out, buttons(v.Components)...)
		case discordgo.Button:
			out = append(out, v)
		case *discordgo.Button:
			out = append(out, *v)
		}
	}
	return out
}

func buttonLabels(comps []discordgo.MessageComponent) string {
	var labels []string
	for _, b := range buttons(comps) {
		labels = append(labels, b.Label)
	}
	return strings.Join(labels, ",")
}

func textInputs(comps []discordgo.MessageComponent) []discordgo.TextInput {
	var out []discordgo.TextInput
	for _, c := range comps {
		switch v := c.(type) {
		case discordgo.ActionsRow:
			out = append(out, textInputs(v.Components)...)
		case discordgo.TextInput:
			out = append(out, v)
		}
	}
	return out
}

var errBoom = errors.New("database is locked at /var/lib/referralbot.db")

func settingsFixture() referral.GuildSettings {
	return referral.GuildSettings{GuildID: testGuild, DigestChannelID: "900", ReferrerRoleID: "800"}
}

func sampleDigest() referral.Digest {
	return referral.Digest{
		GuildID: "g1", Week: "2026-W48",
		From: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC),
		NewRequests: 7, Matched: 5, Submitted: 4, Screens: 2, Interviews: 1, Offers: 1,
		MedianAccept:   26 * time.Hour,
		Wanted:         []referral.Wanted{{Company: "Stripe", Waiting: 1}, {Company: "Amazon", Waiting: 3}},
		ThankReferrers: []string{"501", "502"},
		History:        []referral.WeekCounts{{Week: "2026-W47", Requests: 3}, {Week: "2026-W48", Requests: 7, Submitted: 4}},
	}
}

// modalNewID is the request modal's custom_id for a company key.
func modalNewID(key string) string { return customID{Pattern: modalNew, Company: key}.String() }
