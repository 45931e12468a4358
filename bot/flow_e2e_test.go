package bot_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	_ "github.com/mattn/go-sqlite3" // the read-only look into the bot's database

	"github.com/referralbot/referralbot/config"
	"github.com/referralbot/referralbot/discordtest"
)

// End-to-end tests of the referral flow (issue 4): the real bot against the
// fake Discord, acting as students, referrers and admins. Each test has a
// bot, a fake Discord and a database of its own, so they run in parallel;
// a test in phases (a restart between them) runs each as a subtest.

// flowEnv is a running bot, set up by an admin with a referrer role, and the
// requests created on it.
type flowEnv struct {
	h       *harness
	parent  *testing.T
	lastID  int
	created map[int64]map[string]string // request number -> what was typed (drafts excluded)
}

func startFlow(t *testing.T, mutate func(*config.Config)) *flowEnv {
	t.Helper()
	h := startBot(t, mutate)
	f := &flowEnv{h: h, parent: t, created: map[int64]map[string]string{}}
	resp := h.run(admin, "referral-admin", "setup",
		opt("digest_channel", digestID), opt("fallback_channel", fallbackID), opt("referrer_role", refRoleID))
	if txt := resp.Text(); !strings.Contains(txt, "Saved") {
		t.Fatalf("/referral-admin setup = %q; want it saved", txt)
	}
	return f
}

// run runs one phase of a test as a subtest; the harness reports to the
// subtest meanwhile.
func (f *flowEnv) run(name string, fn func(t *testing.T, h *harness)) {
	f.parent.Run(name, func(t *testing.T) {
		f.h.t = t
		defer func() { f.h.t = f.parent }()
		fn(t, f.h)
	})
}

// user adds a server member for the test; a referrer holds the server's
// referrer role. Later users have higher ids.
func (f *flowEnv) user(name string, referrer bool) string {
	f.lastID++
	id := fmt.Sprintf("7%017d", f.lastID)
	f.h.dc.AddUser(discordtest.User{ID: id, Username: name})
	if referrer {
		f.h.dc.AddMember(guildID, id, refRoleID)
	} else {
		f.h.dc.AddMember(guildID, id)
	}
	return id
}

// join runs /referrer join and checks the referrer is active.
func (f *flowEnv) join(user, companies string, more ...discordtest.Option) *discordtest.Response {
	f.h.t.Helper()
	resp := f.h.run(user, "referrer", "join", append([]discordtest.Option{opt("companies", companies)}, more...)...)
	if txt := resp.Text(); !strings.Contains(txt, "**active**") {
		f.h.t.Fatalf("/referrer join companies:%s by a holder of the referrer role = %q; want them active", companies, txt)
	}
	return resp
}

// request opens the request modal, submits values and returns the number of
// the request the preview names.
func (f *flowEnv) request(student, company string, values map[string]string) (int64, *discordtest.Response) {
	f.h.t.Helper()
	resp := flowSubmitModal(f.h, flowOpenRequestModal(f.h, student, company), values)
	id := flowPreviewNumber(f.h.t, resp)
	f.created[id] = values
	return id, resp
}

// goodRequest is a request that passes every rule; tag makes it unique.
func flowGoodRequest(tag string) map[string]string {
	return map[string]string{
		"job_url":    "https://jobs.example.com/" + tag + "/4711",
		"role":       "Software Engineer Intern " + tag,
		"intro":      "I'm a third-year computer science student at State University (" + tag + "). Last summer I built a Go routing service at a logistics startup that cut planning time by 40%.",
		"resume_url": "https://drive.example.org/resume-" + tag + ".pdf",
		"note":       "I meet the posting's Go and distributed systems requirements (" + tag + ").",
	}
}

// flowFieldIDs are the modal's text inputs, in the contract's order.
var flowFieldIDs = []string{"job_url", "role", "intro", "resume_url", "note"}

func flowOpenRequestModal(h *harness, student, company string) *discordtest.Response {
	h.t.Helper()
	resp := h.run(student, "referral", "request", opt("company", company))
	if resp.Type != discordgo.InteractionResponseModal {
		h.t.Fatalf("/referral request company:%s answered with type %d (%q); want a modal (type %d)",
			company, resp.Type, resp.Text(), discordgo.InteractionResponseModal)
	}
	return resp
}

func flowSubmitModal(h *harness, modal *discordtest.Response, values map[string]string) *discordtest.Response {
	h.t.Helper()
	resp, err := flowTrySubmit(h.ctx(), h.dc, modal, values)
	if err != nil {
		h.t.Fatalf("submit request modal: %v", err)
	}
	return resp
}

func flowTrySubmit(ctx context.Context, dc *discordtest.Server, modal *discordtest.Response, values map[string]string) (*discordtest.Response, error) {
	in, err := dc.SubmitModal(ctx, discordtest.ModalSubmit{Modal: modal, Values: values})
	if err != nil {
		return nil, err
	}
	return in.Answer(ctx)
}

var flowPreviewRE = regexp.MustCompile(`Request #(\d+)\*\* is in`)

