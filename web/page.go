package web

import (
	"fmt"
	"math"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/referralbot/referralbot/dashboard"
)

// pageInput is what the handler knows besides the store's numbers.
type pageInput struct {
	GuildID      string
	Period       dashboard.Period
	Now, Expires time.Time
	Loc          *time.Location
	Names        map[string]string
	StyleVersion string
}

// page is the template's view: every number formatted and every SVG
// coordinate computed here, so the template only places them.
type page struct {
	GuildID   string
	StyleHref string
	Periods   []periodLink
	Range     string
	Generated string
	Expires   string

	Cards     []card
	Activity  []activityCell
	Funnel    funnelView
	Companies []companyRow
	More      int // companies left out of the table
	Chart     chartView
	Waiting   []waitingRow
	Declines  []dashboard.DeclineCount
	Referrers []referrerRow
	Team      string // "3 active, 1 pending, 1 paused"
}

type periodLink struct {
	Label, Href string
	Current     bool
}

type card struct{ Label, Value, Note string }

// activityCell is one of the digest's numbers for the period.
type activityCell struct {
	ID, Label string
	Count     int
}

// maxCompanies keeps the company table readable on a big server.
const maxCompanies = 30

func buildPage(d dashboard.Data, in pageInput) page {
	p := page{
		GuildID:   in.GuildID,
		StyleHref: "style.css?v=" + in.StyleVersion,
		Generated: in.Now.In(in.Loc).Format("2 Jan 2006 15:04 MST"),
		Expires:   in.Expires.In(in.Loc).Format("15:04 MST"),
	}
	for _, per := range dashboard.Periods() {
		// Relative links keep the token and work behind a proxy that
		// mounts the bot under a path of its own.
		href := "?" + url.Values{"period": {string(per)}}.Encode()
		p.Periods = append(p.Periods, periodLink{Label: per.Label(), Href: href, Current: per == in.Period})
	}
	to := d.To.In(in.Loc).Format("2 Jan 2006")
	if d.From.IsZero() {
		p.Range = "All time, up to " + to
	} else {
		p.Range = d.From.In(in.Loc).Format("2 Jan") + " – " + to
	}

	a := d.Activity
	p.Cards = []card{
		{"New requests", fmt.Sprint(a.NewRequests), strings.ToLower(in.Period.Label())},
		{"Referrals submitted", fmt.Sprint(a.Submitted), strings.ToLower(in.Period.Label())},
		{"Job offers", fmt.Sprint(a.Offers), strings.ToLower(in.Period.Label())},
		{"Median to accept", duration(d.MedianAccept, d.Accepts), countNote(d.Accepts, "accept")},
		{"Median to outcome", duration(d.MedianOutcome, d.Outcomes), countNote(d.Outcomes, "outcome")},
		{"Waiting now", fmt.Sprint(waitingTotal(d.Waiting)), companiesNote(len(d.Waiting))},
	}
	p.Activity = activityCells(a)
	p.Funnel = buildFunnel(d.Funnel)

	companies := append([]dashboard.CompanyFunnel(nil), d.Companies...)
	sort.SliceStable(companies, func(i, j int) bool { return companies[i].Requests > companies[j].Requests })
	if len(companies) > maxCompanies {
		p.More = len(companies) - maxCompanies
		companies = companies[:maxCompanies]
	}
	for _, c := range companies {
		p.Companies = append(p.Companies, companyRow{Company: c.Company, Steps: stepCounts(c.Funnel),
			Rate: percent(c.Submitted, c.Requests), RateWidth: barWidth(c.Submitted, c.Requests, 80)})
	}

	p.Chart = buildChart(d.Weeks, in.Loc)
	p.Declines = d.Declines

	for _, w := range d.Waiting {
		p.Waiting = append(p.Waiting, waitingRow{Company: w.Company, Requests: w.Requests, Referrers: w.Referrers,
			Since: w.Since.In(in.Loc).Format("2 Jan"), Age: age(in.Now.Sub(w.Since))})
	}

	var active, pending, paused int
	for _, r := range d.Referrers {
		switch r.Status {
		case "active":
			active++
		case "pending":
			pending++
		case "paused":
			paused++
		}
		p.Referrers = append(p.Referrers, buildReferrer(r, in))
	}
	p.Team = fmt.Sprintf("%d active, %d pending, %d paused", active, pending, paused)
	return p
}

// stepCounts lists a funnel's counts in step order.
func stepCounts(f dashboard.Funnel) []int {
	return []int{f.Requests, f.Offered, f.Accepted, f.Submitted, f.Screens, f.Interviews, f.Offers}
}

// The funnel's steps: the id used in the page's markup, and the label.
var funnelSteps = []struct{ ID, Label string }{
	{"requests", "Requests"},
	{"offered", "Offered to a referrer"},
	{"accepted", "Accepted"},
	{"submitted", "Referral submitted"},
	{"screen", "Recruiter screen"},
	{"interview", "Interview"},
	{"offer", "Offer"},
}

