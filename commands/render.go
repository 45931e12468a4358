package commands

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

// Room given to user text inside messages, below Discord's limits so the
// rest of the message always fits.
const (
	maxIntroShown   = 3000
	maxShortShown   = 100 // company and role in sentences and titles
	maxDigestListed = 15  // companies or referrers named in one digest line
)

// RenderNotice turns a notice into the message the bot sends: a DM for
// the notices to one user, a channel post for the digest and the
// DM-closed fallback. Nobody is pinged except the user a fallback post is
// for, whatever the user-typed text in it says.
func RenderNotice(n referral.Notice, loc *time.Location) (*discordgo.MessageSend, error) {
	if loc == nil {
		loc = time.UTC
	}
	var m *discordgo.MessageSend
	switch n.Kind {
	case referral.NoticeOffer:
		m = renderOffer(n, loc)
	case referral.NoticeOfferClosed:
		m = text(fmt.Sprintf("Request #%d for %s has moved on: %s. There's nothing more to do; thank you for being there.", n.RequestID, roleAt(n), closedReason(n.Reason)))
	case referral.NoticeWaiting:
		m = renderWaiting(n, loc)
	case referral.NoticeStudentMatched:
		m = text(fmt.Sprintf("A referrer at **%s** is being asked about your request #%d (%s). You'll hear from me once a referrer takes it on.", company(n), n.RequestID, role(n)))
	case referral.NoticeAccepted:
		m = renderAccepted(n)
	case referral.NoticeSubmitted:
		m = renderSubmitted(n, loc)
	case referral.NoticeReminder:
		m = renderReminder(n)
	case referral.NoticeFollowUp:
		m = renderFollowUp(n)
	case referral.NoticeOutcome:
		m = text(outcomeForReferrer(n))
	case referral.NoticeKeepInMind:
		m = renderKeepInMind(n)
	case referral.NoticeExpired:
		m = renderExpired(n)
	case referral.NoticeReferrerGone:
		m = text(fmt.Sprintf("The referrer for your request #%d (%s) can't continue, so I'm looking for another one. You'll hear from me when someone is asked; nothing is needed from you.", n.RequestID, roleAt(n)))
	case referral.NoticePauseEnded:
		m = text("Your pause is over: you receive referral offers again. Need more time? Use /referrer pause.")
	case referral.NoticeDMClosed:
		m = renderDMClosed(n)
	case referral.NoticeReport:
		m = renderReport(n)
	case referral.NoticeRoleLost:
		m = renderRoleLost(n)
	case referral.NoticeNeedsDetail:
		m = renderNeedsDetail(n)
	case referral.NoticeDigest:
		if n.Digest == nil {
			return nil, fmt.Errorf("render %s notice: no digest", n.Kind)
		}
		m = renderDigest(*n.Digest, loc)
	default:
		return nil, fmt.Errorf("render notice: unknown kind %q", n.Kind)
	}
	m.Content = referral.Truncate(m.Content, maxContent)
	for _, e := range m.Embeds {
		fitEmbed(e)
	}
	if m.AllowedMentions == nil {
		m.AllowedMentions = noPings()
	}
	return m, nil
}

// text is a DM of plain text that pings nobody.
func text(content string) *discordgo.MessageSend {
	return &discordgo.MessageSend{Content: content, AllowedMentions: noPings()}
}

func company(n referral.Notice) string {
	if strings.TrimSpace(n.Company) == "" {
		return "the company"
	}
	return referral.Truncate(n.Company, maxShortShown)
}

func role(n referral.Notice) string {
	if strings.TrimSpace(n.Role) == "" {
		return "the role"
	}
	return referral.Truncate(n.Role, maxShortShown)
}

// roleAt reads "**Role** at **Company**".
func roleAt(n referral.Notice) string {
	return "**" + role(n) + "** at **" + company(n) + "**"
}

