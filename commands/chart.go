package commands

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

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
	chartAxis = color.RGBA{0x9A, 0xA0, 0xA6, 0xFF}
)

// Layout in pixels. A full group of four bars is 80 px of the roughly
// 90 px each of eight weeks gets, which leaves room between weeks.
const (
	chartBarWidth    = 20
	chartMarginLeft  = 8
	chartMarginRight = 16
	chartLegendY     = 62 // the legend's middle
)

// chartFonts parses the Go fonts (one family, regular and bold) when the
// first chart is drawn, not at start: an idle bot holds no parsed font.
// A parsed font is safe to share; the faces drawing with it are not, so
// each chart makes its own.
var chartFonts = sync.OnceValues(func() (fonts [2]*opentype.Font, err error) {
	for i, ttf := range [][]byte{goregular.TTF, gobold.TTF} {
		if fonts[i], err = opentype.Parse(ttf); err != nil {
			return fonts, fmt.Errorf("digest chart: font: %w", err)
		}
	}
	return fonts, nil
})

// chartFace is a font at one size with the metrics the layout needs,
// rounded to whole pixels.
type chartFace struct {
	face                                   font.Face
	ascent, descent, capHeight, lineHeight int
}

func newChartFace(f *opentype.Font, size float64) (chartFace, error) {
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull}) // 1 pt = 1 px
	if err != nil {
		return chartFace{}, fmt.Errorf("digest chart: font face: %w", err)
	}
	m := face.Metrics()
	return chartFace{face: face, ascent: m.Ascent.Ceil(), descent: m.Descent.Ceil(), capHeight: m.CapHeight.Round(), lineHeight: m.Height.Ceil()}, nil
}

func (f chartFace) width(s string) int { return font.MeasureString(f.face, s).Ceil() }

// chartFaces are the chart's text styles.
type chartFaces struct {
	title, legend, tick, axis, value, empty chartFace
}

func newChartFaces() (chartFaces, error) {
	fonts, err := chartFonts()
	if err != nil {
		return chartFaces{}, err
	}
	regular, bold := fonts[0], fonts[1]
	var faces chartFaces
	for _, f := range []struct {
		into *chartFace
		font *opentype.Font
		size float64
	}{
		{&faces.title, bold, 28}, {&faces.legend, regular, 22}, {&faces.tick, regular, 20},
		{&faces.axis, regular, 18}, {&faces.value, bold, 16}, {&faces.empty, regular, 24},
	} {
		if *f.into, err = newChartFace(f.font, f.size); err != nil {
			return chartFaces{}, err
		}
	}
	return faces, nil
}

// chartCanvas draws on the chart's image; what falls outside is clipped.
type chartCanvas struct{ img *image.RGBA }

func (c chartCanvas) fill(r image.Rectangle, col color.RGBA) {
	draw.Draw(c.img, r, image.NewUniform(col), image.Point{}, draw.Src)
}

// textAlign says which end of a text its x is.
type textAlign int

const (
	alignLeft textAlign = iota
	alignCentre
	alignRight
)

// text writes s in ink on the baseline y, antialiased.
func (c chartCanvas) text(f chartFace, s string, x, baseline int, align textAlign) {
	switch align {
	case alignCentre:
		x -= f.width(s) / 2
	case alignRight:
		x -= f.width(s)
	}
	d := font.Drawer{Dst: c.img, Src: image.NewUniform(chartInk), Face: f.face, Dot: fixed.P(x, baseline)}
	d.DrawString(s)
}

// textUp writes s reading upwards, the tops of its letters at x and its
// middle at y: drawn level into a mask, then the mask turned a quarter.
func (c chartCanvas) textUp(f chartFace, s string, x, y int) {
	w, h := f.width(s), f.ascent+f.descent
	level := image.NewAlpha(image.Rect(0, 0, w, h))
	d := font.Drawer{Dst: level, Src: image.Opaque, Face: f.face, Dot: fixed.P(0, f.ascent)}
	d.DrawString(s)
	up := image.NewAlpha(image.Rect(0, 0, h, w))
	for ly := range h {
		for lx := range w {
			up.SetAlpha(ly, w-1-lx, level.AlphaAt(lx, ly))
		}
	}
	r := image.Rect(x, y-w/2, x+h, y-w/2+w)
	draw.DrawMask(c.img, r, image.NewUniform(chartInk), image.Point{}, up, image.Point{}, draw.Over)
}

// digestChart draws the last eight weeks (oldest first) as grouped bars:
// new requests, referrals submitted, interviews and offers, with the
// number above each bar, a legend, axis titles and week labels. to is the
// end of the newest week (the digest's To), so each week is labelled by
// the day it ends; see weekLabels. It returns PNG bytes.
func digestChart(weeks []referral.WeekCounts, to time.Time, loc *time.Location) (data []byte, err error) {
	if len(weeks) == 0 {
		return nil, errors.New("digest chart: no weeks")
	}
	if len(weeks) > chartWeeks {
		weeks = weeks[len(weeks)-chartWeeks:]
	}
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
	defer func() { // a drawing bug must not cost the digest
		if r := recover(); r != nil {
			data, err = nil, fmt.Errorf("digest chart: %v", r)
		}
	}()
	faces, err := newChartFaces()
	if err != nil {
		return nil, err
	}
	img := image.NewRGBA(image.Rect(0, 0, chartWidth, chartHeight))
	c := chartCanvas{img}
	c.fill(img.Bounds(), color.RGBA{0xFF, 0xFF, 0xFF, 0xFF})
	drawHeader(c, faces, len(weeks))
	drawPlot(c, faces, weeks, top, to, loc)

	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("digest chart: %w", err)
	}
	return buf.Bytes(), nil
}

