package commands

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"strconv"
	"strings"

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
// number above each bar, a legend and week labels. It returns PNG bytes.
func digestChart(weeks []referral.WeekCounts) (png []byte, err error) {
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
	names := make([]string, len(weeks))
	for i, w := range weeks {
		names[i] = referral.Truncate(weekLabel(w.Week), 8)
	}
	p.X.Tick.Label = chartText(22, false, draw.XCenter, draw.YTop)
	p.NominalX(names...)
	p.X.Padding = 2

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

	grid := plotter.NewGrid()
	grid.Vertical.Color = nil
	grid.Horizontal.Color = chartGrid
	grid.Horizontal.Width = 1
	grid.Horizontal.Dashes = nil
	p.Add(grid)

	// Each week's group is 80 px of the roughly 90 px a week gets.
	const barWidth = vg.Length(20)
	values := &barValues{style: chartText(16, true, draw.XCenter, draw.YBottom)}
	for k, s := range chartSeries {
		vs := make(plotter.Values, len(weeks))
		for i, w := range weeks {
			vs[i] = float64(s.value(w))
		}
		bars, err := plotter.NewBarChart(vs, barWidth)
		if err != nil {
			return nil, fmt.Errorf("digest chart: %w", err)
		}
		bars.Color = s.color
		bars.LineStyle.Width = 0
		bars.Offset = barWidth * vg.Length(2*k-len(chartSeries)+1) / 2
		p.Add(bars)
		values.series = append(values.series, barSeries{offset: bars.Offset, values: vs})
	}
	p.Add(values)

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

// barSeries is one series' bars, for writing their numbers.
type barSeries struct {
	offset vg.Length
	values plotter.Values
}

// barValues writes each non-zero bar's number above it.
type barValues struct {
	style  plottext.Style
	series []barSeries
}

func (b *barValues) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for _, s := range b.series {
		for i, v := range s.values {
			if v == 0 {
				continue
			}
			c.FillText(b.style, vg.Point{X: trX(float64(i)) + s.offset, Y: trY(v) + 3}, strconv.Itoa(int(v)))
		}
	}
}