// offerEmbed is the request as the referrer sees it; the student's
// preview shows the same embed. The title names the role and the company,
// the fields the job link and the resume: each once.
func offerEmbed(n referral.Notice) *discordgo.MessageEmbed {
	intro := strings.TrimSpace(n.Intro)
	if intro == "" {
		intro = "(no intro)"
	}
	student := mention(n.StudentID)
	e := &discordgo.MessageEmbed{
		Title:       fmt.Sprintf("Request #%d: %s at %s", n.RequestID, role(n), company(n)),
		Description: referral.Truncate(intro, maxIntroShown),
		Color:       0x5865F2,
		Fields: []*discordgo.MessageEmbedField{
			{Name: "Student", Value: student, Inline: true},
			{Name: "Job posting", Value: linkOrNone(n.JobURL)},
			{Name: "Resume", Value: linkOrNone(n.ResumeURL)},
		},
	}
	if note := strings.TrimSpace(n.Note); note != "" {
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: "Why they fit", Value: referral.Truncate(note, maxFieldValue)})
	}
	if n.VerifiedDomain != "" {
		e.Footer = &discordgo.MessageEmbedFooter{Text: "Sent to you as a referrer verified @" + n.VerifiedDomain}
	}
	return e
}

// webURL returns s when it is an absolute http(s) URL Discord accepts.
func webURL(s string) (string, bool) {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(s) > 2000 {
		return "", false
	}
	return s, true
}

func linkOrNone(s string) string {
	if strings.TrimSpace(s) == "" {
		return "(not given)"
	}
	return referral.Truncate(s, maxFieldValue)
}

func renderOffer(n referral.Notice, loc *time.Location) *discordgo.MessageSend {
	var b strings.Builder
	fmt.Fprintf(&b, "%s is asking you for a referral at **%s**. Their request is below: the role, the job link, who they are and their resume.\n", mention(n.StudentID), company(n))
	b.WriteString("Accept if you can submit them through your company's referral tool within a few days; Decline is fine too, the request then goes to another referrer.")
	if !n.Due.IsZero() {
		fmt.Fprintf(&b, "\nWithout an answer by %s it moves on by itself.", dayTime(n.Due, loc))
	}
	return &discordgo.MessageSend{
		Content: b.String(),
		Embeds:  []*discordgo.MessageEmbed{offerEmbed(n)},
		Components: []discordgo.MessageComponent{row(
			button("Accept", offerAccept.with(n.OfferID), discordgo.SuccessButton),
			button("Decline", offerDecline.with(n.OfferID), discordgo.SecondaryButton),
		)},
		AllowedMentions: noPings(),
	}
}

func renderWaiting(n referral.Notice, loc *time.Location) *discordgo.MessageSend {
	var b strings.Builder
	fmt.Fprintf(&b, "Your request #%d for %s is saved, but no referrer there is free right now, so it's waiting. ", n.RequestID, roleAt(n))
	fmt.Fprintf(&b, "I'll offer it as soon as one is, and the weekly digest asks for referrers at %s.", company(n))
	if !n.Due.IsZero() {
		fmt.Fprintf(&b, " If nobody is free by %s, it expires and I'll let you know.", day(n.Due, loc))
	}
	b.WriteString("\nMeanwhile, applying directly on the careers page doesn't hurt.")
	return text(b.String())
}

func renderAccepted(n referral.Notice) *discordgo.MessageSend {
	var b strings.Builder
	fmt.Fprintf(&b, "Good news! %s agreed to refer you for %s (request #%d).\n\n", mention(n.ReferrerID), roleAt(n), n.RequestID)
	b.WriteString("**What happens next**\n")
	fmt.Fprintf(&b, "- Your referrer enters you in %s's internal referral tool and marks it submitted here; I'll tell you when they do.\n", company(n))
	b.WriteString("- Watch your email, spam folder included, for a message from the company's hiring system. If your referrer sends you a link to apply through, use that link.\n")
	b.WriteString("- Most people hear something within one to two weeks.\n")
	b.WriteString("- If your resume gets through, a recruiter usually calls first for a short check of the basics: are you actively looking, can you work full time, do you need visa sponsorship.\n")
	b.WriteString("- Technical interviews follow, mostly coding and algorithms, sometimes system design or behavioural questions. It can all take two or three weeks, or a month and more.\n")
	b.WriteString("- A referral gets your resume seen; how well you fit the role decides the rest. A thank-you to your referrer is always welcome.\n")
	b.WriteString("Something wrong, like being asked for money or your details misused? **Report** tells the server's admins.")
	m := text(b.String())
	m.Components = []discordgo.MessageComponent{row(button("Report", reportAsk.with(n.RequestID), discordgo.SecondaryButton))}
	return m
}