// previewNumber reads N from the "Request #N is in" preview of a good request.
func flowPreviewNumber(t *testing.T, resp *discordtest.Response) int64 {
	t.Helper()
	m := flowPreviewRE.FindStringSubmatch(resp.Text())
	if m == nil {
		t.Fatalf("answer to a good request = %q; want a preview with its number (\"Request #N is in\")", resp.Text())
	}
	if !resp.Ephemeral {
		t.Errorf("the preview of request #%s is not ephemeral", m[1])
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

// tryPress presses a button without failing the test, for goroutines.
func flowTryPress(ctx context.Context, dc *discordtest.Server, user string, m *discordtest.Message, label string) (*discordtest.Response, error) {
	in, err := dc.PressButton(ctx, discordtest.Press{UserID: user, Message: m, Label: label})
	if err != nil {
		return nil, err
	}
	return in.Answer(ctx)
}

const flowOfferText = "is asking you for a referral"

// offersTo counts the offer DMs sent to referrer, for request id (0: any).
func flowOffersTo(h *harness, referrer string, id int64) int {
	n := 0
	for _, m := range h.sentDMs(referrer) {
		if strings.Contains(m.Content, flowOfferText) && (id == 0 || strings.Contains(m.Text(), fmt.Sprintf("Request #%d:", id))) {
			n++
		}
	}
	return n
}

// waitOffer waits for the offer DM of request id to referrer and returns it
// as it is now.
func flowWaitOffer(h *harness, referrer string, id int64) *discordtest.Message {
	h.t.Helper()
	var m *discordtest.Message
	eventually(h.t, fmt.Sprintf("the offer of request #%d to %s", id, h.dc.Username(referrer)), func() bool {
		m = flowCurrentOffer(h, referrer, id)
		return m != nil
	})
	return m
}

// waitOfferAny waits for the offer of request id to one of referrers and
// returns who got it.
func flowWaitOfferAny(h *harness, id int64, referrers ...string) (string, *discordtest.Message) {
	h.t.Helper()
	var who string
	var m *discordtest.Message
	eventually(h.t, fmt.Sprintf("the offer of request #%d to one of %d referrers", id, len(referrers)), func() bool {
		for _, r := range referrers {
			if m = flowCurrentOffer(h, r, id); m != nil {
				who = r
				return true
			}
		}
		return false
	})
	return who, m
}

func flowCurrentOffer(h *harness, referrer string, id int64) *discordtest.Message {
	if flowOffersTo(h, referrer, id) == 0 {
		return nil
	}
	for _, m := range h.dc.DMs(referrer) {
		if strings.Contains(m.Text(), fmt.Sprintf("Request #%d:", id)) && len(m.Buttons()) > 0 {
			return m
		}
	}
	return nil
}

func flowOther(a, b, not string) string {
	if not == a {
		return b
	}
	return a
}

// settle waits until every due step has run and every queued message has
// reached the fake Discord, so a test can check that something did NOT
// happen. Interaction answers come after their transaction commits, so
// what they queued is counted too.
func flowSettle(h *harness) {
	h.t.Helper()
	eventually(h.t, "due steps run and the outbox delivered", func() bool {
		c, err := h.bot.Counts(context.Background())
		return err == nil && c.Pending == 0 && c.DueSteps == 0
	})
}

func flowLabels(bs []discordgo.Button) []string {
	out := make([]string, 0, len(bs))
	for _, b := range bs {
		out = append(out, b.Label)
	}
	return out
}

// checkPings fails unless am pings nobody but allowed: no @everyone or
// @here, no roles, no other users, whatever the text says.
func flowCheckPings(t *testing.T, what string, am *discordgo.MessageAllowedMentions, allowed ...string) {
	t.Helper()
	if am == nil {
		t.Errorf("%s: allowed_mentions not set; want parse [] and users limited to %q", what, allowed)
		return
	}
	if len(am.Parse) != 0 {
		t.Errorf("%s: allowed_mentions.parse = %q; want []", what, am.Parse)
	}
	if len(am.Roles) != 0 {
		t.Errorf("%s: allowed_mentions.roles = %q; want none", what, am.Roles)
	}
	for _, u := range am.Users {
		if !slices.Contains(allowed, u) {
			t.Errorf("%s: allowed_mentions.users = %q; want only %q", what, am.Users, allowed)
		}
	}
}

// mustContain checks that text contains each of wants.
func flowMustContain(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q; got:\n%s", what, w, text)
		}
	}
}

func TestFlowJoinAndMatch(t *testing.T) {
	t.Parallel()
	f := startFlow(t, nil)
	h := f.h
	pending := f.user("pat", false) // lower id: would be asked first if pending referrers could be
	ref := f.user("rita", true)
	stu := f.user("stan", false)
	resp := h.run(pending, "referrer", "join", opt("companies", "Amazon"))
	flowMustContain(t, "/referrer join by a member without the referrer role", resp.Text(), "pending until an admin approves you")
	f.join(ref, "Amazon")

	modal := flowOpenRequestModal(h, stu, "Amazon")
	var ids []string
	for _, in := range modal.Fields() {
		ids = append(ids, in.CustomID)
		if want := in.CustomID != "note"; in.Required != want {
			t.Errorf("modal field %q required = %v; want %v", in.CustomID, in.Required, want)
		}
	}
	if !slices.Equal(ids, flowFieldIDs) {
		t.Errorf("request modal fields = %q; want exactly %q", ids, flowFieldIDs)
	}

	vals := flowGoodRequest("amzn")
	resp = flowSubmitModal(h, modal, vals)
	id := flowPreviewNumber(t, resp)
	f.created[id] = vals
	flowMustContain(t, "the preview", resp.Text(), vals["intro"], vals["resume_url"])

	offer := flowWaitOffer(h, ref, id)
	flowMustContain(t, "the offer DM", offer.Text(), vals["role"], "Amazon", vals["job_url"], vals["intro"],
		vals["note"], vals["resume_url"], "<@"+stu+">")
	if got, want := flowLabels(offer.Buttons()), []string{"Accept", "Decline"}; !slices.Equal(got, want) {
		t.Errorf("offer DM buttons = %q; want %q", got, want)
	}
	flowSettle(h)
	if n := len(h.sentDMs(pending)); n != 0 {
		t.Errorf("a pending referrer got %d DMs; want none until approved:\n%s", n, dmDump(h.sentDMs(pending)))
	}

	acc := h.press(ref, offer, "Accept")
	if acc.Type != discordgo.InteractionResponseUpdateMessage || !strings.Contains(acc.Text(), "You accepted") {
		t.Errorf("Accept answered type %d %q; want the offer updated to \"You accepted\"", acc.Type, acc.Text())
	}
	if got, want := flowLabels(acc.Message().Buttons()), []string{"Referral submitted"}; !slices.Equal(got, want) {
		t.Errorf("buttons after Accept = %q; want %q", got, want)
	}
	told := h.waitDM(stu, "agreed to refer you")
	flowMustContain(t, "the student's accepted DM", told.Text(), "<@"+ref+">", fmt.Sprintf("request #%d", id))
}

