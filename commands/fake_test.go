package commands

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

// testNow is the fixed clock of the tests.
var testNow = time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)

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

// fakeOffer is an offer of one request to one referrer.
type fakeOffer struct {
	requestID  int64
	referrerID string
	answered   bool
	movedOn    bool
}

// fakeStore keeps state in maps and records which methods were called.
type fakeStore struct {
	mu        sync.Mutex
	calls     []string
	fail      map[string]error // method name -> error to return
	settings  map[string]referral.GuildSettings
	referrers map[string]referral.Referrer // guild + "/" + user
	companies []referral.Company
	drafts    map[int64]referral.DraftRequest
	requests  map[int64]referral.Request
	offers    map[int64]*fakeOffer
	export    []referral.ExportRow
	nextID    int64
	joined    referral.JoinInput
}

func newFakeStore() *fakeStore {
	return &fakeStore{
		fail:      map[string]error{},
		settings:  map[string]referral.GuildSettings{},
		referrers: map[string]referral.Referrer{},
		drafts:    map[int64]referral.DraftRequest{},
		requests:  map[int64]referral.Request{},
		offers:    map[int64]*fakeOffer{},
		nextID:    100,
	}
}

// called records a call and returns the error the test asked for.
func (s *fakeStore) called(name string) error {
	s.calls = append(s.calls, name)
	return s.fail[name]
}

func (s *fakeStore) callCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

func (s *fakeStore) GuildSettings(ctx context.Context, guildID string) (referral.GuildSettings, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.called("GuildSettings"); err != nil {
		return referral.GuildSettings{}, err
	}
	g, ok := s.settings[guildID]
	if !ok {
		return referral.GuildSettings{}, referral.ErrNotFound
	}
	return g, nil
}

func (s *fakeStore) SetupGuild(ctx context.Context, g referral.GuildSettings) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.called("SetupGuild"); err != nil {
		return err
	}
	s.settings[g.GuildID] = g
	return nil
}

func (s *fakeStore) JoinReferrer(ctx context.Context, in referral.JoinInput) (referral.JoinResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.called("JoinReferrer"); err != nil {
		return referral.JoinResult{}, err
	}
	s.joined = in
	status := referral.Pending
	role := s.settings[in.GuildID].ReferrerRoleID
	for _, r := range in.MemberRoles {
		if role != "" && r == role {
			status = referral.Active
		}
	}
	capacity := in.Capacity
	if capacity == 0 {
		capacity = 4
	}
	ref := referral.Referrer{GuildID: in.GuildID, UserID: in.UserID, Status: status, Companies: in.Companies, Capacity: capacity}
	s.referrers[in.GuildID+"/"+in.UserID] = ref
	return referral.JoinResult{Referrer: ref, Created: true, Offered: []int64{7, 8}}, nil
}

func (s *fakeStore) referrer(guildID, userID string) (referral.Referrer, error) {
	ref, ok := s.referrers[guildID+"/"+userID]
	if !ok {
		return referral.Referrer{}, referral.ErrNotReferrer
	}
	return ref, nil
}

func (s *fakeStore) PauseReferrer(ctx context.Context, guildID, userID string, until time.Time) (referral.Referrer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.called("PauseReferrer"); err != nil {
		return referral.Referrer{}, err
	}
	ref, err := s.referrer(guildID, userID)
	if err != nil {
		return ref, err
	}
	ref.Status, ref.PausedUntil = referral.Paused, until
	s.referrers[guildID+"/"+userID] = ref
	return ref, nil
}

func (s *fakeStore) ResumeReferrer(ctx context.Context, guildID, userID string) (referral.Referrer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.called("ResumeReferrer"); err != nil {
		return referral.Referrer{}, err
	}
	ref, err := s.referrer(guildID, userID)
	if err != nil {
		return ref, err
	}
	ref.Status = referral.Active
	s.referrers[guildID+"/"+userID] = ref
	return ref, nil
}

func (s *fakeStore) LeaveReferrer(ctx context.Context, guildID, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.called("LeaveReferrer"); err != nil {
		return err
	}
	if _, err := s.referrer(guildID, userID); err != nil {
		return err
	}
	delete(s.referrers, guildID+"/"+userID)
	return nil
}

