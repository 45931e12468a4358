package commands

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

// noticeKinds reads every NoticeKind constant from the referral package's
// source, so a kind added there without a renderer fails this test.
func noticeKinds(t *testing.T) []referral.NoticeKind {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "../referral/notice.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []referral.NoticeKind
	ast.Inspect(f, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		if id, ok := spec.Type.(*ast.Ident); !ok || id.Name != "NoticeKind" {
			return true
		}
		for _, v := range spec.Values {
			if lit, ok := v.(*ast.BasicLit); ok {
				s, _ := strconv.Unquote(lit.Value)
				kinds = append(kinds, referral.NoticeKind(s))
			}
		}
		return true
	})
	if len(kinds) < 15 {
		t.Fatalf("found %d notice kinds in notice.go; the parser missed some", len(kinds))
	}
	return kinds
}

// hostileNotice has the longest text a user can get into a notice, with
// mentions that must not ping.
func hostileNotice(kind referral.NoticeKind) referral.Notice {
	d := sampleDigest()
	for k := range 40 {
		d.Wanted = append(d.Wanted, referral.Wanted{Company: strings.Repeat("Wanted Co @everyone ", 5) + itoa(int64(k)), Waiting: k})
		d.ThankReferrers = append(d.ThankReferrers, "77777777777777777"+itoa(int64(k)))
	}
	return referral.Notice{
		Kind: kind, RequestID: 1234567, OfferID: 7654321, StudentID: testStudent, ReferrerID: testAlumnus,
		Company:        strings.Repeat("Acme @here ", 20),
		Role:           strings.Repeat("Engineer <@&123> ", 20),
		JobURL:         "https://jobs.example.com/" + strings.Repeat("a", 480),
		Intro:          "@everyone <@&123> " + strings.Repeat("Intro text é 🎉 ", 400),
		Note:           strings.Repeat("Note @everyone ", 200),
		ResumeURL:      "https://drive.example.com/" + strings.Repeat("r", 480),
		VerifiedDomain: "amazon.com",
		Reason:         strings.Repeat("because ", 100),
		Outcome:        referral.OutcomeOffer,
		FollowUp:       1, FollowUps: 2,
		Due:    testNow.Add(72 * time.Hour),
		UserID: testStudent,
		Digest: &d,
	}
}

func TestRenderNoticeEveryKind(t *testing.T) {
	for _, kind := range noticeKinds(t) {
		t.Run(string(kind), func(t *testing.T) {
			n := hostileNotice(kind)
			if len([]rune(n.Intro)) < 5000 {
				t.Fatalf("intro has %d characters; the test wants 5000+", len([]rune(n.Intro)))
			}
			m, err := RenderNotice(n, time.UTC)
			if err != nil {
				t.Fatalf("RenderNotice(%s) error: %v", kind, err)
			}
			if m.Content == "" && len(m.Embeds) == 0 {
				t.Fatalf("RenderNotice(%s) is empty", kind)
			}
			if n := len([]rune(m.Content)); n > maxContent {
				t.Errorf("content has %d characters; want <= %d", n, maxContent)
			}
			for _, e := range m.Embeds {
				checkEmbedLimits(t, e)
			}
			// Only the fallback post pings, and only the user it is for.
			if kind == referral.NoticeDMClosed {
				mustNotPing(t, m.AllowedMentions, testStudent)
			} else {
				mustNotPing(t, m.AllowedMentions)
			}
			for _, b := range buttons(m.Components) {
				if _, _, err := parseCustomID(b.CustomID); err != nil || len(b.CustomID) > maxCustomIDLen {
					t.Errorf("button %q has custom_id %q that the router can't read", b.Label, b.CustomID)
				}
			}
		})
	}
}