func TestFlowConcurrentDoubleAccept(t *testing.T) {
	t.Parallel()
	f := startFlow(t, nil)
	h := f.h
	ref := f.user("cora", true)
	stu := f.user("chad", false)
	f.join(ref, "Nvidia")
	id, _ := f.request(stu, "Nvidia", flowGoodRequest("nvda"))
	offer := flowWaitOffer(h, ref, id)

	// Hold the bot's answers back so both presses reach it while the
	// Accept button is still on the message.
	const callback = "/interactions/*/*/callback"
	h.dc.Delay("POST", callback, 500*time.Millisecond)
	defer h.dc.Delay("POST", callback, 0)
	ctx := h.ctx()
	var wg sync.WaitGroup
	resps := make([]*discordtest.Response, 2)
	errs := make([]error, 2)
	start := make(chan struct{})
	for i := range resps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resps[i], errs[i] = flowTryPress(ctx, h.dc, ref, offer, "Accept")
		}()
	}
	close(start)
	wg.Wait()
	h.dc.Delay("POST", callback, 0)
	success, already := 0, 0
	for i, r := range resps {
		if errs[i] != nil {
			t.Fatalf("press %d of Accept: %v", i+1, errs[i])
		}
		switch {
		case r.Type == discordgo.InteractionResponseUpdateMessage && strings.Contains(r.Text(), "You accepted"):
			success++
		case r.Ephemeral && strings.Contains(r.Text(), "Already done"):
			already++
		default:
			t.Errorf("press %d of Accept answered type %d %q; want the success update or an ephemeral \"Already done\"", i+1, r.Type, r.Text())
		}
	}
	if success != 1 || already != 1 {
		t.Errorf("two concurrent Accepts gave %d success updates and %d \"Already done\"; want 1 and 1", success, already)
	}
	flowSettle(h)
	if n := h.countDMs(stu, "agreed to refer you"); n != 1 {
		t.Errorf("the student got %d \"accepted\" DMs; want exactly 1:\n%s", n, dmDump(h.dc.DMs(stu)))
	}
}

func TestFlowDeclineMovesToNextReferrer(t *testing.T) {
	t.Parallel()
	f := startFlow(t, nil)
	h := f.h
	a, b := f.user("dora", true), f.user("dave", true)
	stu := f.user("dina", false)
	f.join(a, "Google")
	f.join(b, "Google")
	id, _ := f.request(stu, "Google", flowGoodRequest("goog"))
	first, offer := flowWaitOfferAny(h, id, a, b)
	next := flowOther(a, b, first)

	dec := h.press(first, offer, "Decline")
	if dec.Type != discordgo.InteractionResponseUpdateMessage || !strings.Contains(dec.Text(), "You declined") {
		t.Errorf("Decline answered type %d %q; want the offer updated to \"You declined\"", dec.Type, dec.Text())
	}
	// What is left are the optional reasons (issue 12), never Accept or Decline.
	if labels := flowLabels(dec.Message().Buttons()); slices.Contains(labels, "Accept") || slices.Contains(labels, "Decline") {
		t.Errorf("buttons left after Decline: %q; want no Accept or Decline", labels)
	}
	flowWaitOffer(h, next, id)
	flowSettle(h)
	if n := flowOffersTo(h, first, id); n != 1 {
		t.Errorf("the referrer who declined was offered request #%d %d times; want 1", id, n)
	}
	for _, m := range h.sentDMs(stu) {
		if strings.Contains(m.Text(), "<@"+first+">") || strings.Contains(strings.ToLower(m.Text()), "declin") {
			t.Errorf("the student was told about the decline: %q", m.Text())
		}
	}
	if st := h.run(stu, "referral", "status").Text(); strings.Contains(st, first) || strings.Contains(st, next) {
		t.Errorf("/referral status names a referrer who has not accepted: %q", st)
	}
}

func TestFlowNoCandidateWaitsUntilAReferrerJoins(t *testing.T) {
	t.Parallel()
	f := startFlow(t, nil)
	h := f.h
	stu := f.user("nina", false)
	ref := f.user("ned", true)
	id, resp := f.request(stu, "Stripe", flowGoodRequest("strp"))
	flowMustContain(t, "the answer to a request nobody can take", resp.Text(), "it's waiting")
	flowSettle(h)
	if n := len(h.sentDMs(ref)); n != 0 {
		t.Fatalf("%d DMs to a member who has not joined yet", n)
	}
	j := f.join(ref, "Stripe")
	flowMustContain(t, "the join reply", j.Text(), "1 request waiting for these companies was matched just now")
	offer := flowWaitOffer(h, ref, id)
	flowMustContain(t, "the offer DM", offer.Text(), flowGoodRequest("strp")["intro"])
}

