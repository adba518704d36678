package server

import (
	"fmt"
	"strings"
	"time"

	"github.com/ferry-ota/ferry/internal/fleet/store"
)

// Chart geometry, in SVG user units.
const (
	chartW, chartH = 600.0, 160.0
	chartLeft      = 40.0
	chartTop       = 10.0
	maxChartLines  = 5
)

var chartColors = []string{"#3b82c4", "#067647", "#b54708", "#7a5af8", "#b42318"}

// chart is the adoption chart: one step line per release.
type chart struct {
	Lines              []chartLine
	FirstDay, LastDay  string
	MaxDevices         int
	W, H, Left, Top    float64
	Right, Bottom, Mid float64
}

type chartLine struct {
	Release, Color, Points string
	Devices                int // adopted by the last day
}

// adoptionChart lays out the adoptions on a common time axis.
func adoptionChart(ad []store.Adoption) *chart {
	if len(ad) == 0 {
		return nil
	}
	lo, hi, top := ad[0].Days[0], ad[0].Days[0], 1
	for _, a := range ad {
		lo, hi = min(lo, a.Days[0]), max(hi, a.Days[len(a.Days)-1])
		top = max(top, a.Devices[len(a.Devices)-1])
	}
	span := max(hi-lo, 1)
	c := &chart{FirstDay: day(lo), LastDay: day(hi), MaxDevices: top, W: chartW, H: chartH, Left: chartLeft, Top: chartTop,
		Right: chartLeft + chartW, Bottom: chartTop + chartH, Mid: chartLeft + chartW/2}
	x := func(d int64) float64 { return chartLeft + float64(d-lo)/float64(span)*chartW }
	y := func(n int) float64 { return chartTop + chartH - float64(n)/float64(top)*chartH }
	for i, a := range ad {
		var pts []string
		prev := 0
		for k, d := range a.Days {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f %.1f,%.1f", x(d), y(prev), x(d), y(a.Devices[k])))
			prev = a.Devices[k]
		}
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(hi), y(prev)))
		c.Lines = append(c.Lines, chartLine{Release: a.Release, Color: chartColors[i%len(chartColors)], Points: strings.Join(pts, " "), Devices: prev})
	}
	return c
}

func day(d int64) string { return time.Unix(d*86400, 0).UTC().Format(time.DateOnly) }
