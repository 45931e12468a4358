package commands

import (
	"bytes"
	"image"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// -update (declared in definitions_test.go) rewrites it too.
const goldenChart = "testdata/digest_chart.golden.png"

// Pixels may differ a little (anti-aliasing of another x/image or Go
// release); a changed bar, label or title moves far more than this.
const (
	goldenChannelTolerance = 24     // per colour channel, of 255
	goldenMaxDiffShare     = 0.0005 // of all pixels: 160 of 800x400
)

// goldenWeeks crosses a year, has empty weeks and weeks with one series
// only, so the image shows the year labels, the centring and the axis
// titles. They are the eight seven-day periods before Mon 11 Jan 2027.
func goldenWeeks() ([]referral.WeekCounts, time.Time) {
	to := time.Date(2027, 1, 11, 9, 0, 0, 0, time.UTC)
	counts := [][4]int{{3, 1, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 1}, {8, 4, 2, 1}, {12, 6, 3, 1}, {0, 0, 0, 0}, {4, 0, 0, 0}, {9, 4, 2, 0}}
	var weeks []referral.WeekCounts
	for i, c := range counts {
		end := to.AddDate(0, 0, -7*(len(counts)-1-i))
		weeks = append(weeks, referral.WeekCounts{Week: referral.WeekKey(end, time.UTC), Requests: c[0], Submitted: c[1], Interviews: c[2], Offers: c[3]})
	}
	return weeks, to
}

func TestChartGoldenImage(t *testing.T) {
	weeks, to := goldenWeeks()
	got, err := digestChart(weeks, to, time.UTC)
	if err != nil {
		t.Fatalf("digestChart: %v", err)
	}
	if *updateGolden {
		if err := os.WriteFile(goldenChart, got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", goldenChart)
	}
	data, err := os.ReadFile(goldenChart)
	if err != nil {
		t.Fatalf("%v (run go test ./commands -run TestChartGoldenImage -update to create it)", err)
	}
	want := decodeChart(t, data)
	if share, worst := pixelDiff(want, decodeChart(t, got)); share > goldenMaxDiffShare {
		out := filepath.Join(os.TempDir(), "referralbot-digest-chart.got.png")
		_ = os.WriteFile(out, got, 0o644)
		t.Errorf("chart differs from %s in %.2f%% of pixels (worst channel difference %d); want at most %.2f%%. "+
			"Look at %s; if the change is meant, run go test ./commands -run TestChartGoldenImage -update",
			goldenChart, 100*share, worst, 100*goldenMaxDiffShare, out)
	}

	// The comparison sees a change as small as one bar one step higher.
	weeks[6].Requests++
	moved, err := digestChart(weeks, to, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if share, _ := pixelDiff(want, decodeChart(t, moved)); share <= goldenMaxDiffShare {
		t.Errorf("a chart with one bar changed differs in %.3f%% of pixels; want more than %.2f%%", 100*share, 100*goldenMaxDiffShare)
	}
}

// The chart is drawn the same way every time: no map order, clock or
// random state in it.
func TestChartIsDeterministic(t *testing.T) {
	weeks, to := goldenWeeks()
	first, err := digestChart(weeks, to, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		again, err := digestChart(weeks, to, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatal("digestChart drew different bytes for the same weeks")
		}
	}
}

// pixelDiff is the share of pixels where any channel differs by more than
// the tolerance, and the largest channel difference seen.
func pixelDiff(a, b image.Image) (share float64, worst int) {
	ab, bb := a.Bounds(), b.Bounds()
	if ab.Size() != bb.Size() {
		return 1, 255
	}
	differ := 0
	for y := 0; y < ab.Dy(); y++ {
		for x := 0; x < ab.Dx(); x++ {
			r1, g1, b1, a1 := a.At(ab.Min.X+x, ab.Min.Y+y).RGBA()
			r2, g2, b2, a2 := b.At(bb.Min.X+x, bb.Min.Y+y).RGBA()
			d := 0
			for _, p := range [][2]uint32{{r1, r2}, {g1, g2}, {b1, b2}, {a1, a2}} {
				d = max(d, absDiff(int(p[0]>>8), int(p[1]>>8)))
			}
			worst = max(worst, d)
			if d > goldenChannelTolerance {
				differ++
			}
		}
	}
	return float64(differ) / float64(ab.Dx()*ab.Dy()), worst
}

func absDiff(a, b int) int {
	if a > b {
		return a - b
	}
	return b - a
}

// BenchmarkDigestChart draws the golden chart: the cost of one digest's
// image (the first call also parses the fonts).
func BenchmarkDigestChart(b *testing.B) {
	weeks, to := goldenWeeks()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := digestChart(weeks, to, time.UTC); err != nil {
			b.Fatal(err)
		}
	}
}