func renderSubmitted(n referral.Notice, loc *time.Location) *discordgo.MessageSend {
	var b strings.Builder
	fmt.Fprintf(&b, "%s has submitted your referral for %s (request #%d). Keep an eye on your email for the company's next step.", mention(n.ReferrerID), roleAt(n), n.RequestID)
	if !n.Due.IsZero() {
		fmt.Fprintf(&b, "\nI'll check in on %s to ask whether you heard back.", day(n.Due, loc))
	}
	fmt.Fprintf(&b, " News before that? Tell me with /referral outcome request:%d.", n.RequestID)
	return text(b.String())
}

func renderReminder(n referral.Notice) *discordgo.MessageSend {
	msg := fmt.Sprintf("A friendly reminder: you accepted to refer %s for %s (request #%d). "+
		"Once you've submitted them in your company's referral tool, press **Referral submitted** so they know it's in and I can follow up with them. "+
		"If something stops you, a short DM to the student helps them plan.", mention(n.StudentID), roleAt(n), n.RequestID)
	m := text(msg)
	if n.JobURL != "" || n.ResumeURL != "" {
		m.Embeds = []*discordgo.MessageEmbed{{
			Title: fmt.Sprintf("Request #%d: %s at %s", n.RequestID, role(n), company(n)),
			Fields: []*discordgo.MessageEmbedField{
				{Name: "Job posting", Value: linkOrNone(n.JobURL)},
				{Name: "Resume", Value: linkOrNone(n.ResumeURL)},
			},
		}}
	}
	m.Components = []discordgo.MessageComponent{row(button("Referral submitted", reqSubmitted.with(n.RequestID), discordgo.SuccessButton))}
	return m
}

// followUpButtons are the student's answers to "did you hear back?".
func followUpButtons(requestID int64) []discordgo.Button {
	return []discordgo.Button{
		button(referral.OutcomeScreen.Label(), outcomeID(requestID, referral.OutcomeScreen), discordgo.PrimaryButton),
		button(referral.OutcomeInterview.Label(), outcomeID(requestID, referral.OutcomeInterview), discordgo.PrimaryButton),
		button(referral.OutcomeOffer.Label(), outcomeID(requestID, referral.OutcomeOffer), discordgo.SuccessButton),
		button(referral.OutcomeRejected.Label(), outcomeID(requestID, referral.OutcomeRejected), discordgo.DangerButton),
		button("No news yet", reqNoNews.with(requestID), discordgo.SecondaryButton),
	}
}

func renderFollowUp(n referral.Notice) *discordgo.MessageSend {
	msg := fmt.Sprintf("Did you hear back about %s (request #%d)? Your referral went in %s. Press what happened so far; your referrer will be glad to know.",
		roleAt(n), n.RequestID, sinceSubmitted(n))
	if n.FollowUp > 0 && n.FollowUps > 0 {
		msg += fmt.Sprintf("\n(Check-in %d of %d.)", n.FollowUp, n.FollowUps)
	}
	m := text(msg)
	m.Components = []discordgo.MessageComponent{row(followUpButtons(n.RequestID)...)}
	return m
}