// activityCells are the digest's six numbers under the digest's labels.
func activityCells(a dashboard.Activity) []activityCell {
	return []activityCell{
		{"new-requests", "New requests", a.NewRequests},
		{"matched", "Matched", a.Matched},
		{"submitted", "Referrals submitted", a.Submitted},
		{"screens", "Recruiter screens", a.Screens},
		{"interviews", "Interviews", a.Interviews},
		{"offers", "Offers", a.Offers},
	}
}

type funnelView struct {
	Width, Height int
	LabelX, BarX  int
	Track, BarH   int
	Steps         []stepView
}

type stepView struct {
	ID, Label        string
	Count            int
	OfPrevious       string // conversion from the step before
	OfRequests       string // conversion from the first step
	Y, TextY         int
	BarWidth, ValueX int
	Class            string
}

// The funnel chart's geometry in SVG user units.
const (
	funnelWidth  = 720
	funnelLabelW = 170
	funnelBarMax = 430
	funnelRow    = 38
	funnelBarH   = 26
)

func buildFunnel(f dashboard.Funnel) funnelView {
	counts := stepCounts(f)
	largest := 0
	for _, n := range counts {
		largest = max(largest, n)
	}
	v := funnelView{Width: funnelWidth, Height: len(counts)*funnelRow + 4, LabelX: funnelLabelW - 12, BarX: funnelLabelW,
		Track: funnelBarMax, BarH: funnelBarH}
	for i, n := range counts {
		s := stepView{ID: funnelSteps[i].ID, Label: funnelSteps[i].Label, Count: n, OfRequests: percent(n, counts[0]),
			Y: i*funnelRow + 4, TextY: i*funnelRow + 4 + funnelBarH/2 + 5,
			BarWidth: barWidth(n, largest, funnelBarMax), Class: fmt.Sprintf("step%d", i)}
		if i > 0 {
			s.OfPrevious = percent(n, counts[i-1])
		}
		s.ValueX = funnelLabelW + s.BarWidth + 10
		v.Steps = append(v.Steps, s)
	}
	return v
}

type companyRow struct {
	Company   string
	Steps     []int
	Rate      string // submitted of requests
	RateWidth int
}

type waitingRow struct {
	Company   string
	Requests  int
	Referrers int
	Since     string
	Age       string
}

type referrerRow struct {
	Name, UserID   string
	Status         string
	StatusClass    string
	StatusNote     string
	Capacity, Used int
	UsedWidth      int
	Full           bool
	Asked          int
	Accepted       int
	Submitted      int
	LastActive     string
	OpenReports    int
	VerifiedDomain string
}

func buildReferrer(r dashboard.Referrer, in pageInput) referrerRow {
	row := referrerRow{Name: in.Names[r.UserID], UserID: r.UserID, Status: r.Status, StatusClass: r.Status,
		Capacity: r.Capacity, Used: r.Used, UsedWidth: barWidth(min(r.Used, r.Capacity), r.Capacity, 60), Full: r.Used >= r.Capacity,
		Asked: r.Asked, Accepted: r.Accepted, Submitted: r.Submitted, OpenReports: r.OpenReports, VerifiedDomain: r.VerifiedDomain,
		LastActive: "never"}
	switch {
	case r.Reported:
		row.Status, row.StatusClass, row.StatusNote = "reported", "reported", "paused until an admin acts"
	case r.Status == "paused" && !r.PausedUntil.IsZero():
		row.StatusNote = "until " + r.PausedUntil.In(in.Loc).Format("2 Jan")
	case r.Status == "pending":
		row.StatusNote = "awaiting approval"
	}
	if !r.LastActive.IsZero() {
		row.LastActive = r.LastActive.In(in.Loc).Format("2 Jan 2006")
	}
	return row
}

type chartView struct {
	Width, Height          int
	Left, Right, Top, Base int // the plot area
	Weeks                  []chartWeek
	Ticks                  []chartTick
	Lines                  []chartLine
	Title                  string
}

type chartWeek struct {
	X, Y, W, H int // the requests bar
	LabelX     int
	Label      string // shown under some weeks
	Range      string // "26 Oct – 1 Nov"
	Counts     []activityCell
}

type chartTick struct {
	Y     int
	Value int
}

type chartLine struct {
	Name, Class string
	Points      string // polyline points
	Dots        []chartDot
}

type chartDot struct{ X, Y int }

// maxDotted is the most weeks whose points the lines mark; beyond it the
// dots would crowd into a beaded line.
const maxDotted = 26

// The activity chart's geometry in SVG user units.
const (
	chartWidth  = 960
	chartHeight = 280
	chartLeft   = 44
	chartRight  = 12
	chartTop    = 14
	chartBottom = 36
)