func (s *fakeStore) ReferrerProfile(ctx context.Context, guildID, userID string) (referral.ReferrerRow, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.called("ReferrerProfile"); err != nil {
		return referral.ReferrerRow{}, err
	}
	ref, err := s.referrer(guildID, userID)
	return referral.ReferrerRow{Referrer: ref, Stats: referral.ReferrerStats{UsedInWindow: 1, Accepted: 3, Submitted: 2}}, err
}

func (s *fakeStore) ApproveReferrer(ctx context.Context, guildID, userID, adminID string) (referral.Referrer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.called("ApproveReferrer"); err != nil {
		return referral.Referrer{}, err
	}
	ref, err := s.referrer(guildID, userID)
	if err != nil {
		return ref, err
	}
	ref.Status = referral.Active
	s.referrers[guildID+"/"+userID] = ref
	return ref, nil
}

func (s *fakeStore) RemoveReferrer(ctx context.Context, guildID, userID, adminID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.called("RemoveReferrer"); err != nil {
		return err
	}
	if _, err := s.referrer(guildID, userID); err != nil {
		return err
	}
	delete(s.referrers, guildID+"/"+userID)
	return nil
}

func (s *fakeStore) Referrers(ctx context.Context, guildID string) ([]referral.ReferrerRow, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.called("Referrers"); err != nil {
		return nil, err
	}
	var rows []referral.ReferrerRow
	for _, ref := range s.referrers {
		if ref.GuildID == guildID {
			rows = append(rows, referral.ReferrerRow{Referrer: ref})
		}
	}
	return rows, nil
}

func (s *fakeStore) Companies(ctx context.Context, guildID string) ([]referral.Company, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.called("Companies"); err != nil {
		return nil, err
	}
	return s.companies, nil
}

func (s *fakeStore) SaveDraft(ctx context.Context, d referral.DraftRequest) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.called("SaveDraft"); err != nil {
		return 0, err
	}
	if d.ID == 0 {
		s.nextID++
		d.ID = s.nextID
	}
	s.drafts[d.ID] = d
	return d.ID, nil
}

func (s *fakeStore) Draft(ctx context.Context, id int64) (referral.DraftRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.called("Draft"); err != nil {
		return referral.DraftRequest{}, err
	}
	d, ok := s.drafts[id]
	if !ok {
		return d, referral.ErrNotFound
	}
	return d, nil
}

func (s *fakeStore) CreateRequest(ctx context.Context, in referral.NewRequest) (referral.Submission, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.called("CreateRequest"); err != nil {
		return referral.Submission{}, err
	}
	s.nextID++
	req := referral.Request{ID: s.nextID, GuildID: in.GuildID, StudentID: in.StudentID, Company: in.Company,
		Fields: in.Fields, State: referral.Waiting, CreatedAt: testNow}
	s.requests[req.ID] = req
	delete(s.drafts, in.DraftID)
	return referral.Submission{Request: req}, nil
}

func (s *fakeStore) StudentRequests(ctx context.Context, studentID string) ([]referral.Request, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.called("StudentRequests"); err != nil {
		return nil, err
	}
	var list []referral.Request
	for _, r := range s.requests {
		if r.StudentID == studentID {
			list = append(list, r)
		}
	}
	return list, nil
}

// ownRequest finds a student's request, as the real store would check it.
func (s *fakeStore) ownRequest(studentID string, id int64) (referral.Request, error) {
	r, ok := s.requests[id]
	if !ok {
		return r, referral.ErrNotFound
	}
	if r.StudentID != studentID {
		return r, referral.ErrNotYours
	}
	return r, nil
}

func (s *fakeStore) WithdrawRequest(ctx context.Context, studentID string, id int64) (referral.Request, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.called("WithdrawRequest"); err != nil {
		return referral.Request{}, err
	}
	r, err := s.ownRequest(studentID, id)
	if err != nil {
		return r, err
	}
	if !r.State.Withdrawable() {
		return r, referral.ErrWrongState
	}
	r.State = referral.Withdrawn
	s.requests[id] = r
	return r, nil
}

func (s *fakeStore) RecordOutcome(ctx context.Context, studentID string, id int64, o referral.Outcome) (referral.Request, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.called("RecordOutcome"); err != nil {
		return referral.Request{}, err
	}
	r, err := s.ownRequest(studentID, id)
	if err != nil {
		return r, err
	}
	if err := referral.Move(r.State, o.State()); err != nil {
		return r, referral.ErrWrongState
	}
	r.State, r.Outcome = o.State(), o
	s.requests[id] = r
	return r, nil
}