// sinceSubmitted says how long before the check-in the referral went in:
// "7 days ago", "1 day ago", or "a while ago" when the notice has no times.
func sinceSubmitted(n referral.Notice) string {
	if n.SubmittedAt.IsZero() || n.Due.Before(n.SubmittedAt) {
		return "a while ago"
	}
	days := int((n.Due.Sub(n.SubmittedAt) + 12*time.Hour) / (24 * time.Hour))
	switch days {
	case 0:
		return "today"
	case 1:
		return "1 day ago"
	}
	return fmt.Sprintf("%d days ago", days)
}

func outcomeForReferrer(n referral.Notice) string {
	who, what := mention(n.StudentID), roleAt(n)
	switch n.Outcome {
	case referral.OutcomeScreen:
		return fmt.Sprintf("%s got a **recruiter screen** for %s after your referral (request #%d). Thank you for opening the door!", who, what, n.RequestID)
	case referral.OutcomeInterview:
		return fmt.Sprintf("%s is **interviewing** for %s (request #%d). Your referral helped them get this far; thank you!", who, what, n.RequestID)
	case referral.OutcomeOffer:
		return fmt.Sprintf("🎉 %s got an **offer** for %s (request #%d)! Your referral made a real difference. Thank you so much for helping.", who, what, n.RequestID)
	case referral.OutcomeRejected:
		return fmt.Sprintf("%s heard back about %s (request #%d): not selected this time. Thank you for referring them; a referral gets a resume seen, and the fit with the role decides the rest.", who, what, n.RequestID)
	}
	return fmt.Sprintf("%s hasn't heard back about %s (request #%d) and closed the request. Thank you for referring them all the same.", who, what, n.RequestID)
}

func renderKeepInMind(n referral.Notice) *discordgo.MessageSend {
	msg := fmt.Sprintf("%s, whom you referred for %s (request #%d), wasn't selected this time and asks you to keep them in mind for future openings that fit. If one comes up, a quick DM to them is all it takes. Thank you!", mention(n.StudentID), roleAt(n), n.RequestID)
	m := text(msg)
	if n.ResumeURL != "" {
		m.Embeds = []*discordgo.MessageEmbed{{Title: "Resume", Description: linkOrNone(n.ResumeURL)}}
	}
	return m
}

func renderExpired(n referral.Notice) *discordgo.MessageSend {
	var b strings.Builder
	fmt.Fprintf(&b, "No referrer at **%s** was free in time, so your request #%d for **%s** has expired. I'm sorry.\n", company(n), n.RequestID, role(n))
	b.WriteString("Please don't wait any longer: apply directly on the company's careers page")
	if u, ok := webURL(n.JobURL); ok {
		b.WriteString(" (the posting: <" + referral.Truncate(u, 500) + ">)")
	}
	b.WriteString(". Referrers join over time, so you can try /referral request again later.")
	return text(b.String())
}

func renderDMClosed(n referral.Notice) *discordgo.MessageSend {
	return &discordgo.MessageSend{
		Content: mention(n.UserID) + ", I tried to DM you about your referral but your DMs are closed — enable DMs from server members " +
			"(server name → Privacy Settings → Direct Messages) so I can reach you.",
		AllowedMentions: pingOnly(n.UserID),
	}
}

// closedReason explains why an offer moved on.
func closedReason(reason string) string {
	switch reason {
	case "timeout", "timed_out", "offer_timeout":
		return "there was no answer in time, so it went to the next referrer"
	case "withdrawn":
		return "the student withdrew it"
	case "expired":
		return "it expired"
	case "referrer_gone", "removed", "left", "paused":
		return "you're no longer receiving offers"
	case "":
		return "it's no longer waiting for you"
	}
	return referral.Truncate(reason, 200)
}

// digestLabels are the digest's numbers; the labels are part of the contract.
func digestLabels(d referral.Digest) []*discordgo.MessageEmbedField {
	f := func(name string, n int) *discordgo.MessageEmbedField {
		return &discordgo.MessageEmbedField{Name: name, Value: fmt.Sprint(n), Inline: true}
	}
	return []*discordgo.MessageEmbedField{
		f("New requests", d.NewRequests),
		f("Matched", d.Matched),
		f("Referrals submitted", d.Submitted),
		f("Recruiter screens", d.Screens),
		f("Interviews", d.Interviews),
		f("Offers", d.Offers),
	}
}

