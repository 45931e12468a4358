package commands

import (
	"context"
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
	// The canonical key: no draft is written for a company the key names.
	if got, want := resp.Data.CustomID, "modal/request/new/amazon"; got != want {
		t.Errorf("modal custom_id = %q; want %q", got, want)
	}
	if got, want := resp.Data.Title, "Referral at Amazon"; got != want {
		t.Errorf("modal title = %q; want %q", got, want)
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
}

// The modal's custom_id carries the company key, and the submit recovers
// the name: the referrers' spelling, the canonical name, or, when the key
// can't give it back or is too long for a custom_id, a draft keeps it.
func TestRequestModalCarriesTheCompany(t *testing.T) {
	long := strings.Repeat("日本", 20) // 40 runes: a 120-byte key
	tests := []struct {
		typed    string
		referrer string // a referrer's spelling of the company, if any
		wantID   string // "draft" = an empty draft's id
		wantName string
	}{
		{"aws", "", "modal/request/new/amazon", "Amazon"},
		{"acme robotics", "Acme Robotics", "modal/request/new/acmerobotics", "Acme Robotics"},
		{"Acme Robotics", "", "draft", "Acme Robotics"},
		{"acme", "", "modal/request/new/acme", "acme"},
		{long, "", "draft", long},
	}
	for _, tt := range tests {
		t.Run(tt.typed, func(t *testing.T) {
			h := newHarness(t)
			if tt.referrer != "" {
				h.join(testAlumnus, true, tt.referrer)
			}
			modal := h.do(slash(testStudent, "referral", "request", str("company", tt.typed)))
			if modal.Type != discordgo.InteractionResponseModal {
				t.Fatalf("type = %d (%q); want the modal", modal.Type, modal.Data.Content)
			}
			id := modal.Data.CustomID
			if len(id) > maxCustomIDLen {
				t.Fatalf("custom_id %q has %d bytes", id, len(id))
			}
			if tt.wantID == "draft" {
				if !strings.HasPrefix(id, "modal/request/draft/") {
					t.Errorf("custom_id = %q; want a draft's", id)
				}
			} else if id != tt.wantID {
				t.Errorf("custom_id = %q; want %q", id, tt.wantID)
			}
			if resp := h.do(modalSubmit(testStudent, id, goodFields())); !strings.Contains(resp.Data.Content, "is in") {
				t.Fatalf("submit = %q; want the request in", resp.Data.Content)
			}
			reqs := h.requests(testStudent)
			if len(reqs) != 1 || reqs[0].Company.Name != tt.wantName || reqs[0].Company.Key != referral.NormalizeCompany(tt.typed).Key {
				t.Errorf("requests = %+v; want one for %q", reqs, tt.wantName)
			}
		})
	}
}

func TestInvalidRequestBecomesEditableDraft(t *testing.T) {
	h := newHarness(t)
	typed := referral.RequestFields{
		JobURL: "amazon.jobs/en/jobs/1", Role: "SDE intern",
		Intro: "hi can you refer me please @everyone", ResumeURL: "resume.pdf", Note: "thanks",
	}
	resp := h.do(modalSubmit(testStudent, modalNewID("amazon"), typed))
	mustEphemeral(t, resp)
	if n := len(h.requests(testStudent)); n != 0 {
		t.Errorf("an invalid request was created (%d requests)", n)
	}
	for _, p := range typed.Validate() {
		if !strings.Contains(resp.Data.Content, p.Tip) {
			t.Errorf("reply lacks the tip for %s: %q", p.Field, p.Tip)
		}
	}
	bs := buttons(resp.Data.Components)
	if len(bs) != 1 || bs[0].Label != "Edit request" || !strings.HasPrefix(bs[0].CustomID, "draft/edit/") {
		t.Fatalf("buttons = %+v; want one Edit request", bs)
	}
	c, _, err := parseCustomID(bs[0].CustomID)
	if err != nil {
		t.Fatal(err)
	}
	draft, err := h.store.Draft(context.Background(), c.ID)
	if err != nil {
		t.Fatalf("Draft(%d): %v", c.ID, err)
	}
	if draft.StudentID != testStudent || draft.GuildID != testGuild || draft.Company.Name != "Amazon" {
		t.Errorf("draft = %+v; want the student's Amazon draft in %s", draft, testGuild)
	}

	// Someone else pressing the button gets a refusal and no modal.
	other := h.do(guildButton("999", bs[0].CustomID))
	mustEphemeral(t, other)
	if !strings.Contains(other.Data.Content, "belongs to someone else") || !strings.HasSuffix(h.lastResult(), "refused") {
		t.Errorf("someone else's Edit request = %q (%s); want refused", other.Data.Content, h.lastResult())
	}
	if other := h.do(modalSubmit("999", modalDraft.with(draft.ID), goodFields())); !strings.Contains(other.Data.Content, "belongs to someone else") {
		t.Errorf("someone else's draft submit = %q; want refused", other.Data.Content)
	}

	// The student gets the modal back with what they typed.
	modal := h.do(guildButton(testStudent, bs[0].CustomID))
	if modal.Type != discordgo.InteractionResponseModal || modal.Data.CustomID != modalDraft.with(draft.ID) {
		t.Fatalf("edit answer = type %d custom_id %q; want modal %q", modal.Type, modal.Data.CustomID, modalDraft.with(draft.ID))
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
	sent := h.do(modalSubmit(testStudent, modalDraft.with(draft.ID), goodFields()))
	mustEphemeral(t, sent)
	if n := len(h.requests(testStudent)); n != 1 {
		t.Errorf("after fixing: %d requests; want 1", n)
	}
	if _, err := h.store.Draft(context.Background(), draft.ID); err == nil {
		t.Errorf("the draft is still there after it was sent")
	}
	gone := h.do(guildButton(testStudent, bs[0].CustomID))
	if !strings.Contains(gone.Data.Content, "This draft is gone") {
		t.Errorf("Edit request of a sent draft = %q; want it gone", gone.Data.Content)
	}
}

func TestGoodRequestShowsPreview(t *testing.T) {
	h := newHarness(t)
	resp := h.do(modalSubmit(testStudent, modalNewID("amazon"), goodFields()))
	mustEphemeral(t, resp)
	reqs := h.requests(testStudent)
	if len(reqs) != 1 {
		t.Fatalf("%d requests; want 1", len(reqs))
	}
	if want := "Request #" + itoa(reqs[0].ID); !strings.Contains(resp.Data.Content, want) {
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

	h.join(testAlumnus, true, "Amazon")
	f.JobURL = "https://amazon.jobs/en/jobs/2"
	if resp := h.do(modalSubmit("202", modalNewID("amazon"), f)); !strings.Contains(resp.Data.Content, "being asked now") {
		t.Errorf("reply with a free referrer = %q; want one being asked", resp.Data.Content)
	}
}

func TestStoreLimitsKeepDraft(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(h *harness)
		want    []string
	}{
		{"too many open", func(h *harness) {
			for k := range testPolicy().MaxOpenPerStudent {
				h.request(testStudent, "https://amazon.jobs/en/jobs/9"+itoa(int64(k)))
			}
		}, []string{"You already have 3 open requests", "/referral withdraw"}},
		{"same job link", func(h *harness) { h.request(testStudent, goodFields().JobURL) }, []string{"/referral status"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			tt.prepare(h)
			before := len(h.requests(testStudent))
			resp := h.do(modalSubmit(testStudent, modalNewID("amazon"), goodFields()))
			mustEphemeral(t, resp)
			for _, w := range tt.want {
				if !strings.Contains(resp.Data.Content, w) {
					t.Errorf("reply %q lacks %q", resp.Data.Content, w)
				}
			}
			if got := buttonLabels(resp.Data.Components); got != "Edit request" {
				t.Fatalf("buttons = %q; want Edit request", got)
			}
			if n := len(h.requests(testStudent)); n != before {
				t.Errorf("requests = %d; want still %d", n, before)
			}
			c, _, err := parseCustomID(buttons(resp.Data.Components)[0].CustomID)
			if err != nil {
				t.Fatal(err)
			}
			if d, err := h.store.Draft(context.Background(), c.ID); err != nil || d.Fields.Intro != goodFields().Intro {
				t.Errorf("Draft(%d) = %+v, %v; want what was typed kept", c.ID, d, err)
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
	reqs := h.requests("201")
	if len(reqs) != 1 {
		t.Fatalf("requests = %d; want 1", len(reqs))
	}
	if r := reqs[0]; r.Company.Name != "Amazon" || r.Fields.Role != "Software Development Engineer Intern" {
		t.Errorf("request = %+v", r)
	}
}

func TestAutocomplete(t *testing.T) {
	h := newHarness(t)
	for k := range 40 {
		h.join(itoa(int64(1000+k)), true, "Acme "+itoa(int64(k)))
	}
	h.join(testAlumnus, true, "Amazon")
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

	h.router.Store = stubStore{Store: h.store, companies: func(context.Context, string) ([]referral.Company, error) { return nil, errBoom }}
	if resp := h.do(i); resp.Type != discordgo.InteractionApplicationCommandAutocompleteResult {
		t.Errorf("on a store error type = %d; want an (empty) autocomplete result", resp.Type)
	}
}

func TestStatus(t *testing.T) {
	h := newHarness(t)
	h.clock.Add(5*time.Hour + 30*time.Minute) // 23:30 UTC: the next check-in is a day later in UTC+2
	submitted := h.submitted()                // accepted by the alumnus, then submitted
	h.join("777", true, "Stripe")
	f := goodFields()
	f.JobURL, f.Role = "https://stripe.com/jobs/1", "Backend Intern"
	offered, err := h.store.CreateRequest(context.Background(), referral.NewRequest{GuildID: testGuild, StudentID: testStudent,
		Company: referral.NormalizeCompany("Stripe"), Fields: f})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.SaveDraft(context.Background(), referral.DraftRequest{GuildID: testGuild, StudentID: testStudent,
		Company: referral.NormalizeCompany("Google"), Fields: referral.RequestFields{Role: "Draft role"}}); err != nil {
		t.Fatal(err)
	}
	h.request("other", "https://amazon.jobs/en/jobs/77")
	h.router.Location = time.FixedZone("UTC+2", 2*3600)

	resp := h.do(slash(testStudent, "referral", "status"))
	mustEphemeral(t, resp)
	c := resp.Data.Content
	for _, want := range []string{"#" + itoa(submitted.ID), "Amazon", "Software Development Engineer Intern", "referral submitted",
		"<@" + testAlumnus + ">", "next check-in Thu 3 Dec 2026", "#" + itoa(offered.Request.ID), "Stripe", "Backend Intern"} {
		if !strings.Contains(c, want) {
			t.Errorf("status lacks %q:\n%s", want, c)
		}
	}
	for _, not := range []string{"Draft role", "Google", "<@777>"} {
		if strings.Contains(c, not) {
			t.Errorf("status shows %q:\n%s", not, c)
		}
	}
	if strings.Index(c, "#"+itoa(offered.Request.ID)) > strings.Index(c, "#"+itoa(submitted.ID)) {
		t.Errorf("status is not newest first:\n%s", c)
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