// drawHeader writes the title and a one-line legend across the top.
func drawHeader(c chartCanvas, faces chartFaces, weeks int) {
	const left = 24
	title := fmt.Sprintf("Referral activity, last %d weeks", weeks)
	if weeks == 1 {
		title = "Referral activity this week"
	}
	c.text(faces.title, title, left, 8+faces.title.ascent, alignLeft)
	x := left
	for _, s := range chartSeries {
		c.fill(image.Rect(x, chartLegendY-9, x+18, chartLegendY+9), s.color)
		x += 25
		c.text(faces.legend, s.label, x, chartLegendY+faces.legend.capHeight/2, alignLeft)
		x += faces.legend.width(s.label) + 28
	}
}

// drawPlot draws the axes, the grid and each week's bars below the header.
// The plot's edges follow from the text around it: the y-axis title and
// the widest tick label on the left, the week labels (one or two lines)
// and the x-axis title below.
func drawPlot(c chartCanvas, faces chartFaces, weeks []referral.WeekCounts, top int, to time.Time, loc *time.Location) {
	names, dated := weekLabels(weeks, to, loc)
	labels := make([][]string, len(names))
	lines := 1
	for i, name := range names {
		labels[i] = strings.Split(referral.Truncate(name, 16), "\n")
		lines = max(lines, len(labels[i]))
	}
	step, ymax := yScale(top)
	tickWidth := 0
	for v := 0; v <= ymax; v += step {
		tickWidth = max(tickWidth, faces.tick.width(strconv.Itoa(v)))
	}

	axisTitleBaseline := chartHeight - 6 - faces.axis.descent
	plotTop := chartHeader + 12
	plotBottom := axisTitleBaseline - faces.axis.ascent - 6 - lines*faces.tick.lineHeight - 6
	plotLeft := chartMarginLeft + faces.axis.ascent + faces.axis.descent + 8 + tickWidth + 8
	plotRight := chartWidth - chartMarginRight
	yOf := func(v int) int {
		return plotBottom - int(math.Round(float64(v)*float64(plotBottom-plotTop)/float64(ymax)))
	}
	// Every week gets the same slot, its label in the middle, also when
	// only one week is shown.
	slot := float64(plotRight-plotLeft) / float64(len(weeks))
	centreOf := func(i int) float64 { return float64(plotLeft) + (float64(i)+0.5)*slot }

	for v := 0; v <= ymax; v += step {
		y := yOf(v)
		c.fill(image.Rect(plotLeft, y, plotRight, y+1), chartGrid)
		c.text(faces.tick, strconv.Itoa(v), plotLeft-8, y+faces.tick.capHeight/2, alignRight)
	}
	c.fill(image.Rect(plotLeft, plotBottom, plotRight, plotBottom+1), chartAxis)
	xTitle := "Week"
	if dated {
		xTitle = "Week ending"
	}
	c.text(faces.axis, xTitle, (plotLeft+plotRight)/2, axisTitleBaseline, alignCentre)
	c.textUp(faces.axis, "Count", chartMarginLeft, (plotTop+plotBottom)/2)

	var lastValue image.Rectangle
	for i, w := range weeks {
		centre := centreOf(i)
		for k, line := range labels[i] {
			c.text(faces.tick, line, int(math.Round(centre)), plotBottom+6+faces.tick.ascent+k*faces.tick.lineHeight, alignCentre)
		}
		lastValue = drawWeekBars(c, faces.value, w, centre, plotBottom, yOf, lastValue)
	}
	if top == 0 {
		c.text(faces.empty, "No activity in these weeks yet", (plotLeft+plotRight)/2, (plotTop+plotBottom)/2+faces.empty.capHeight/2, alignCentre)
	}
}

// drawWeekBars draws a week's non-zero bars side by side, centred on the
// week whatever the other series and weeks hold, with each bar's number
// above it. A series keeps its colour and its place in the legend's order.
// A bar is at least one pixel high, so a small count beside a huge one
// still shows. A number wider than its bar that would run into the one
// drawn before it (last) goes above that one instead; it returns the box
// of the last number drawn.
func drawWeekBars(c chartCanvas, value chartFace, w referral.WeekCounts, centre float64, bottom int, yOf func(int) int, last image.Rectangle) image.Rectangle {
	shown := 0
	for _, s := range chartSeries {
		if s.value(w) > 0 {
			shown++
		}
	}
	x := int(math.Round(centre - float64(chartBarWidth*shown)/2))
	for _, s := range chartSeries {
		v := s.value(w)
		if v <= 0 {
			continue
		}
		y := min(yOf(v), bottom-1)
		c.fill(image.Rect(x, y, x+chartBarWidth, bottom), s.color)
		label := strconv.Itoa(v)
		width := value.width(label)
		box := image.Rect(x+chartBarWidth/2-width/2, y-3-value.ascent-value.descent, x+chartBarWidth/2-width/2+width, y-3)
		if box.Overlaps(last) {
			box = box.Add(image.Pt(0, last.Min.Y-box.Max.Y-1))
		}
		c.text(value, label, x+chartBarWidth/2, box.Max.Y-value.descent, alignCentre)
		last = box
		x += chartBarWidth
	}
	return last
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