func TestFlowMentionInjection(t *testing.T) {
	t.Parallel()
	f := startFlow(t, nil)
	h := f.h
	ref := f.user("mia", true)
	stu := f.user("milo", false)
	f.join(ref, "Figma")
	vals := flowGoodRequest("figma")
	inject := "@everyone @here <@&" + refRoleID + "> <@" + tia + ">"
	vals["intro"] = "I'm a third-year CS student at State University. " + inject + " Last summer I built a Go routing service at a logistics startup."
	vals["note"] = "Ping " + inject + " <@&" + adminRoleID + ">"
	id, resp := f.request(stu, "Figma", vals)
	flowCheckPings(t, "the student's preview", resp.Data.AllowedMentions, stu)

	offer := flowWaitOffer(h, ref, id)
	flowMustContain(t, "the offer DM", offer.Text(), inject)      // shown as text ...
	flowCheckPings(t, "the offer DM", offer.AllowedMentions, stu) // ... pinging nobody it names

	acc := h.press(ref, offer, "Accept")
	flowCheckPings(t, "the Accept update", acc.Data.AllowedMentions, stu)
	told := h.waitDM(stu, "agreed to refer you")
	flowCheckPings(t, "the student's accepted DM", told.AllowedMentions, ref)
}

func TestFlowPauseHandsOfferOn(t *testing.T) {
	t.Parallel()
	f := startFlow(t, nil)
	h := f.h
	a, b := f.user("paula", true), f.user("peter", true)
	stu := f.user("pia", false)
	f.join(a, "Datadog")
	f.join(b, "Datadog")
	id, _ := f.request(stu, "Datadog", flowGoodRequest("ddog"))
	first, offer := flowWaitOfferAny(h, id, a, b)
	next := flowOther(a, b, first)

	p := h.run(first, "referrer", "pause")
	flowMustContain(t, "/referrer pause", p.Text(), "Paused", "go to the next referrer")
	flowWaitOffer(h, next, id)
	late := h.press(first, offer, "Accept")
	if !late.Ephemeral || !strings.Contains(late.Text(), "moved on") {
		t.Errorf("Accept on an offer handed on by pausing = %q; want an ephemeral \"moved on\"", late.Text())
	}
	flowSettle(h)
	if n := h.countDMs(stu, "agreed to refer you"); n != 0 {
		t.Errorf("the student was told of an acceptance after the referrer paused")
	}
}

func TestFlowLeaveHandsPendingOfferOn(t *testing.T) {
	t.Parallel()
	f := startFlow(t, nil)
	h := f.h
	a, b := f.user("lara", true), f.user("leo", true)
	stu := f.user("lia", false)
	f.join(a, "Shopify")
	f.join(b, "Shopify")
	id, _ := f.request(stu, "Shopify", flowGoodRequest("shop"))
	first, _ := flowWaitOfferAny(h, id, a, b)
	l := h.run(first, "referrer", "leave")
	flowMustContain(t, "/referrer leave", l.Text(), "deleted", "go to the next referrer")
	flowWaitOffer(h, flowOther(a, b, first), id)
}

func TestFlowLeaveHandsAcceptedRequestOn(t *testing.T) {
	t.Parallel()
	f := startFlow(t, nil)
	h := f.h
	a, b := f.user("ava", true), f.user("ari", true)
	stu := f.user("amy", false)
	f.join(a, "Spotify")
	f.join(b, "Spotify")
	id, _ := f.request(stu, "Spotify", flowGoodRequest("spot"))
	first, offer := flowWaitOfferAny(h, id, a, b)
	h.press(first, offer, "Accept")
	h.waitDM(stu, "agreed to refer you")

	h.run(first, "referrer", "leave")
	gone := h.waitDM(stu, "can't continue")
	flowMustContain(t, "the student's referrer-gone DM", gone.Text(), fmt.Sprintf("request #%d", id))
	flowWaitOffer(h, flowOther(a, b, first), id)
}

