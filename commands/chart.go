package commands

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"strconv"
	"strings"
	"time"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	plottext "gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/referralbot/referralbot/referral"
)

// The digest chart is a fixed 800x400 PNG: Discord shows it full width on
// a phone (about half size), so the text is large and the colours are
// told apart by people with colour-blindness too (Okabe-Ito palette).
const (
	chartWidth  = 800
	chartHeight = 400
	chartWeeks  = 8
	chartHeader = 96 // title and legend above the plot
)

// chartSeries are the bars of each week, in legend order.
var chartSeries = []struct {
	label string
	color color.RGBA
	value func(referral.WeekCounts) int
}{
	{"New requests", color.RGBA{0x00, 0x72, 0xB2, 0xFF}, func(w referral.WeekCounts) int { return w.Requests }},
	{"Referrals submitted", color.RGBA{0xE6, 0x9F, 0x00, 0xFF}, func(w referral.WeekCounts) int { return w.Submitted }},
	{"Interviews", color.RGBA{0x00, 0x9E, 0x73, 0xFF}, func(w referral.WeekCounts) int { return w.Interviews }},
	{"Offers", color.RGBA{0xD5, 0x5E, 0x00, 0xFF}, func(w referral.WeekCounts) int { return w.Offers }},
}

var (
	chartInk  = color.RGBA{0x23, 0x27, 0x2A, 0xFF}
	chartGrid = color.RGBA{0xDD, 0xDF, 0xE2, 0xFF}
)

func chartFont(size vg.Length, bold bool) font.Font {
	f := font.Font{Typeface: "Liberation", Variant: "Sans", Size: size}
	if bold {
		f.Weight = xfont.WeightBold
	}
	return f
}

func chartText(size vg.Length, bold bool, x draw.XAlignment, y draw.YAlignment) plottext.Style {
	return plottext.Style{Color: chartInk, Font: chartFont(size, bold), XAlign: x, YAlign: y, Handler: plot.DefaultTextHandler}
}

// digestChart draws the last eight weeks (oldest first) as grouped bars:
// new requests, referrals submitted, interviews and offers, with the
// number above each bar, a legend, axis titles and week labels. to is the
// end of the newest week (the digest's To), so each week is labelled by
// the day it ends; see weekLabels. It returns PNG bytes.
func digestChart(weeks []referral.WeekCounts, to time.Time, loc *time.Location) (png []byte, err error) {
	if len(weeks) == 0 {
		return nil, errors.New("digest chart: no weeks")
	}
	if len(weeks) > chartWeeks {
		weeks = weeks[len(weeks)-chartWeeks:]
	}
	defer func() { // a drawing bug must not cost the digest
		if r := recover(); r != nil {
			png, err = nil, fmt.Errorf("digest chart: %v", r)
		}
	}()

	p := plot.New()
	p.BackgroundColor = color.White
	names, dated := weekLabels(weeks, to, loc)
	for i := range names {
		names[i] = referral.Truncate(names[i], 16)
	}
	p.X.Tick.Label = chartText(20, false, draw.XCenter, draw.YTop)
	p.NominalX(names...)
	p.X.Label.Text = "Week"
	if dated {
		p.X.Label.Text = "Week ending"
	}
	p.X.Label.TextStyle = chartText(18, false, draw.XCenter, draw.YBottom)
	p.X.Label.Padding = 4

	top := 0
	for _, w := range weeks {
		for _, s := range chartSeries {
			v := s.value(w)
			if v < 0 {
				return nil, fmt.Errorf("digest chart: %s of week %q is %d", s.label, w.Week, v)
			}
			top = max(top, v)
		}
	}
	step, ymax := yScale(top)
	var ticks []plot.Tick
	for v := 0; v <= ymax; v += step {
		ticks = append(ticks, plot.Tick{Value: float64(v), Label: strconv.Itoa(v)})
	}
	p.Y.Min, p.Y.Max = 0, float64(ymax)
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	p.Y.Tick.Label = chartText(20, false, draw.XRight, draw.YCenter)
	p.Y.Tick.LineStyle.Color = chartGrid
	p.Y.LineStyle.Width = 0
	p.Y.Padding = 6
	p.Y.Label.Text = "Count"
	p.Y.Label.TextStyle = chartText(18, false, draw.XCenter, draw.YBottom) // the axis turns it upright
	p.Y.Label.Padding = 4

	grid := plotter.NewGrid()
	grid.Vertical.Color = nil
	grid.Horizontal.Color = chartGrid
	grid.Horizontal.Width = 1
	grid.Horizontal.Dashes = nil
	p.Add(grid)
	p.Add(&weekBars{weeks: weeks, values: chartText(16, true, draw.XCenter, draw.YBottom)})
	// Every week gets the same slot, its label in the middle, also when
	// only one week is shown.
	p.X.Min, p.X.Max, p.X.Padding = -0.5, float64(len(weeks))-0.5, 0

	c := vgimg.NewWith(vgimg.UseWH(chartWidth, chartHeight), vgimg.UseDPI(72)) // 1 pt = 1 px
	dc := draw.New(c)
	drawHeader(dc, len(weeks))
	body := draw.Crop(dc, 8, -16, 4, -chartHeader)
	p.Draw(body)
	if top == 0 {
		body.FillText(chartText(24, false, draw.XCenter, draw.YCenter), body.Center(), "No activity in these weeks yet")
	}

	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("digest chart: %w", err)
	}
	return buf.Bytes(), nil
}