func TestRenderNoticeButtons(t *testing.T) {
	tests := []struct {
		kind referral.NoticeKind
		want string
		ids  string
	}{
		{referral.NoticeOffer, "Accept,Decline", "offer/accept/7654321,offer/decline/7654321"},
		{referral.NoticeReminder, "Referral submitted", "req/submitted/1234567"},
		{referral.NoticeFollowUp, "Recruiter screen,Interviewing,Offer,Rejected,No news yet",
			"req/outcome/1234567/screen,req/outcome/1234567/interview,req/outcome/1234567/offer,req/outcome/1234567/rejected,req/nonews/1234567"},
		{referral.NoticeAccepted, "Report", "report/ask/1234567"},
		{referral.NoticeDigest, "", ""},
	}
	for _, tt := range tests {
		m, err := RenderNotice(hostileNotice(tt.kind), time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, b := range buttons(m.Components) {
			ids = append(ids, b.CustomID)
		}
		if got := buttonLabels(m.Components); got != tt.want {
			t.Errorf("%s buttons = %q; want %q", tt.kind, got, tt.want)
		}
		if got := strings.Join(ids, ","); got != tt.ids {
			t.Errorf("%s custom_ids = %q; want %q", tt.kind, got, tt.ids)
		}
	}
}

func TestRenderOfferContent(t *testing.T) {
	n := referral.Notice{Kind: referral.NoticeOffer, RequestID: 12, OfferID: 3, StudentID: testStudent,
		Company: "Amazon", Role: "SDE Intern", JobURL: "https://amazon.jobs/1", ResumeURL: "https://r.example/cv.pdf",
		Intro: "@everyone <@&123> I'm a student at McGill.", Note: "I know Java.", VerifiedDomain: "amazon.com"}
	m, err := RenderNotice(n, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	mustNotPing(t, m.AllowedMentions)
	e := m.Embeds[0]
	for _, want := range []string{"Request #12", "SDE Intern", "Amazon", "https://amazon.jobs/1", "https://r.example/cv.pdf", "<@" + testStudent + ">", "I know Java."} {
		if !embedHas(e, want) {
			t.Errorf("offer embed lacks %q", want)
		}
	}
	if e.Description != n.Intro {
		t.Errorf("description = %q; want the intro", e.Description)
	}
	if e.Footer == nil || !strings.Contains(e.Footer.Text, "verified @amazon.com") {
		t.Errorf("footer = %+v; want verified @amazon.com", e.Footer)
	}
}

func TestRenderAcceptedTellsWhatNext(t *testing.T) {
	m, err := RenderNotice(referral.Notice{Kind: referral.NoticeAccepted, RequestID: 4, ReferrerID: testAlumnus, Company: "Amazon", Role: "SDE"}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<@" + testAlumnus + ">", "one to two weeks", "recruiter", "interviews"} {
		if !strings.Contains(m.Content, want) {
			t.Errorf("accepted notice lacks %q:\n%s", want, m.Content)
		}
	}
	mustNotPing(t, m.AllowedMentions)
}

func TestRenderDigest(t *testing.T) {
	d := sampleDigest()
	m, err := RenderNotice(referral.Notice{Kind: referral.NoticeDigest, Digest: &d}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	mustNotPing(t, m.AllowedMentions)
	if len(m.Embeds) != 1 {
		t.Fatalf("digest has %d embeds; want 1", len(m.Embeds))
	}
	e := m.Embeds[0]
	if want := "Referral digest: the 7 days to Mon 30 Nov 2026, 00:00 UTC"; e.Title != want {
		t.Errorf("title = %q; want %q", e.Title, want)
	}
	checkDigestLabels(t, e, d)
	if !strings.Contains(e.Description, "Wanted: referrers at Amazon (3 waiting), Stripe (1 waiting)") {
		t.Errorf("wanted line not most wanted first:\n%s", e.Description)
	}
	if !strings.Contains(e.Description, "<@501>, <@502>") || !strings.Contains(e.Description, "Tip: ") {
		t.Errorf("digest lacks thanks or tip:\n%s", e.Description)
	}
	if !embedHas(e, "1 day 2 h") {
		t.Errorf("digest lacks the median time to accept")
	}

	if _, err := RenderNotice(referral.Notice{Kind: referral.NoticeDigest}, time.UTC); err == nil {
		t.Error("a digest notice without a digest rendered")
	}
	if _, err := RenderNotice(referral.Notice{Kind: "bogus"}, time.UTC); err == nil {
		t.Error("an unknown kind rendered")
	}
}

// checkDigestLabels wants the six contract labels with the week's numbers.
func checkDigestLabels(t *testing.T, e *discordgo.MessageEmbed, d referral.Digest) {
	t.Helper()
	want := map[string]int{
		"New requests": d.NewRequests, "Matched": d.Matched, "Referrals submitted": d.Submitted,
		"Recruiter screens": d.Screens, "Interviews": d.Interviews, "Offers": d.Offers,
	}
	for _, f := range e.Fields {
		if n, ok := want[f.Name]; ok {
			if f.Value != strconv.Itoa(n) {
				t.Errorf("field %s = %q; want %d", f.Name, f.Value, n)
			}
			delete(want, f.Name)
		}
	}
	for label := range want {
		t.Errorf("embed lacks the field %q", label)
	}
}

// checkEmbedLimits wants an embed Discord accepts.
func checkEmbedLimits(t *testing.T, e *discordgo.MessageEmbed) {
	t.Helper()
	runes := func(s string) int { return len([]rune(s)) }
	if runes(e.Title) > maxEmbedTitle || runes(e.Description) > maxEmbedDesc || len(e.Fields) > maxEmbedFields || embedLen(e) > maxEmbedTotal {
		t.Errorf("embed out of limits: title %d, description %d, %d fields, total %d",
			runes(e.Title), runes(e.Description), len(e.Fields), embedLen(e))
	}
	for _, f := range e.Fields {
		if runes(f.Name) > maxFieldName || runes(f.Value) > maxFieldValue || f.Name == "" || f.Value == "" {
			t.Errorf("field %q: name %d, value %d characters", f.Name, runes(f.Name), runes(f.Value))
		}
	}
}

// The digest covers the seven days before its post (storage sets From and
// To to them) and its title says so, in the server's time zone, whatever
// the day and across a year; never the ISO week, which the numbers don't
// cover.
func TestRenderDigestTitleNamesItsPeriod(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	tests := []struct {
		name   string
		posted time.Time
		loc    *time.Location
		want   string
	}{
		{"Monday morning", time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), time.UTC, "Referral digest: the 7 days to Mon 7 Dec 2026, 09:00 UTC"},
		{"Sunday evening", time.Date(2026, 12, 6, 17, 30, 0, 0, time.UTC), berlin, "Referral digest: the 7 days to Sun 6 Dec 2026, 18:30 CET"},
		{"first Monday of a year", time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC), time.UTC, "Referral digest: the 7 days to Mon 4 Jan 2027, 09:00 UTC"},
		// 02:00 UTC on 1 Jan is still New Year's Eve in New York.
		{"New Year's Eve in the time zone", time.Date(2027, 1, 1, 2, 0, 0, 0, time.UTC), ny, "Referral digest: the 7 days to Thu 31 Dec 2026, 21:00 EST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := sampleDigest()
			d.Week = referral.WeekKey(tt.posted, tt.loc)
			d.From, d.To = referral.DigestPeriod(tt.posted, tt.loc)
			m, err := RenderNotice(referral.Notice{Kind: referral.NoticeDigest, Digest: &d}, tt.loc)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Embeds[0].Title; got != tt.want {
				t.Errorf("digest posted %v: title = %q; want %q", tt.posted, got, tt.want)
			}
		})
	}
}