// renderDigest is the weekly digest: the week's numbers under the
// contract's labels, the median time to accept, the all-time totals, who
// is wanted, thanks to the week's referrers (mentions that ping no one),
// a tip for students, and a chart of the last eight weeks as an attached
// PNG. Everything the chart shows is in the text too, so the digest reads
// the same without images; if drawing fails it is posted without one.
// Nothing private: no intros, links or resumes.
func renderDigest(d referral.Digest, loc *time.Location) *discordgo.MessageSend {
	fields := digestLabels(d)
	median := "no referral accepted in these 7 days"
	if d.MedianAccept > 0 {
		median = humanDuration(d.MedianAccept)
	}
	fields = append(fields,
		&discordgo.MessageEmbedField{Name: "Median time to accept", Value: median},
		&discordgo.MessageEmbedField{Name: "All time", Value: totalsLine(d.Total)})

	var desc []string
	if wanted := wantedLine(d.Wanted); wanted != "" {
		desc = append(desc, wanted)
	}
	if len(d.ThankReferrers) > 0 {
		// Mentions in an embed never ping; AllowedMentions makes sure anyway.
		desc = append(desc, "Thank you to this week's referrers: "+listCapped(mentions(d.ThankReferrers), maxDigestListed)+" 💙")
	}
	desc = append(desc, "Tip: "+digestTip(d.Week))

	e := &discordgo.MessageEmbed{
		Title:       "Referral digest: " + periodTitle(d, loc),
		Description: strings.Join(desc, "\n\n"),
		Color:       0x57F287,
		Fields:      fields,
	}
	m := &discordgo.MessageSend{Embeds: []*discordgo.MessageEmbed{e}, AllowedMentions: noPings()}
	if len(d.History) == 0 {
		return m
	}
	png, err := digestChart(d.History, d.To, loc)
	if err != nil {
		// No chart: the weeks as text lines instead.
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: "Last weeks", Value: weekChart(d.History, d.To, loc)})
		return m
	}
	name := digestChartName(d.Week)
	m.Files = []*discordgo.File{{Name: name, ContentType: "image/png", Reader: bytes.NewReader(png)}}
	e.Image = &discordgo.MessageEmbedImage{URL: "attachment://" + name}
	e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: "Last " + plural(min(len(d.History), chartWeeks), "week", "weeks"), Value: historyLine(d.History)})
	return m
}

// periodTitle names the seven days the numbers cover, e.g. "the 7 days
// to Mon 7 Dec 2026, 09:00 UTC"; the digest and stats share it.
func periodTitle(d referral.Digest, loc *time.Location) string {
	if d.To.IsZero() {
		return "week " + d.Week
	}
	return referral.DigestTitle(d.To, loc)
}

// digestChartName is the chart's file name, e.g. digest-2026-W48.png;
// attachment:// URLs want plain characters.
func digestChartName(week string) string {
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return -1
	}, referral.Truncate(week, 20))
	if safe == "" {
		safe = "week"
	}
	return "digest-" + safe + ".png"
}

// totalsLine is a server's all-time numbers in one line.
func totalsLine(t referral.Totals) string {
	return fmt.Sprintf("%s · %d matched · %s · %s · %s · %s",
		plural(t.Requests, "request", "requests"), t.Matched, plural(t.Submitted, "referral submitted", "referrals submitted"),
		plural(t.Screens, "recruiter screen", "recruiter screens"), plural(t.Interviews, "interview", "interviews"), plural(t.Offers, "offer", "offers"))
}

