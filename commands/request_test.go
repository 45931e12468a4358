package commands

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

func TestRequestOpensModal(t *testing.T) {
	h := newHarness(t)
	resp := h.do(slash(testStudent, "referral", "request", str("company", "aws")))
	if resp.Type != discordgo.InteractionResponseModal {
		t.Fatalf("response type = %d; want modal (9)", resp.Type)
	}
	if got, want := resp.Data.CustomID, "modal/request/new/Amazon"; got != want {
		t.Errorf("modal custom_id = %q; want %q", got, want)
	}
	if n := len([]rune(resp.Data.Title)); n == 0 || n > maxModalTitle {
		t.Errorf("modal title %q has %d characters; want 1-%d", resp.Data.Title, n, maxModalTitle)
	}
	inputs := textInputs(resp.Data.Components)
	want := []struct {
		id       string
		label    string
		style    discordgo.TextInputStyle
		required bool
		min, max int
	}{
		{"job_url", "Job posting link", discordgo.TextInputShort, true, 0, 500},
		{"role", "Role you're applying for", discordgo.TextInputShort, true, 2, 100},
		{"intro", "Who you are (2-4 sentences)", discordgo.TextInputParagraph, true, 80, 1000},
		{"resume_url", "Resume link", discordgo.TextInputShort, true, 0, 500},
		{"note", "Why you fit this role (optional)", discordgo.TextInputParagraph, false, 0, 1000},
	}
	if len(inputs) != len(want) {
		t.Fatalf("modal has %d inputs; want %d", len(inputs), len(want))
	}
	for k, w := range want {
		in := inputs[k]
		if in.CustomID != w.id || in.Label != w.label || in.Style != w.style || in.Required != w.required || in.MinLength != w.min || in.MaxLength != w.max {
			t.Errorf("input %d = %+v; want %+v", k, in, w)
		}
		if in.Placeholder == "" || len([]rune(in.Placeholder)) > 100 || len([]rune(in.Label)) > 45 {
			t.Errorf("input %s: placeholder %q or label %q out of Discord's limits", in.CustomID, in.Placeholder, in.Label)
		}
	}
	if h.store.callCount() != 0 {
		t.Errorf("opening the modal called the store: %v", h.store.calls)
	}
}

func TestInvalidRequestBecomesEditableDraft(t *testing.T) {
	h := newHarness(t)
	typed := referral.RequestFields{
		JobURL: "amazon.jobs/en/jobs/1", Role: "SDE intern",
		Intro: "hi can you refer me please @everyone", ResumeURL: "resume.pdf", Note: "thanks",
	}
	resp := h.do(modalSubmit(testStudent, modalNewID("Amazon"), typed))
	mustEphemeral(t, resp)
	if len(h.store.drafts) != 1 {
		t.Fatalf("drafts saved = %d; want 1", len(h.store.drafts))
	}
	if len(h.store.requests) != 0 {
		t.Errorf("an invalid request was created")
	}
	var draft referral.DraftRequest
	for _, d := range h.store.drafts {
		draft = d
	}
	if draft.StudentID != testStudent || draft.GuildID != testGuild || draft.Company.Name != "Amazon" {
		t.Errorf("draft = %+v; want the student's Amazon draft in %s", draft, testGuild)
	}
	for _, p := range typed.Validate() {
		if !strings.Contains(resp.Data.Content, p.Tip) {
			t.Errorf("reply lacks the tip for %s: %q", p.Field, p.Tip)
		}
	}
	bs := buttons(resp.Data.Components)
	if len(bs) != 1 || bs[0].Label != "Edit request" || bs[0].CustomID != draftEditID(draft.ID) {
		t.Fatalf("buttons = %+v; want one Edit request for draft %d", bs, draft.ID)
	}

	// Someone else pressing the button gets a refusal and no modal.
	other := h.do(guildButton("999", bs[0].CustomID))
	mustEphemeral(t, other)
	if !strings.HasSuffix(h.lastResult(), "refused") {
		t.Errorf("observed %q; want refused", h.lastResult())
	}

	// The student gets the modal back with what they typed.
	modal := h.do(guildButton(testStudent, bs[0].CustomID))
	if modal.Type != discordgo.InteractionResponseModal || modal.Data.CustomID != modalDraftID(draft.ID) {
		t.Fatalf("edit answer = type %d custom_id %q; want modal %q", modal.Type, modal.Data.CustomID, modalDraftID(draft.ID))
	}
	got := map[string]string{}
	for _, in := range textInputs(modal.Data.Components) {
		got[in.CustomID] = in.Value
	}
	clean := typed.Clean()
	want := map[string]string{"job_url": clean.JobURL, "role": clean.Role, "intro": clean.Intro, "resume_url": clean.ResumeURL, "note": clean.Note}
	for id, v := range want {
		if got[id] != v {
			t.Errorf("prefilled %s = %q; want %q", id, got[id], v)
		}
	}

	// Fixed and sent again, the draft becomes a request and is gone.
	sent := h.do(modalSubmit(testStudent, modalDraftID(draft.ID), goodFields()))
	mustEphemeral(t, sent)
	if len(h.store.requests) != 1 || len(h.store.drafts) != 0 {
		t.Errorf("after fixing: %d requests, %d drafts; want 1 and 0", len(h.store.requests), len(h.store.drafts))
	}
}