func TestFlowWithdrawAndOutcome(t *testing.T) {
	t.Parallel()
	f := startFlow(t, nil)
	h := f.h
	ref := f.user("wes", true)
	stu := f.user("will", false)
	stranger := f.user("otto", false)
	f.join(ref, "Atlassian")
	idA, _ := f.request(stu, "Atlassian", flowGoodRequest("atl-a"))
	offerA := flowWaitOffer(h, ref, idA)
	idB, _ := f.request(stu, "Atlassian", flowGoodRequest("atl-b"))
	offerB := flowWaitOffer(h, ref, idB)

	r := h.run(stranger, "referral", "withdraw", opt("request", idA))
	if want := fmt.Sprintf("You have no request #%d", idA); !r.Ephemeral || !strings.Contains(r.Text(), want) {
		t.Errorf("/referral withdraw of someone else's #%d = %q; want an ephemeral %q", idA, r.Text(), want)
	}
	r = h.run(stranger, "referral", "outcome", opt("request", idA), opt("result", "offer"))
	if !r.Ephemeral || !strings.Contains(r.Text(), "isn't one of yours") {
		t.Errorf("/referral outcome on someone else's #%d = %q; want an ephemeral refusal", idA, r.Text())
	}

	r = h.run(stu, "referral", "withdraw", opt("request", idA))
	flowMustContain(t, "/referral withdraw of one's own request", r.Text(), fmt.Sprintf("Request #%d (Atlassian) is withdrawn", idA))
	moved := h.waitDM(ref, fmt.Sprintf("Request #%d for", idA))
	flowMustContain(t, "the referrer's moved-on DM", moved.Text(), "the student withdrew it")
	if late := h.press(ref, offerA, "Accept"); !strings.Contains(late.Text(), "moved on") {
		t.Errorf("Accept on a withdrawn request = %q; want \"moved on\"", late.Text())
	}

	h.press(ref, offerB, "Accept")
	r = h.run(stranger, "referral", "outcome", opt("request", idB), opt("result", "rejected"))
	if !strings.Contains(r.Text(), "isn't one of yours") {
		t.Errorf("/referral outcome on someone else's accepted #%d = %q; want a refusal", idB, r.Text())
	}
	r = h.run(stu, "referral", "outcome", opt("request", idB), opt("result", "interview"))
	flowMustContain(t, "/referral outcome on one's own request", r.Text(), "Great progress!")
	h.waitDM(ref, fmt.Sprintf("is **interviewing** for **%s** at **Atlassian** (request #%d)", flowGoodRequest("atl-b")["role"], idB))

	flowSettle(h)
	if n := h.countDMs(ref, "not selected"); n != 0 {
		t.Errorf("the referrer was told of a rejection someone else tried to record")
	}
	st := h.run(stu, "referral", "status").Text()
	flowMustContain(t, "/referral status", st, fmt.Sprintf("**#%d** Atlassian: %s — withdrawn", idA, flowGoodRequest("atl-a")["role"]),
		fmt.Sprintf("**#%d** Atlassian: %s — interviewing", idB, flowGoodRequest("atl-b")["role"]))
}

func TestFlowAdminCommandsRefuseMembers(t *testing.T) {
	t.Parallel()
	f := startFlow(t, nil)
	h := f.h
	member := f.user("mallory", false)
	noManage := int64(discordgo.PermissionViewChannel | discordgo.PermissionSendMessages | discordgo.PermissionUseApplicationCommands)
	as := func(sub string, opts ...discordtest.Option) *discordtest.Response {
		return h.runAs(discordtest.Command{GuildID: guildID, ChannelID: generalID, UserID: member, Permissions: noManage,
			Name: "referral-admin", Subcommand: sub, Options: opts})
	}
	const refused = "Only members with the Manage Server permission"
	if r := as("stats"); !r.Ephemeral || !strings.Contains(r.Text(), refused) || strings.Contains(r.Text(), "Referral stats") {
		t.Errorf("/referral-admin stats by a member = %q; want an ephemeral refusal", r.Text())
	}
	if r := as("setup", opt("digest_channel", generalID)); !r.Ephemeral || !strings.Contains(r.Text(), refused) {
		t.Errorf("/referral-admin setup by a member = %q; want an ephemeral refusal", r.Text())
	}
	if r := as("export"); len(r.Files) != 0 || !strings.Contains(r.Text(), refused) {
		t.Errorf("/referral-admin export by a member = %q with %d files; want a refusal and no file", r.Text(), len(r.Files))
	}

	// Setup kept the referrer role and the digest channel.
	f.join(f.user("rory", true), "Dropbox")
	if r := h.run(admin, "referral-admin", "stats"); !strings.Contains(r.Text(), "Referral stats") {
		t.Errorf("/referral-admin stats by the admin = %q; want the stats", r.Text())
	}
	h.run(admin, "referral-admin", "digest-now")
	if _, err := h.dc.WaitChannelMessage(h.ctx(), digestID, nil); err != nil {
		t.Errorf("digest-now after a refused setup: %v", err)
	}
	flowSettle(h)
	if n := len(h.dc.ChannelMessages(generalID)); n != 0 {
		t.Errorf("%d posts in the channel a refused setup named", n)
	}
}