func (s *fakeStore) KeepInMind(ctx context.Context, studentID string, id int64) (referral.Request, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.called("KeepInMind"); err != nil {
		return referral.Request{}, err
	}
	return s.ownRequest(studentID, id)
}

func (s *fakeStore) FollowUpNoNews(ctx context.Context, studentID string, id int64) (referral.Request, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.called("FollowUpNoNews"); err != nil {
		return referral.Request{}, err
	}
	return s.ownRequest(studentID, id)
}

func (s *fakeStore) ForgetUser(ctx context.Context, userID string) (referral.ForgetResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.called("ForgetUser"); err != nil {
		return referral.ForgetResult{}, err
	}
	n := 0
	for id, r := range s.requests {
		if r.StudentID == userID {
			delete(s.requests, id)
			n++
		}
	}
	if n == 0 {
		return referral.ForgetResult{}, referral.ErrNothingToForget
	}
	return referral.ForgetResult{Requests: n}, nil
}

func (s *fakeStore) AnswerOffer(ctx context.Context, offerID int64, userID string, accept bool) (referral.OfferAnswer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.called("AnswerOffer"); err != nil {
		return referral.OfferAnswer{}, err
	}
	o, ok := s.offers[offerID]
	switch {
	case !ok:
		return referral.OfferAnswer{}, referral.ErrNotFound
	case o.referrerID != userID:
		return referral.OfferAnswer{}, referral.ErrNotYours
	case o.movedOn:
		return referral.OfferAnswer{}, referral.ErrMovedOn
	case o.answered:
		return referral.OfferAnswer{}, referral.ErrAlreadyDone
	}
	o.answered = true
	r := s.requests[o.requestID]
	if accept {
		r.State, r.ReferrerID, r.AcceptedAt = referral.Accepted, userID, testNow
		s.requests[r.ID] = r
	}
	return referral.OfferAnswer{Request: r, Accepted: accept}, nil
}

func (s *fakeStore) MarkSubmitted(ctx context.Context, id int64, userID string) (referral.Request, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.called("MarkSubmitted"); err != nil {
		return referral.Request{}, err
	}
	r, ok := s.requests[id]
	switch {
	case !ok:
		return r, referral.ErrNotFound
	case r.ReferrerID != userID:
		return r, referral.ErrNotYours
	case r.State == referral.Submitted:
		return r, referral.ErrAlreadyDone
	}
	r.State, r.SubmittedAt = referral.Submitted, testNow
	s.requests[id] = r
	return r, nil
}

func (s *fakeStore) Stats(ctx context.Context, guildID string, now time.Time) (referral.Stats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.called("Stats"); err != nil {
		return referral.Stats{}, err
	}
	st := referral.Stats{Week: sampleDigest(), Undeliverable: 2}
	st.Companies = []referral.CompanyStats{{Company: "Amazon", Referrers: 3, Waiting: 1, Open: 2, Submitted: 5}}
	return st, nil
}

func (s *fakeStore) ExportRequests(ctx context.Context, guildID string) ([]referral.ExportRow, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.called("ExportRequests"); err != nil {
		return nil, err
	}
	return s.export, nil
}

func (s *fakeStore) PostDigestNow(ctx context.Context, guildID string, now time.Time) (referral.Digest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.called("PostDigestNow"); err != nil {
		return referral.Digest{}, err
	}
	return sampleDigest(), nil
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

// harness is a router over a fake store with a recording responder.
type harness struct {
	t        *testing.T
	store    *fakeStore
	router   *Router
	log      *bytes.Buffer
	observed []string // "label result"
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, store: newFakeStore(), log: &bytes.Buffer{}}
	h.router = &Router{
		Store:    h.store,
		Now:      func() time.Time { return testNow },
		Location: time.UTC,
		Policy:   referral.Policy{MaxOpenPerStudent: 3},
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

func referrerFixture() referral.Referrer {
	return referral.Referrer{
		GuildID: testGuild, UserID: testAlumnus, Status: referral.Active, Capacity: 4,
		Companies: []referral.Company{{Key: "amazon", Name: "Amazon"}},
	}
}

func settingsFixture() referral.GuildSettings {
	return referral.GuildSettings{GuildID: testGuild, DigestChannelID: "900", ReferrerRoleID: "800"}
}