func buildChart(weeks []dashboard.Week, loc *time.Location) chartView {
	v := chartView{Width: chartWidth, Height: chartHeight, Left: chartLeft, Right: chartWidth - chartRight,
		Top: chartTop, Base: chartHeight - chartBottom, Title: fmt.Sprintf("Weekly activity, last %d weeks", len(weeks))}
	if len(weeks) == 0 {
		return v
	}
	largest := 0
	for _, w := range weeks {
		largest = max(largest, w.NewRequests, w.Submitted, w.Interviews, w.Offers)
	}
	top, step := niceScale(largest)
	plotH := float64(v.Base - v.Top)
	y := func(n int) int { return v.Base - int(math.Round(float64(n)/float64(top)*plotH)) }
	for t := 0; t <= top; t += step {
		v.Ticks = append(v.Ticks, chartTick{Y: y(t), Value: t})
	}
	slot := float64(v.Right-v.Left) / float64(len(weeks))
	every := int(math.Ceil(float64(len(weeks)) / 13)) // at most 13 labels
	series := []struct {
		name, class string
		get         func(dashboard.Activity) int
	}{
		{"Referrals submitted", "submitted", func(a dashboard.Activity) int { return a.Submitted }},
		{"Interviews", "interviews", func(a dashboard.Activity) int { return a.Interviews }},
		{"Offers", "offers", func(a dashboard.Activity) int { return a.Offers }},
	}
	v.Lines = make([]chartLine, len(series))
	for i, s := range series {
		v.Lines[i] = chartLine{Name: s.name, Class: s.class}
	}
	points := make([][]string, len(series))
	for i, w := range weeks {
		center := v.Left + int(math.Round(slot*(float64(i)+0.5)))
		barW := max(int(slot*0.62), 2)
		cw := chartWeek{X: center - barW/2, Y: y(w.NewRequests), W: barW, H: v.Base - y(w.NewRequests), LabelX: center,
			Range: w.From.In(loc).Format("2 Jan") + " – " + w.To.Add(-time.Nanosecond).In(loc).Format("2 Jan"), Counts: activityCells(w.Activity)}
		// Label from the newest week back, so the current one always has one.
		if (len(weeks)-1-i)%every == 0 {
			cw.Label = w.From.In(loc).Format("2 Jan")
		}
		v.Weeks = append(v.Weeks, cw)
		for j, s := range series {
			py := y(s.get(w.Activity))
			points[j] = append(points[j], fmt.Sprintf("%d,%d", center, py))
			if len(weeks) <= maxDotted {
				v.Lines[j].Dots = append(v.Lines[j].Dots, chartDot{X: center, Y: py})
			}
		}
	}
	for j := range v.Lines {
		v.Lines[j].Points = strings.Join(points[j], " ")
	}
	return v
}

// niceScale is a round top for an axis holding n, and its tick step.
func niceScale(n int) (top, step int) {
	if n <= 4 {
		return 4, 1
	}
	raw := float64(n) / 5 // about five gridlines
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if s := m * mag; s >= raw {
			step = int(math.Ceil(s))
			break
		}
	}
	top = step * int(math.Ceil(float64(n)/float64(step)))
	return top, step
}

// barWidth scales n of whole to width, keeping a sliver for any n > 0.
func barWidth(n, whole, width int) int {
	if n <= 0 || whole <= 0 {
		return 0
	}
	return max(int(math.Round(float64(n)/float64(whole)*float64(width))), 2)
}

// percent is n of whole, rounded, or a dash when there is no whole.
func percent(n, whole int) string {
	if whole <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(n)/float64(whole))
}

func countNote(n int, what string) string {
	switch {
	case n == 0:
		return "none in this period"
	case n == 1:
		return "over 1 " + what
	}
	return fmt.Sprintf("over %d %ss", n, what)
}

func companiesNote(n int) string {
	switch n {
	case 0:
		return "no request waits"
	case 1:
		return "at 1 company"
	}
	return fmt.Sprintf("at %d companies", n)
}

func waitingTotal(ws []dashboard.Waiting) int {
	n := 0
	for _, w := range ws {
		n += w.Requests
	}
	return n
}

// duration reads like "2 d 5 h" or "40 min"; a dash when nothing counted.
func duration(d time.Duration, samples int) string {
	if samples == 0 {
		return "–"
	}
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Round(time.Minute)/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	}
	return fmt.Sprintf("%.1f days", d.Hours()/24)
}

// age reads like "3 days" for how long something has waited.
func age(d time.Duration) string {
	switch days := int(d / (24 * time.Hour)); {
	case d < time.Hour:
		return "under an hour"
	case days == 0:
		return fmt.Sprintf("%d h", int(d/time.Hour))
	case days == 1:
		return "1 day"
	default:
		return fmt.Sprintf("%d days", days)
	}
}