func TestFlowForgetMe(t *testing.T) {
	t.Parallel()
	f := startFlow(t, nil)
	h := f.h
	ref := f.user("fay", true)
	stu := f.user("finn", false)
	f.join(ref, "Canva")
	vals := flowGoodRequest("canva")
	id, _ := f.request(stu, "Canva", vals)
	offer := flowWaitOffer(h, ref, id)
	bad := flowGoodRequest("canva-draft")
	bad["job_url"] = "canva.com/jobs"
	flowSubmitModal(h, flowOpenRequestModal(h, stu, "Canva"), bad) // a draft
	if st := h.run(stu, "referral", "status").Text(); !strings.Contains(st, fmt.Sprintf("**#%d**", id)) {
		t.Fatalf("/referral status before forget-me = %q; want request #%d", st, id)
	}

	ask := h.run(stu, "referral", "forget-me")
	if !ask.Ephemeral || !slices.Contains(flowLabels(ask.Buttons()), "Delete my data") {
		t.Fatalf("/referral forget-me = %q with buttons %q; want an ephemeral confirmation with \"Delete my data\"", ask.Text(), flowLabels(ask.Buttons()))
	}
	done := h.press(stu, ask.Message(), "Delete my data")
	flowMustContain(t, "the answer to Delete my data", done.Text(), "Done. I deleted 1 request, 1 draft")

	if st := h.run(stu, "referral", "status").Text(); strings.Contains(st, fmt.Sprintf("#%d", id)) || !strings.Contains(st, "no requests") {
		t.Errorf("/referral status after forget-me = %q; want no requests", st)
	}
	moved := h.waitDM(ref, fmt.Sprintf("Request #%d for", id))
	flowMustContain(t, "the referrer's DM after forget-me", moved.Text(), "has moved on")
	if late := h.press(ref, offer, "Accept"); !strings.Contains(late.Text(), "moved on") {
		t.Errorf("Accept after the student's forget-me = %q; want \"moved on\"", late.Text())
	}
	flowSettle(h)

	db, err := sql.Open("sqlite3", "file:"+h.cfg.Database.Path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var intro, resume, job, note, student string
	err = db.QueryRow(`SELECT intro, resume_url, job_url, note, student_id FROM requests WHERE id = ?`, id).
		Scan(&intro, &resume, &job, &note, &student)
	if err != nil {
		t.Fatalf("read request #%d: %v", id, err)
	}
	for name, v := range map[string]string{"intro": intro, "resume_url": resume, "job_url": job, "note": note, "student_id": student} {
		if v != "" {
			t.Errorf("after forget-me, requests.%s of #%d = %q; want it erased", name, id, v)
		}
	}
	for _, q := range []struct {
		what, query string
		args        []any
	}{
		{"drafts", `SELECT COUNT(*) FROM drafts WHERE student_id = ? OR intro = ? OR job_url = ?`, []any{stu, bad["intro"], bad["job_url"]}},
		{"the outbox", `SELECT COUNT(*) FROM outbox WHERE instr(payload, ?) > 0 OR instr(payload, ?) > 0`, []any{vals["intro"], vals["resume_url"]}},
		{"requests", `SELECT COUNT(*) FROM requests WHERE student_id = ? OR instr(intro, ?) > 0 OR instr(resume_url, ?) > 0`, []any{stu, vals["intro"], vals["resume_url"]}},
	} {
		var n int
		if err := db.QueryRow(q.query, q.args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q.query, err)
		}
		if n != 0 {
			t.Errorf("after forget-me, %d rows of %s still hold the student's data (%s)", n, q.what, q.query)
		}
	}
}

// Drafts: each rule's problem, and Edit request with what was typed, also
// after a restart.
func TestFlowDraftsKeepWhatWasTyped(t *testing.T) {
	t.Parallel()
	f := startFlow(t, nil)
	var draftStudent, draftRef string
	var draftReplies []*discordtest.Message
	var draftValues []map[string]string
	bareAsk := "Hi! Can you refer me please? Thank you so much, I would really appreciate any help here. Thanks a lot!!"
	f.run("drafts_keep_what_was_typed", func(t *testing.T, h *harness) {
		draftRef = f.user("drew", true)
		draftStudent = f.user("dana", false)
		f.join(draftRef, "Airbnb")
		cases := []struct {
			name, field, value, want string
		}{
			{"bad job_url", "job_url", "airbnb.com/careers/4711", "**Job posting link**: The job posting link doesn't start with https://."},
			// Two characters for Discord's min_length, one once trimmed.
			{"too-short role", "role", "Q ", "**Role you're applying for**: The role is too short"},
			{"bare ask intro", "intro", bareAsk, "**Who you are (2-4 sentences)**: The intro is mostly a request for a referral"},
			{"bad resume_url", "resume_url", "my resume is on linkedin", "**Resume link**: The resume link has spaces or line breaks in it."},
			{"resume_url == job_url", "resume_url", "", "**Resume link**: The resume link is the same as the job posting link."},
		}
		for i, c := range cases {
			vals := flowGoodRequest(fmt.Sprintf("abnb-%d", i))
			vals[c.field] = c.value
			if c.value == "" {
				vals[c.field] = vals["job_url"]
			}
			resp := flowSubmitModal(h, flowOpenRequestModal(h, draftStudent, "Airbnb"), vals)
			txt := resp.Text()
			if !resp.Ephemeral || !strings.Contains(txt, c.want) || strings.Contains(txt, "Request #") {
				t.Errorf("%s: answer = %q; want an ephemeral reply with %q and no request number", c.name, txt, c.want)
			}
			if strings.Count(txt, "**: ") != 1 {
				t.Errorf("%s: answer lists %d problems; want exactly the one broken:\n%s", c.name, strings.Count(txt, "**: "), txt)
			}
			if got := flowLabels(resp.Buttons()); !slices.Equal(got, []string{"Edit request"}) {
				t.Fatalf("%s: buttons = %q; want [Edit request]", c.name, got)
			}
			edit := h.press(draftStudent, resp.Message(), "Edit request")
			if edit.Type != discordgo.InteractionResponseModal {
				t.Fatalf("%s: Edit request answered type %d %q; want the modal", c.name, edit.Type, edit.Text())
			}
			for _, id := range flowFieldIDs {
				want := vals[id]
				if id == "role" {
					want = strings.TrimSpace(want) // surrounding spaces are not kept
				}
				if got, _ := edit.Field(id); got != want {
					t.Errorf("%s: Edit request pre-fills %s = %q; want what was typed, %q", c.name, id, got, want)
				}
			}
			draftReplies = append(draftReplies, resp.Message())
			draftValues = append(draftValues, vals)
		}
		flowSettle(h)
		if n := len(h.sentDMs(draftRef)); n != 0 {
			t.Errorf("drafts reached the referrer: %d DMs:\n%s", n, dmDump(h.sentDMs(draftRef)))
		}
		if st := h.run(draftStudent, "referral", "status").Text(); !strings.Contains(st, "no requests") {
			t.Errorf("/referral status with only drafts = %q; want no requests listed", st)
		}
	})

	if len(draftReplies) != 5 {
		return // the first phase failed
	}
	f.h.restart()
	f.run("draft_survives_restart", func(t *testing.T, h *harness) {
		// One draft per student and company (issue 13): every reply's
		// Edit request opens the latest form, here the last case's.
		edit := h.press(draftStudent, draftReplies[2], "Edit request")
		latest := draftValues[4]
		if got, _ := edit.Field("intro"); got != latest["intro"] {
			t.Fatalf("after a restart, Edit request pre-fills intro = %q; want the latest form's, %q", got, latest["intro"])
		}
		vals := latest
		vals["resume_url"] = flowGoodRequest("abnb-4")["resume_url"]
		resp := flowSubmitModal(h, edit, map[string]string{"resume_url": vals["resume_url"]})
		id := flowPreviewNumber(t, resp)
		f.created[id] = vals
		flowWaitOffer(h, draftRef, id)
		flowSettle(h)
		if n := flowOffersTo(h, draftRef, 0); n != 1 {
			t.Errorf("the referrer got %d offers; want 1, for the fixed request only:\n%s", n, dmDump(h.sentDMs(draftRef)))
		}
		st := h.run(draftStudent, "referral", "status").Text()
		if c := strings.Count(st, "**#"); c != 1 || !strings.Contains(st, fmt.Sprintf("**#%d** Airbnb", id)) {
			t.Errorf("/referral status = %q; want only request #%d, no drafts", st, id)
		}
		// The draft became the request: its button is spent.
		if again := h.press(draftStudent, draftReplies[2], "Edit request"); again.Type == discordgo.InteractionResponseModal {
			t.Errorf("Edit request of a draft that was sent opened the modal again; want a refusal")
		}
	})

}

