package commands

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// eightWeeks is a plausible history, oldest first.
func eightWeeks() []referral.WeekCounts {
	var out []referral.WeekCounts
	for i, n := range []int{3, 5, 2, 8, 12, 7, 4, 9} {
		out = append(out, referral.WeekCounts{Week: fmt.Sprintf("2026-W%02d", 41+i), Requests: n, Submitted: n / 2, Interviews: n / 4, Offers: n / 8})
	}
	return out
}

// decodeChart decodes a PNG and checks its size.
func decodeChart(t *testing.T, data []byte) image.Image {
	t.Helper()
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || format != "png" {
		t.Fatalf("chart is not a PNG: format %q, %v", format, err)
	}
	if cfg.Width != chartWidth || cfg.Height != chartHeight {
		t.Fatalf("chart is %dx%d; want %dx%d", cfg.Width, cfg.Height, chartWidth, chartHeight)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("png.Decode: %v", err)
	}
	return img
}

// colorPixels counts the pixels of each series' colour.
func colorPixels(img image.Image) map[string]int {
	out := map[string]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			for _, s := range chartSeries {
				if c == s.color {
					out[s.label]++
				}
			}
		}
	}
	return out
}

func TestChartIsPNGOfFixedSize(t *testing.T) {
	many := append(eightWeeks(), eightWeeks()...)
	tests := []struct {
		name  string
		weeks []referral.WeekCounts
	}{
		{"eight weeks", eightWeeks()},
		{"nothing happened", make([]referral.WeekCounts, 8)},
		{"one week", []referral.WeekCounts{{Week: "2026-W48", Requests: 1}}},
		{"more than eight weeks", many},
		{"big numbers", []referral.WeekCounts{{Week: "2026-W47", Requests: 98765, Submitted: 4321}, {Week: "2026-W48", Requests: 1}}},
		{"odd week keys", []referral.WeekCounts{{Week: ""}, {Week: "🎉 @everyone"}, {Week: strings.Repeat("W", 300), Offers: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := digestChart(tt.weeks, time.Time{}, time.UTC)
			if err != nil {
				t.Fatalf("digestChart: %v", err)
			}
			decodeChart(t, data)
		})
	}
}

// The bars are drawn in the series' colours: every series with counts has
// more of its colour than its legend box alone.
func TestChartDrawsEverySeries(t *testing.T) {
	empty, err := digestChart(make([]referral.WeekCounts, 8), time.Time{}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	legendOnly := colorPixels(decodeChart(t, empty))
	full, err := digestChart(eightWeeks(), time.Time{}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	got := colorPixels(decodeChart(t, full))
	for _, s := range chartSeries {
		if legendOnly[s.label] == 0 {
			t.Errorf("%s has no legend box in its colour", s.label)
		}
		if got[s.label] <= legendOnly[s.label]+100 {
			t.Errorf("%s: %d pixels of its colour with bars, %d without; want its bars drawn", s.label, got[s.label], legendOnly[s.label])
		}
	}
}

func TestChartRefusesWhatItCannotDraw(t *testing.T) {
	if _, err := digestChart(nil, time.Time{}, time.UTC); err == nil {
		t.Error("digestChart(nil, time.Time{}, time.UTC) drew a chart; want an error")
	}
	if _, err := digestChart([]referral.WeekCounts{{Week: "2026-W48", Offers: -1}}, time.Time{}, time.UTC); err == nil {
		t.Error("digestChart with a negative count drew a chart; want an error")
	}
}

func TestChartYScale(t *testing.T) {
	tests := []struct{ top, step, ymax int }{
		{0, 1, 4}, {1, 1, 4}, {4, 1, 5}, {5, 1, 6}, {7, 2, 10}, {10, 2, 12}, {12, 5, 15}, {25, 5, 30},
		{100, 20, 120}, {1234, 500, 1500}, {98765, 20000, 120000},
	}
	for _, tt := range tests {
		step, ymax := yScale(tt.top)
		if step != tt.step || ymax != tt.ymax {
			t.Errorf("yScale(%d) = %d, %d; want %d, %d", tt.top, step, ymax, tt.step, tt.ymax)
		}
		if ymax <= tt.top || ymax%step != 0 || ymax/step > 7 {
			t.Errorf("yScale(%d) = %d, %d: want a whole number of at most 7 steps above the top", tt.top, step, ymax)
		}
	}
}

func TestChartDigestAttachesPNG(t *testing.T) {
	d := sampleDigest()
	d.History = eightWeeks()
	m, err := RenderNotice(referral.Notice{Kind: referral.NoticeDigest, Digest: &d}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 1 {
		t.Fatalf("digest has %d files; want the chart", len(m.Files))
	}
	f := m.Files[0]
	if f.Name != "digest-2026-W48.png" || f.ContentType != "image/png" {
		t.Errorf("chart file = %q (%s); want digest-2026-W48.png (image/png)", f.Name, f.ContentType)
	}
	data, err := io.ReadAll(f.Reader)
	if err != nil {
		t.Fatal(err)
	}
	decodeChart(t, data)
	e := m.Embeds[0]
	if e.Image == nil || e.Image.URL != "attachment://digest-2026-W48.png" {
		t.Errorf("embed image = %+v; want attachment://digest-2026-W48.png", e.Image)
	}
	// Without images the text still has the eight weeks in sum.
	if !embedHas(e, "50 new requests · 23 referrals submitted · 10 interviews · 3 offers") {
		t.Errorf("digest lacks the eight weeks in text:\n%+v", e.Fields)
	}
	checkDigestLabels(t, e, d)
	mustNotPing(t, m.AllowedMentions)
}

// A chart that can't be drawn leaves the digest whole, with the weeks as
// text lines.
func TestChartDigestWithoutChart(t *testing.T) {
	d := sampleDigest()
	d.History = []referral.WeekCounts{{Week: "2026-W47", Requests: 3}, {Week: "2026-W48", Requests: -1}}
	m, err := RenderNotice(referral.Notice{Kind: referral.NoticeDigest, Digest: &d}, time.UTC)
	if err != nil {
		t.Fatalf("RenderNotice: %v", err)
	}
	e := m.Embeds[0]
	if len(m.Files) != 0 || e.Image != nil {
		t.Errorf("digest with a chart that failed has files %d, image %+v; want none", len(m.Files), e.Image)
	}
	if !embedHas(e, "`W47`") && !embedHas(e, "2026-W47") {
		t.Errorf("digest without chart lacks the weeks as text:\n%+v", e.Fields)
	}
	checkDigestLabels(t, e, d)
	checkEmbedLimits(t, e)

	d.History = nil
	m, err = RenderNotice(referral.Notice{Kind: referral.NoticeDigest, Digest: &d}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 0 || m.Embeds[0].Image != nil {
		t.Errorf("digest without history has a chart")
	}
}

func TestChartDigestContent(t *testing.T) {
	d := sampleDigest()
	d.Total = referral.Totals{Requests: 40, Matched: 30, Submitted: 25, Screens: 10, Interviews: 6, Offers: 1}
	m, err := RenderNotice(referral.Notice{Kind: referral.NoticeDigest, Digest: &d}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	e := m.Embeds[0]
	for _, want := range []string{
		"40 requests · 30 matched · 25 referrals submitted · 10 recruiter screens · 6 interviews · 1 offer",
		"1 day 2 h",
		"Wanted: referrers at Amazon (3 waiting), Stripe (1 waiting)",
		"Thank you to this week's referrers: <@501>, <@502>",
		"Tip: ",
	} {
		if !embedHas(e, want) {
			t.Errorf("digest lacks %q:\n%s\n%+v", want, e.Description, e.Fields)
		}
	}
	tip := digestTip(d.Week)
	if strings.Contains(tip, "\n") || len(tip) > 200 {
		t.Errorf("tip %q is not one short line", tip)
	}
	// Every week's tip is one of the tips, and the tips do change.
	seen := map[string]bool{}
	for w := 1; w <= 52; w++ {
		seen[digestTip(fmt.Sprintf("2026-W%02d", w))] = true
	}
	if len(seen) < 4 {
		t.Errorf("52 weeks show %d different tips; want them to vary", len(seen))
	}
	if got := digestChartName("../2026 W48?"); got != "digest-2026W48.png" {
		t.Errorf("digestChartName(%q) = %q; want digest-2026W48.png", "../2026 W48?", got)
	}
}

// barCentre is the mean x of the pixels in the series' colours below the
// legend: where a week's bars stand.
func barCentre(t *testing.T, weeks []referral.WeekCounts) float64 {
	t.Helper()
	data, err := digestChart(weeks, time.Time{}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	img := decodeChart(t, data)
	sum, n := 0, 0
	for y := chartHeader; y < chartHeight; y++ {
		for x := 0; x < chartWidth; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			for _, s := range chartSeries {
				if c == s.color {
					sum, n = sum+x, n+1
				}
			}
		}
	}
	if n == 0 {
		t.Fatalf("no bars drawn for %+v", weeks)
	}
	return float64(sum) / float64(n)
}

// A week's bars stand in the middle of its slot, whichever series have
// counts and whatever the other weeks hold.
func TestChartBarsCentredOnTheirWeek(t *testing.T) {
	week := func(i int, c referral.WeekCounts) []referral.WeekCounts {
		weeks := make([]referral.WeekCounts, 8)
		for k := range weeks {
			weeks[k].Week = fmt.Sprintf("2026-W%02d", 41+k)
		}
		c.Week = weeks[i].Week
		weeks[i] = c
		return weeks
	}
	all := barCentre(t, week(2, referral.WeekCounts{Requests: 4, Submitted: 4, Interviews: 4, Offers: 4}))
	for _, tt := range []struct {
		name string
		c    referral.WeekCounts
	}{
		{"only requests", referral.WeekCounts{Requests: 4}},
		{"only offers", referral.WeekCounts{Offers: 4}},
		{"requests and interviews", referral.WeekCounts{Requests: 4, Interviews: 4}},
	} {
		if got := barCentre(t, week(2, tt.c)); got < all-1 || got > all+1 {
			t.Errorf("%s: bars centred at x=%.1f; want x=%.1f like a full group", tt.name, got, all)
		}
	}
	// One week alone is in the middle of the plot, and the slots are even.
	w7 := barCentre(t, week(7, referral.WeekCounts{Requests: 4}))
	w0 := barCentre(t, week(0, referral.WeekCounts{Requests: 4}))
	if slot := (w7 - w0) / 7; all < w0+2*slot-1 || all > w0+2*slot+1 {
		t.Errorf("week 3 at x=%.1f; want x=%.1f, two slots of %.1f after week 1", all, w0+2*slot, slot)
	}
	one := barCentre(t, []referral.WeekCounts{{Week: "2026-W48", Offers: 2}})
	if mid := (w0 + w7) / 2; one < mid-2 || one > mid+2 {
		t.Errorf("a lone week's bar at x=%.1f; want the middle of the plot, x=%.1f", one, mid)
	}
}

func TestChartWeekLabels(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	// keys are the ISO weeks of the seven-day steps back from to.
	keys := func(to time.Time, loc *time.Location, n int) []referral.WeekCounts {
		var out []referral.WeekCounts
		for i := range n {
			out = append(out, referral.WeekCounts{Week: referral.WeekKey(to.AddDate(0, 0, -7*(n-1-i)), loc)})
		}
		return out
	}
	isoWeeks := func(keys ...string) []referral.WeekCounts {
		var out []referral.WeekCounts
		for _, k := range keys {
			out = append(out, referral.WeekCounts{Week: k})
		}
		return out
	}
	monday := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	newYear := time.Date(2027, 1, 11, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		weeks []referral.WeekCounts
		to    time.Time
		loc   *time.Location
		want  string
		dated bool
	}{
		{"days the weeks end", keys(monday, time.UTC, 4), monday, time.UTC, "16 Nov|23 Nov|30 Nov|7 Dec", true},
		{"across a year", keys(newYear, time.UTC, 4), newYear, time.UTC, "21 Dec\n2026|28 Dec|4 Jan\n2027|11 Jan", true},
		// 03:00 UTC on 1 Jan is still 31 Dec in New York.
		{"in the time zone", keys(time.Date(2027, 1, 1, 3, 0, 0, 0, time.UTC), ny, 2), time.Date(2027, 1, 1, 3, 0, 0, 0, time.UTC), ny, "24 Dec|31 Dec", true},
		{"no end known", isoWeeks("2026-W48", "2026-W49"), time.Time{}, time.UTC, "W48|W49", false},
		{"weeks that don't end at to", isoWeeks("2026-W47", "2026-W48"), monday, time.UTC, "W47|W48", false},
		{"ISO weeks across a year", isoWeeks("2026-W52", "2026-W53", "2027-W01", "2027-W02"), time.Time{}, time.UTC, "W52\n2026|W53|W01\n2027|W02", false},
		{"odd keys", isoWeeks("", "🎉"), time.Time{}, time.UTC, "|🎉", false},
	}
	for _, tt := range tests {
		labels, dated := weekLabels(tt.weeks, tt.to, tt.loc)
		if got := strings.Join(labels, "|"); got != tt.want || dated != tt.dated {
			t.Errorf("%s: weekLabels = %q, %v; want %q, %v", tt.name, got, dated, tt.want, tt.dated)
		}
	}
}

// seriesColumns counts, per column below the header, the pixels of one
// series' colour.
func seriesColumns(img image.Image, c color.RGBA) []int {
	cols := make([]int, chartWidth)
	for y := chartHeader; y < chartHeight; y++ {
		for x := 0; x < chartWidth; x++ {
			if color.RGBAModel.Convert(img.At(x, y)).(color.RGBA) == c {
				cols[x]++
			}
		}
	}
	return cols
}

// A bar's height is proportional to its count, and bars stand on one line.
func TestChartBarsProportional(t *testing.T) {
	weeks := []referral.WeekCounts{{Week: "2026-W46", Requests: 2}, {Week: "2026-W47", Requests: 4}, {Week: "2026-W48", Requests: 8}}
	data, err := digestChart(weeks, time.Time{}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	img := decodeChart(t, data)
	var heights, widths []int
	cols := seriesColumns(img, chartSeries[0].color)
	for x := 0; x < len(cols); x++ {
		if cols[x] == 0 {
			continue
		}
		start := x
		for x < len(cols) && cols[x] == cols[start] {
			x++
		}
		heights, widths = append(heights, cols[start]), append(widths, x-start)
	}
	if len(heights) != 3 {
		t.Fatalf("found bars of heights %v, widths %v; want three", heights, widths)
	}
	for i, w := range widths {
		if w != chartBarWidth {
			t.Errorf("bar %d is %d px wide; want %d", i, w, chartBarWidth)
		}
	}
	for i, want := range []int{heights[0], 2 * heights[0], 4 * heights[0]} {
		if d := heights[i] - want; d < -2 || d > 2 {
			t.Errorf("bars for 2, 4, 8 are %v px high; want about %d for bar %d", heights, want, i)
		}
	}
	// The bars stand on one line: each column's lowest pixel of the colour.
	lowest := map[int]bool{}
	for x := range cols {
		if cols[x] == 0 {
			continue
		}
		for y := chartHeight - 1; y >= chartHeader; y-- {
			if color.RGBAModel.Convert(img.At(x, y)).(color.RGBA) == chartSeries[0].color {
				lowest[y] = true
				break
			}
		}
	}
	if len(lowest) != 1 {
		t.Errorf("bars end on rows %v; want one row", lowest)
	}
}

// inkIn reports whether any pixel of r is as dark as text.
func inkIn(img image.Image, r image.Rectangle) bool {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			if c.R < 0x80 && c.G < 0x80 && c.B < 0x80 {
				return true
			}
		}
	}
	return false
}

// With nothing to show, the middle of the plot says so; with a bar it
// doesn't. The legend is one line inside the image: nothing written to
// its right or between it and the plot.
func TestChartEmptyStateAndLegend(t *testing.T) {
	middle := image.Rect(200, 190, 600, 250)
	empty, err := digestChart(make([]referral.WeekCounts, 8), time.Time{}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	emptyImg := decodeChart(t, empty)
	if !inkIn(emptyImg, middle) {
		t.Error("a chart with no activity has no text in the middle of the plot; want the empty-state text")
	}
	one, err := digestChart([]referral.WeekCounts{{Week: "2026-W47", Requests: 1}, {Week: "2026-W48"}, {Week: "2026-W49"}}, time.Time{}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	oneImg := decodeChart(t, one)
	if inkIn(oneImg, middle) {
		t.Error("a chart with a bar has text in the middle of the plot; want the empty-state text only without activity")
	}
	for _, img := range []image.Image{emptyImg, oneImg} {
		if !inkIn(img, image.Rect(0, 50, chartWidth, 76)) {
			t.Error("no legend text in its row")
		}
		if inkIn(img, image.Rect(chartWidth-20, 0, chartWidth, chartHeader)) {
			t.Error("the title or legend reaches the right edge; want it to fit on one line")
		}
		if inkIn(img, image.Rect(0, 76, chartWidth, chartHeader)) {
			t.Error("text between the legend and the plot; want the legend on one line")
		}
	}
}