// historyLine sums the chart's weeks for readers without images.
func historyLine(weeks []referral.WeekCounts) string {
	if len(weeks) > chartWeeks {
		weeks = weeks[len(weeks)-chartWeeks:]
	}
	var sum referral.WeekCounts
	for _, w := range weeks {
		sum.Requests += w.Requests
		sum.Submitted += w.Submitted
		sum.Interviews += w.Interviews
		sum.Offers += w.Offers
	}
	return fmt.Sprintf("%s · %s · %s · %s (chart below)", plural(sum.Requests, "new request", "new requests"),
		plural(sum.Submitted, "referral submitted", "referrals submitted"), plural(sum.Interviews, "interview", "interviews"), plural(sum.Offers, "offer", "offers"))
}

// wantedLine names the companies with waiting requests, most wanted first.
func wantedLine(list []referral.Wanted) string {
	if len(list) == 0 {
		return ""
	}
	sorted := append([]referral.Wanted(nil), list...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Waiting > sorted[j].Waiting })
	names := make([]string, len(sorted))
	for i, w := range sorted {
		names[i] = fmt.Sprintf("%s (%d waiting)", referral.Truncate(w.Company, maxShortShown), w.Waiting)
	}
	return "Wanted: referrers at " + listCapped(names, maxDigestListed) + ". Work there? /referrer join"
}

func mentions(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = mention(id)
	}
	return out
}

// listCapped joins up to max items and says how many more there are.
func listCapped(items []string, max int) string {
	if len(items) <= max {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:max], ", ") + fmt.Sprintf(" and %d more", len(items)-max)
}

// weekChart is the chart's weeks as text, oldest first, for a digest
// whose chart could not be drawn; the weeks are labelled as in the chart.
func weekChart(weeks []referral.WeekCounts, to time.Time, loc *time.Location) string {
	if len(weeks) > chartWeeks {
		weeks = weeks[len(weeks)-chartWeeks:]
	}
	labels, _ := weekLabels(weeks, to, loc)
	top := 0
	for _, w := range weeks {
		top = max(top, w.Requests)
	}
	var lines []string
	for i, w := range weeks {
		bar := ""
		if top > 0 && w.Requests > 0 {
			bar = strings.Repeat("▇", (w.Requests*10+top-1)/top) + " "
		}
		lines = append(lines, fmt.Sprintf("`%s` %s%s · %d submitted · %s · %s",
			referral.Truncate(strings.ReplaceAll(labels[i], "\n", " "), 16), bar, plural(w.Requests, "request", "requests"),
			w.Submitted, plural(w.Interviews, "interview", "interviews"), plural(w.Offers, "offer", "offers")))
	}
	return strings.Join(lines, "\n")
}

// humanDuration writes a duration the way people say it.
func humanDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days %d h", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
	case d >= 24*time.Hour:
		return fmt.Sprintf("1 day %d h", int((d-24*time.Hour)/time.Hour))
	case d >= time.Hour:
		return fmt.Sprintf("%d h %d min", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%d min", max(1, int(d/time.Minute)))
}

// digestTips are for students, one a week, drawn from how referrals work
// (shared/background/referral-process.txt).
var digestTips = []string{
	"A generic \"can you refer me?\" rarely works. Say who you are, which role you want and why you fit, briefly and specifically.",
	"Keep your request concise, friendly and specific, and link a resume that anyone with the link can open.",
	"After a referral, most people hear back within one to two weeks. Watch your email, spam folder included.",
	"The first call is usually a short recruiter screen: are you actively looking, open to full-time roles, in need of visa support? Have your answers ready.",
	"Technical interviews mostly cover algorithms, sometimes system design or behavioural questions. Practise all three.",
	"The whole process can take two or three weeks, or a month and more. Keep applying elsewhere meanwhile.",
	"A referral gets your resume seen, not an offer: how well you fit what the role needs decides the rest. Tailor your resume to each posting.",
	"Not selected this time? Don't be discouraged: Keep me in mind asks your referrer to remember you for future openings.",
}

// digestTip picks a tip by week, so each week shows another one.
func digestTip(week string) string {
	h := fnv.New32a()
	h.Write([]byte(week))
	return digestTips[h.Sum32()%uint32(len(digestTips))]
}