// The offer card names the role and links the job once each: the title
// has the role, the fields the job link and the resume.
func TestRenderOfferShowsRoleAndLinkOnce(t *testing.T) {
	n := referral.Notice{Kind: referral.NoticeOffer, RequestID: 12, OfferID: 3, StudentID: testStudent,
		Company: "Amazon", Role: "SDE Intern", JobURL: "https://amazon.jobs/1", ResumeURL: "https://r.example/cv.pdf",
		Intro: "I'm a student at McGill and I'd like to work on payments.", Note: "I know Java."}
	m, err := RenderNotice(n, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	e := m.Embeds[0]
	all := []string{m.Content, e.Title, e.URL, e.Description}
	for _, f := range e.Fields {
		all = append(all, f.Name, f.Value)
	}
	shown := strings.Join(all, "\n")
	for _, s := range []string{n.Role, n.JobURL, n.ResumeURL} {
		if got := strings.Count(shown, s); got != 1 {
			t.Errorf("offer shows %q %d times; want once:\n%s", s, got, shown)
		}
	}
	if e.Title != "Request #12: SDE Intern at Amazon" {
		t.Errorf("offer title = %q; want the role and the company", e.Title)
	}
}

// Counts read "1 request", "2 requests".
func TestRenderPlurals(t *testing.T) {
	weeks := []referral.WeekCounts{{Week: "2026-W47", Requests: 1, Submitted: 1, Interviews: 1, Offers: 1}, {Week: "2026-W48", Requests: 2, Interviews: 2, Offers: 2}}
	got := weekChart(weeks, time.Time{}, time.UTC)
	for _, want := range []string{"1 request · 1 submitted · 1 interview · 1 offer", "2 requests · 0 submitted · 2 interviews · 2 offers"} {
		if !strings.Contains(got, want) {
			t.Errorf("weekChart lacks %q:\n%s", want, got)
		}
	}
	d := sampleDigest()
	d.History = d.History[:1]
	m, err := RenderNotice(referral.Notice{Kind: referral.NoticeDigest, Digest: &d}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if e := m.Embeds[0]; !embedHasField(e, "Last 1 week") {
		t.Errorf("digest with one week of history lacks the field \"Last 1 week\": %+v", e.Fields)
	}
	rows := companyRows([]referral.CompanyStats{{Company: "Amazon", Referrers: 1, Waiting: 1, Open: 1, Submitted: 1}, {Company: "Stripe", Referrers: 2}})
	for _, want := range []string{"Amazon: 1 referrer · 1 waiting", "Stripe: 2 referrers · 0 waiting"} {
		if !strings.Contains(rows, want) {
			t.Errorf("companyRows lacks %q:\n%s", want, rows)
		}
	}
}

func embedHasField(e *discordgo.MessageEmbed, name string) bool {
	for _, f := range e.Fields {
		if f.Name == name {
			return true
		}
	}
	return false
}

func TestFollowUpSaysHowLongAgo(t *testing.T) {
	in := time.Date(2026, 11, 2, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		due  time.Time
		want string
	}{
		{in.Add(7 * 24 * time.Hour), "went in 7 days ago"},
		{in.Add(14 * 24 * time.Hour), "went in 14 days ago"},
		{in.Add(24 * time.Hour), "went in 1 day ago"},
		{time.Time{}, "went in a while ago"},
	}
	for _, tt := range tests {
		n := referral.Notice{Kind: referral.NoticeFollowUp, RequestID: 3, Company: "Amazon", Role: "SDE Intern", FollowUp: 1, FollowUps: 2, SubmittedAt: in, Due: tt.due}
		m, err := RenderNotice(n, time.UTC)
		if err != nil || !strings.Contains(m.Content, tt.want) {
			t.Errorf("follow-up due %v = %q, %v; want it to say %q", tt.due, m.Content, err, tt.want)
		}
	}
}
