package digest

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"clubbot/templates"
)

// TestChart draws Ninh Bình's chart and checks it as a reader would see it: a PNG of the
// expected size, under Zalo's 1 MB, each bar as long as its share, and every character of
// its text present in the embedded fonts (so "Sức khỏe" is not drawn as boxes). With
// -update it writes testdata/ninh-binh-chart.png for a person to look at.
func TestChart(t *testing.T) {
	d := loadData(t)
	w := Week{2025, 46}
	dg := Build(d, w, w.End(hcm), []string{"ninh-binh"}, testOptions())["ninh-binh"]
	tm := MustParseTemplates(templates.Digest())
	text, err := tm.ChartText(dg)
	if err != nil {
		t.Fatal(err)
	}
	if text.Title != "Ninh Bình – tuần 46/2025" || len(text.Notes) != 2 || !strings.Contains(text.Caption, "8 mảng") {
		t.Errorf("chart text = %+v", text)
	}
	b, err := Chart(dg, text)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 1<<20 {
		t.Errorf("chart is %d bytes, over the 1 MB upload limit", len(b))
	}
	if *update {
		if err := os.WriteFile(filepath.Join("testdata", "ninh-binh-chart.png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds().Size(); got.X != chartW || got.Y < 500 {
		t.Errorf("chart size %v", got)
	}
	barX := chartPad + labelW
	barW := chartW - barX - valueW - chartPad
	for i, a := range dg.Areas {
		mid := headerH + i*rowH + rowH/2
		got := 0
		for x := barX; x < barX+barW; x++ {
			if sameColor(img.At(x, mid), colBar) {
				got++
			}
		}
		if want := barW * a.Pct / 100; got < want-2 || got > want+2 {
			t.Errorf("bar %d (%s, %d%%) is %d px, want %d", i+1, a.Label, a.Pct, got, want)
		}
	}
	// Text was drawn in the title row (dark pixels), not left blank.
	dark := 0
	for y := chartPad; y < chartPad+titleSize+8; y++ {
		for x := chartPad; x < chartW/2; x++ {
			if r, _, _, _ := img.At(x, y).RGBA(); r < 0x4000 {
				dark++
			}
		}
	}
	if dark < 200 {
		t.Errorf("title row has %d dark pixels: no text drawn?", dark)
	}
}

func sameColor(a, b color.Color) bool {
	r1, g1, b1, _ := a.RGBA()
	r2, g2, b2, _ := b.RGBA()
	return r1 == r2 && g1 == g2 && b1 == b2
}

// TestChartGlyphs checks that the fonts have every character the chart can show: the area
// labels, the province names (current and former) and the chart's wording.
func TestChartGlyphs(t *testing.T) {
	var all strings.Builder
	all.WriteString("Sức khỏe Đ đ Ư ư Ơ ơ ỹ ỵ Ỹ – … 0123456789%()·")
	for _, a := range Areas {
		all.WriteString(a.Label)
	}
	for _, p := range testOptions().Provinces.All() {
		all.WriteString(p.Name + strings.Join(p.Former, ""))
	}
	tm := MustParseTemplates(templates.Digest())
	for _, d := range sampleDigests() {
		text, err := tm.ChartText(d)
		if err != nil {
			t.Fatal(err)
		}
		all.WriteString(text.Title + text.Subtitle + strings.Join(text.Notes, ""))
	}
	if missing := MissingGlyphs(all.String()); len(missing) > 0 {
		t.Errorf("the chart fonts lack %q", string(missing))
	}
	if missing := MissingGlyphs("▲"); len(missing) != 1 {
		t.Errorf("MissingGlyphs does not report a missing character")
	}
}

var _ image.Image // keep the import for readers of img.At above