// weekLabels names the chart's weeks. With to, the end of the newest
// week, each week is named by the day it ends ("7 Dec"): the digest's
// weeks are the seven days before a post, not calendar weeks. Without it,
// or when the weeks are not the seven-day steps back from to, they keep
// their ISO week ("W49"). Where the weeks shown cross a year, the first
// week and the first of each new year carry the year on a second line.
func weekLabels(weeks []referral.WeekCounts, to time.Time, loc *time.Location) (labels []string, dated bool) {
	if loc == nil {
		loc = time.UTC
	}
	n := len(weeks)
	ends := make([]time.Time, n)
	dated = !to.IsZero()
	for i := range weeks {
		ends[i] = to.In(loc).AddDate(0, 0, -7*(n-1-i))
		if referral.WeekKey(ends[i], loc) != weeks[i].Week {
			dated = false
		}
	}
	labels = make([]string, n)
	years := make([]string, n)
	for i, w := range weeks {
		if dated {
			labels[i], years[i] = ends[i].Format("2 Jan"), ends[i].Format("2006")
			continue
		}
		labels[i] = weekLabel(w.Week)
		if y, _, ok := strings.Cut(w.Week, "-"); ok {
			years[i] = y
		}
	}
	if n == 0 || years[0] == years[n-1] {
		return labels, dated
	}
	for i := range labels {
		if years[i] != "" && (i == 0 || years[i] != years[i-1]) {
			labels[i] += "\n" + years[i]
		}
	}
	return labels, dated
}

// drawHeader writes the title and a one-line legend across the top.
func drawHeader(dc draw.Canvas, weeks int) {
	const left = 24
	topY := dc.Max.Y
	title := fmt.Sprintf("Referral activity, last %d weeks", weeks)
	if weeks == 1 {
		title = "Referral activity this week"
	}
	dc.FillText(chartText(28, true, draw.XLeft, draw.YTop), vg.Point{X: left, Y: topY - 8}, title)
	label := chartText(22, false, draw.XLeft, draw.YCenter)
	x, y := vg.Length(left), topY-62
	for _, s := range chartSeries {
		box := []vg.Point{{X: x, Y: y - 9}, {X: x + 18, Y: y - 9}, {X: x + 18, Y: y + 9}, {X: x, Y: y + 9}}
		dc.FillPolygon(s.color, box)
		x += 25
		dc.FillText(label, vg.Point{X: x, Y: y}, s.label)
		x += label.Width(s.label) + 28
	}
}

// weekLabel shortens "2026-W48" to "W48".
func weekLabel(key string) string {
	if _, w, ok := strings.Cut(key, "-"); ok {
		return w
	}
	return key
}

// yScale picks a whole-number tick step (1, 2, 5, 10, 20, ...) giving at
// most five steps, and a top with room for the numbers above the bars.
func yScale(top int) (step, ymax int) {
	for scale := 1; ; scale *= 10 {
		for _, m := range []int{1, 2, 5} {
			if step = m * scale; top <= 5*step {
				ymax = (top*115/100/step + 1) * step
				return step, max(ymax, 4)
			}
		}
	}
}

// weekBars draws each week's non-zero bars side by side, centred on the
// week whatever the other series and weeks hold, with each bar's number
// above it. A series keeps its colour and its place in the legend's order.
type weekBars struct {
	weeks  []referral.WeekCounts
	values plottext.Style
}

// chartBarWidth leaves room between weeks: a full group is 80 px of the
// roughly 90 px each of eight weeks gets.
const chartBarWidth = vg.Length(20)

func (b *weekBars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for i, w := range b.weeks {
		type bar struct {
			color color.RGBA
			v     int
		}
		var shown []bar
		for _, s := range chartSeries {
			if v := s.value(w); v > 0 {
				shown = append(shown, bar{s.color, v})
			}
		}
		left := trX(float64(i)) - chartBarWidth*vg.Length(len(shown))/2
		for k, bar := range shown {
			x0 := left + chartBarWidth*vg.Length(k)
			y0, y1 := trY(0), trY(float64(bar.v))
			c.FillPolygon(bar.color, c.ClipPolygonY([]vg.Point{{X: x0, Y: y0}, {X: x0 + chartBarWidth, Y: y0}, {X: x0 + chartBarWidth, Y: y1}, {X: x0, Y: y1}}))
			c.FillText(b.values, vg.Point{X: x0 + chartBarWidth/2, Y: y1 + 3}, strconv.Itoa(bar.v))
		}
	}
}