// The export has one row per request, whatever its state (accepted,
// waiting, withdrawn, erased by forget-me, sent after a draft), none for
// drafts, and never an intro or a resume link.
func TestFlowExportCSV(t *testing.T) {
	t.Parallel()
	f := startFlow(t, nil)
	h := f.h
	ref := f.user("erin", true)
	stu, other, gone := f.user("eli", false), f.user("eva", false), f.user("ezra", false)
	f.join(ref, "Slack")

	accepted, _ := f.request(stu, "Slack", flowGoodRequest("slack-a"))
	h.press(ref, flowWaitOffer(h, ref, accepted), "Accept")
	h.waitDM(stu, "agreed to refer you")

	f.request(other, "Zoom", flowGoodRequest("zoom")) // waiting: nobody refers at Zoom
	withdrawn, _ := f.request(other, "Slack", flowGoodRequest("slack-w"))
	flowWaitOffer(h, ref, withdrawn)
	flowMustContain(t, "/referral withdraw", h.run(other, "referral", "withdraw", opt("request", withdrawn)).Text(),
		fmt.Sprintf("Request #%d (Slack) is withdrawn", withdrawn))

	// A draft is no request; fixed with Edit request, it becomes one.
	draft := flowGoodRequest("slack-d")
	draft["job_url"] = "slack.com/careers/4711"
	reply := flowSubmitModal(h, flowOpenRequestModal(h, stu, "Slack"), draft)
	if got := flowLabels(reply.Buttons()); !slices.Equal(got, []string{"Edit request"}) {
		t.Fatalf("answer to a request with a bad job link = %q with buttons %q; want a draft with Edit request", reply.Text(), got)
	}
	fixed := flowGoodRequest("slack-d")
	sent := flowSubmitModal(h, h.press(stu, reply.Message(), "Edit request"), map[string]string{"job_url": fixed["job_url"]})
	f.created[flowPreviewNumber(t, sent)] = fixed
	kept := flowGoodRequest("slack-k")
	kept["job_url"] = "slack.com/careers/4712"
	flowSubmitModal(h, flowOpenRequestModal(h, other, "Slack"), kept) // stays a draft

	f.request(gone, "Notion", flowGoodRequest("notion"))
	ask := h.run(gone, "referral", "forget-me")
	flowMustContain(t, "the answer to Delete my data", h.press(gone, ask.Message(), "Delete my data").Text(), "Done. I deleted 1 request")
	flowSettle(h)

	r := h.run(admin, "referral-admin", "export")
	if !r.Ephemeral || len(r.Files) != 1 {
		t.Fatalf("/referral-admin export = %q with %d files; want an ephemeral reply with one CSV", r.Text(), len(r.Files))
	}
	file := r.Files[0]
	if !strings.HasSuffix(file.Name, ".csv") {
		t.Errorf("export file name = %q; want a .csv", file.Name)
	}
	rows, err := csv.NewReader(bytes.NewReader(file.Data)).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("export is not a CSV with a header: %v\n%s", err, file.Data)
	}
	header := rows[0]
	for _, col := range []string{"id", "company", "state"} {
		if !slices.Contains(header, col) {
			t.Errorf("export header = %q; want a %q column", header, col)
		}
	}
	for _, col := range header {
		if c := strings.ToLower(col); strings.Contains(c, "resume") || strings.Contains(c, "intro") {
			t.Errorf("export header = %q; want no %q column", header, col)
		}
	}
	got := map[int64]int{}
	idCol := slices.Index(header, "id")
	for _, row := range rows[1:] {
		if idCol >= 0 && idCol < len(row) {
			id, _ := strconv.ParseInt(row[idCol], 10, 64)
			got[id]++
		}
	}
	for id := range f.created {
		if got[id] != 1 {
			t.Errorf("export has %d rows for request #%d; want 1", got[id], id)
		}
	}
	if len(rows)-1 != len(f.created) {
		t.Errorf("export has %d rows; want %d, one per request", len(rows)-1, len(f.created))
	}
	data := string(file.Data)
	for id, vals := range f.created {
		for _, field := range []string{"resume_url", "intro"} {
			if vals[field] != "" && strings.Contains(data, vals[field]) {
				t.Errorf("export contains the %s of request #%d", field, id)
			}
		}
	}
	if strings.Contains(data, kept["intro"]) || strings.Contains(data, kept["job_url"]) {
		t.Errorf("export contains the draft that was never sent")
	}
}