func TestGoodRequestShowsPreview(t *testing.T) {
	h := newHarness(t)
	resp := h.do(modalSubmit(testStudent, modalNewID("Amazon"), goodFields()))
	mustEphemeral(t, resp)
	var id int64
	for k := range h.store.requests {
		id = k
	}
	if want := "Request #" + itoa(id); !strings.Contains(resp.Data.Content, want) {
		t.Errorf("reply %q lacks %q", resp.Data.Content, want)
	}
	if !strings.Contains(resp.Data.Content, "waiting") {
		t.Errorf("reply %q doesn't say the request is waiting", resp.Data.Content)
	}
	if len(resp.Data.Embeds) != 1 {
		t.Fatalf("preview has %d embeds; want 1", len(resp.Data.Embeds))
	}
	e := resp.Data.Embeds[0]
	f := goodFields()
	if e.Description != f.Intro || !embedHas(e, f.JobURL) || !embedHas(e, f.ResumeURL) || !embedHas(e, f.Note) {
		t.Errorf("preview embed %+v lacks the request's text", e)
	}
	if len(buttons(resp.Data.Components)) != 0 {
		t.Errorf("the preview has buttons; the referrer's Accept/Decline don't belong to the student")
	}
}

func TestStoreLimitsKeepDraft(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{referral.ErrTooManyOpen, "/referral withdraw"},
		{referral.ErrDuplicateJob, "/referral status"},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			h := newHarness(t)
			h.store.fail["CreateRequest"] = tt.err
			resp := h.do(modalSubmit(testStudent, modalNewID("Amazon"), goodFields()))
			mustEphemeral(t, resp)
			if !strings.Contains(resp.Data.Content, tt.want) {
				t.Errorf("reply %q lacks %q", resp.Data.Content, tt.want)
			}
			if len(h.store.drafts) != 1 {
				t.Errorf("drafts = %d; want 1", len(h.store.drafts))
			}
			if got := buttonLabels(resp.Data.Components); got != "Edit request" {
				t.Errorf("buttons = %q; want Edit request", got)
			}
		})
	}
}

// A modal submit as Discord sends it, decoded by discordgo itself.
func TestModalSubmitFromJSON(t *testing.T) {
	raw, err := os.ReadFile("testdata/modal_submit.json")
	if err != nil {
		t.Fatal(err)
	}
	var i discordgo.Interaction
	if err := json.Unmarshal(raw, &i); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	mustEphemeral(t, h.do(&i))
	if len(h.store.requests) != 1 {
		t.Fatalf("requests = %d; want 1 (store calls %v)", len(h.store.requests), h.store.calls)
	}
	for _, r := range h.store.requests {
		if r.Company.Name != "Amazon" || r.StudentID != "201" || r.Fields.Role != "Software Development Engineer Intern" {
			t.Errorf("request = %+v", r)
		}
	}
}

func TestAutocomplete(t *testing.T) {
	h := newHarness(t)
	for k := range 40 {
		h.store.companies = append(h.store.companies, referral.NormalizeCompany("Acme "+itoa(int64(k))))
	}
	h.store.companies = append(h.store.companies, referral.NormalizeCompany("Amazon"))
	i := slash(testStudent, "referral", "request", &discordgo.ApplicationCommandInteractionDataOption{
		Name: "company", Type: discordgo.ApplicationCommandOptionString, Value: "a", Focused: true,
	})
	i.Type = discordgo.InteractionApplicationCommandAutocomplete
	resp := h.do(i)
	if resp.Type != discordgo.InteractionApplicationCommandAutocompleteResult {
		t.Fatalf("type = %d; want autocomplete result", resp.Type)
	}
	if n := len(resp.Data.Choices); n == 0 || n > 25 {
		t.Fatalf("%d choices; want 1-25", n)
	}
	for _, c := range resp.Data.Choices {
		if c.Name != c.Value {
			t.Errorf("choice name %q != value %v", c.Name, c.Value)
		}
	}

	h.store.fail["Companies"] = errBoom
	if resp := h.do(i); resp.Type != discordgo.InteractionApplicationCommandAutocompleteResult {
		t.Errorf("on a store error type = %d; want an (empty) autocomplete result", resp.Type)
	}
}

func TestStatus(t *testing.T) {
	h := newHarness(t)
	next := time.Date(2026, 12, 2, 23, 30, 0, 0, time.UTC)
	h.store.requests = map[int64]referral.Request{
		11: {ID: 11, StudentID: testStudent, Company: referral.Company{Name: "Amazon"}, Fields: referral.RequestFields{Role: "SDE Intern"},
			State: referral.Submitted, ReferrerID: testAlumnus, AcceptedAt: testNow, NextNudgeAt: next},
		12: {ID: 12, StudentID: testStudent, Company: referral.Company{Name: "Stripe"}, Fields: referral.RequestFields{Role: "Backend Intern"},
			State: referral.Offered, ReferrerID: "777"},
		14: {ID: 14, StudentID: "other", Company: referral.Company{Name: "Meta"}, State: referral.Waiting},
	}
	h.router.Location = time.FixedZone("UTC+2", 2*3600)
	resp := h.do(slash(testStudent, "referral", "status"))
	mustEphemeral(t, resp)
	c := resp.Data.Content
	for _, want := range []string{"#11", "Amazon", "SDE Intern", "referral submitted", "<@" + testAlumnus + ">", "Thu 3 Dec 2026", "#12", "Stripe"} {
		if !strings.Contains(c, want) {
			t.Errorf("status lacks %q:\n%s", want, c)
		}
	}
	for _, not := range []string{"#13", "#14", "<@777>"} {
		if strings.Contains(c, not) {
			t.Errorf("status shows %q:\n%s", not, c)
		}
	}
}

func embedHas(e *discordgo.MessageEmbed, s string) bool {
	if strings.Contains(e.Title, s) || strings.Contains(e.Description, s) {
		return true
	}
	for _, f := range e.Fields {
		if strings.Contains(f.Value, s) {
			return true
		}
	}
	return false
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