// A referrer who answers after the offer timed out changes nothing; the
// one asked next can still accept.
func TestFlowLateAcceptAfterTimeout(t *testing.T) {
	t.Parallel()
	f := startFlow(t, func(c *config.Config) { c.Referrals.RequestTTL = config.Duration(90 * 24 * time.Hour) })
	h := f.h
	a, b := f.user("tara", true), f.user("tom", true)
	stu := f.user("tess", false)
	f.join(a, "Adobe")
	f.join(b, "Adobe")
	id, _ := f.request(stu, "Adobe", flowGoodRequest("adbe"))
	first, stale := flowWaitOfferAny(h, id, a, b)
	next := flowOther(a, b, first)

	h.clock.Advance(time.Duration(f.h.cfg.Referrals.OfferTimeout) + time.Minute)
	offer := flowWaitOffer(h, next, id)
	moved := h.waitDM(first, fmt.Sprintf("Request #%d for", id))
	flowMustContain(t, "the timed-out referrer's DM", moved.Text(), "has moved on")

	// The first referrer answers late: nothing changes, and the one asked
	// now can still accept.
	late := h.press(first, stale, "Accept")
	if !late.Ephemeral || !strings.Contains(late.Text(), "moved on") {
		t.Errorf("a late Accept by a referrer no longer asked = %q; want an ephemeral \"moved on\"", late.Text())
	}
	flowSettle(h)
	if n := h.countDMs(stu, "agreed to refer you"); n != 0 {
		t.Fatalf("a late Accept by the wrong referrer told the student they were accepted")
	}
	acc := h.press(next, offer, "Accept")
	flowMustContain(t, "the Accept of the referrer asked now", acc.Text(), "You accepted")
	told := h.waitDM(stu, "agreed to refer you")
	flowMustContain(t, "the student's accepted DM", told.Text(), "<@"+next+">")
	flowSettle(h)
	if n := h.countDMs(stu, "agreed to refer you"); n != 1 {
		t.Errorf("the student got %d \"accepted\" DMs; want 1", n)
	}
}

// Capacity counts over 30 days: a full referrer is not offered a second
// request until the first acceptance is 30 days old; the request waits
// and is offered then, without anyone having to do anything.
func TestFlowCapacityWindow(t *testing.T) {
	t.Parallel()
	f := startFlow(t, func(c *config.Config) { c.Referrals.RequestTTL = config.Duration(90 * 24 * time.Hour) })
	var capRef string
	var capWaiting int64
	f.run("capacity_full_within_30_days", func(t *testing.T, h *harness) {
		capRef = f.user("cali", true)
		s1, s2 := f.user("sid", false), f.user("sue", false)
		j := f.join(capRef, "Twilio", opt("capacity", 1))
		flowMustContain(t, "the join reply", j.Text(), "Capacity: 1 referral per 30 days")
		id1, _ := f.request(s1, "Twilio", flowGoodRequest("twlo-1"))
		h.press(capRef, flowWaitOffer(h, capRef, id1), "Accept")

		var resp *discordtest.Response
		capWaiting, resp = f.request(s2, "Twilio", flowGoodRequest("twlo-2"))
		flowMustContain(t, "the answer to a request while the only referrer is full", resp.Text(), "it's waiting")
		flowMustContain(t, "/referrer profile", h.run(capRef, "referrer", "profile").Text(), "0 of 1 in the last 30 days")
		h.clock.Advance(29 * 24 * time.Hour)
	})
	if capWaiting == 0 {
		return
	}
	// The bot sweeps at start, so after a restart every step and match due
	// 29 days on has run.
	f.h.restart()
	f.run("capacity_frees_after_30_days", func(t *testing.T, h *harness) {
		flowSettle(h)
		if n := flowOffersTo(h, capRef, capWaiting); n != 0 {
			t.Fatalf("29 days after accepting one, a referrer with capacity 1 was offered a second request")
		}
		flowMustContain(t, "/referrer profile 29 days on", h.run(capRef, "referrer", "profile").Text(), "0 of 1 in the last 30 days")

		h.clock.Advance(24*time.Hour + time.Hour)
		var offer *discordtest.Message
		eventually(t, fmt.Sprintf("request #%d offered to the referrer once their acceptance is 30 days old "+
			"(a waiting request must be matched when capacity frees up over time, not only on join, resume or approve)", capWaiting), func() bool {
			offer = flowCurrentOffer(h, capRef, capWaiting)
			return offer != nil
		})
		flowMustContain(t, "the offer DM 30 days on", offer.Text(), flowGoodRequest("twlo-2")["intro"])
	})
}
