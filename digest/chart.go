package digest

import (
	"bytes"
	_ "embed"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// The chart's fonts: Noto Sans cut down to Latin and Vietnamese (fonts/README.md). The Go
// fonts lack ơ, ư and the precomposed Vietnamese letters, so "Sức khỏe" would show boxes.
var (
	//go:embed fonts/NotoSans-Regular-vi.ttf
	regularTTF []byte
	//go:embed fonts/NotoSans-Bold-vi.ttf
	boldTTF []byte
)

var fonts = sync.OnceValues(func() ([2]*opentype.Font, error) {
	var out [2]*opentype.Font
	for i, b := range [][]byte{regularTTF, boldTTF} {
		f, err := opentype.Parse(b)
		if err != nil {
			return out, fmt.Errorf("chart font: %w", err)
		}
		out[i] = f
	}
	return out, nil
})

// MissingGlyphs returns the characters of s the chart's fonts cannot draw (tests check
// every label against it).
func MissingGlyphs(s string) []rune {
	fs, err := fonts()
	if err != nil {
		return []rune(s)
	}
	var buf sfnt.Buffer
	var out []rune
	for _, r := range s {
		if r == '\n' {
			continue
		}
		for _, f := range fs {
			if i, err := f.GlyphIndex(&buf, r); err != nil || i == 0 {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// Chart geometry, in pixels. 800 pixels wide is sharp on a phone and far below the 1 MB
// limit of an uploaded image (API.md §8) as a PNG of flat colours.
const (
	chartW      = 800
	chartPad    = 32
	labelW      = 250 // the area names
	barH        = 30
	rowH        = 52
	headerH     = 120
	valueW      = 150 // "100% · 1.234 CLB"
	titleSize   = 30
	textSize    = 20
	smallSize   = 18
	noteLineH   = 30
	footerSpace = 24
)

var (
	colBackground = color.RGBA{0xff, 0xff, 0xff, 0xff}
	colText       = color.RGBA{0x21, 0x21, 0x21, 0xff}
	colMuted      = color.RGBA{0x5f, 0x63, 0x68, 0xff}
	colTrack      = color.RGBA{0xe8, 0xea, 0xed, 0xff}
	colBar        = color.RGBA{0x1e, 0x7b, 0x5c, 0xff} // green: readable, not alarming
	colTarget     = color.RGBA{0xc6, 0x28, 0x28, 0xff}
)

// Chart draws the 8-area coverage of d as a PNG: one bar per area, the share of the
// unit's clubs with activity in it over the area window, a mark at the 70% quality
// target, and the notes (clubs covering all 8 areas, this month's reporting) below.
func Chart(d *Digest, text ChartText) ([]byte, error) {
	fs, err := fonts()
	if err != nil {
		return nil, err
	}
	face := func(f *opentype.Font, size float64) (font.Face, error) {
		return opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	}
	title, err := face(fs[1], titleSize)
	if err != nil {
		return nil, fmt.Errorf("chart font: %w", err)
	}
	defer title.Close()
	body, err := face(fs[0], textSize)
	if err != nil {
		return nil, fmt.Errorf("chart font: %w", err)
	}
	defer body.Close()
	small, err := face(fs[0], smallSize)
	if err != nil {
		return nil, fmt.Errorf("chart font: %w", err)
	}
	defer small.Close()

	h := headerH + len(Areas)*rowH + footerSpace + len(text.Notes)*noteLineH + chartPad
	img, _ := canvases.Get().(*image.RGBA)
	if img == nil || img.Bounds() != image.Rect(0, 0, chartW, h) {
		img = image.NewRGBA(image.Rect(0, 0, chartW, h))
	}
	defer canvases.Put(img)
	draw.Draw(img, img.Bounds(), image.NewUniform(colBackground), image.Point{}, draw.Src)

	write := func(f font.Face, c color.Color, x, y int, s string, maxW int) {
		s = fit(f, s, maxW)
		dr := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: f, Dot: fixed.P(x, y)}
		dr.DrawString(s)
	}
	write(title, colText, chartPad, chartPad+titleSize, text.Title, chartW-2*chartPad)
	write(small, colMuted, chartPad, chartPad+titleSize+36, text.Subtitle, chartW-2*chartPad)

	barX := chartPad + labelW
	barW := chartW - barX - valueW - chartPad
	top := headerH
	for i, a := range d.Areas {
		y := top + i*rowH
		mid := y + rowH/2
		write(body, colText, chartPad, mid+textSize/3, fmt.Sprintf("%d. %s", i+1, a.Label), labelW-12)
		fill(img, image.Rect(barX, mid-barH/2, barX+barW, mid+barH/2), colTrack)
		if w := barW * min(a.Pct, 100) / 100; w > 0 {
			fill(img, image.Rect(barX, mid-barH/2, barX+w, mid+barH/2), colBar)
		}
		write(small, colText, barX+barW+12, mid+smallSize/3, fmt.Sprintf("%d%% · %s CLB", a.Pct, Num(a.Clubs)), valueW-12)
	}
	// The 70% line: the share Decision 1336 wants doing all activities (ISHC.md §6).
	tx := barX + barW*QualityTarget/100
	fill(img, image.Rect(tx-1, top+6, tx+1, top+len(Areas)*rowH-6), colTarget)
	mark := fmt.Sprintf("%d%%", QualityTarget)
	write(small, colTarget, tx-font.MeasureString(small, mark).Ceil()/2, top, mark, valueW)

	y := top + len(Areas)*rowH + footerSpace
	for _, n := range text.Notes {
		write(small, colText, chartPad, y+smallSize, n, chartW-2*chartPad)
		y += noteLineH
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, paletted(img)); err != nil {
		return nil, fmt.Errorf("chart png: %w", err)
	}
	return buf.Bytes(), nil
}

// canvases keeps drawing surfaces between charts: a weekly run draws 35 charts of 2 MB
// each, and allocating (and zeroing) each one cost as much as drawing it.
var canvases sync.Pool

// palette holds the chart's colours and their blends with the background, which is all
// that anti-aliased text and flat bars produce.
var palette = sync.OnceValue(func() color.Palette {
	var p color.Palette
	for _, c := range []color.RGBA{colText, colMuted, colBar, colTrack, colTarget} {
		for k := 0; k <= 16; k++ {
			mix := func(a, b uint8) uint8 { return uint8((int(a)*k + int(b)*(16-k)) / 16) }
			p = append(p, color.RGBA{mix(c.R, colBackground.R), mix(c.G, colBackground.G), mix(c.B, colBackground.B), 0xff})
		}
	}
	return p
})

// paletted converts the drawing to 8-bit colour: a PNG of palette indices is a quarter of
// the raw size and is encoded without the per-row filter search of RGBA, several times
// faster, and the chart looks the same.
func paletted(src *image.RGBA) *image.Paletted {
	pal := palette()
	dst := image.NewPaletted(src.Bounds(), pal)
	cache := map[uint32]uint8{}
	var last uint32
	var lastIdx uint8
	have := false
	for i, j := 0, 0; i < len(src.Pix); i, j = i+4, j+1 {
		px := uint32(src.Pix[i])<<16 | uint32(src.Pix[i+1])<<8 | uint32(src.Pix[i+2])
		if !have || px != last {
			idx, ok := cache[px]
			if !ok {
				idx = uint8(pal.Index(color.RGBA{src.Pix[i], src.Pix[i+1], src.Pix[i+2], 0xff}))
				cache[px] = idx
			}
			last, lastIdx, have = px, idx, true
		}
		dst.Pix[j] = lastIdx
	}
	return dst
}

func fill(img *image.RGBA, r image.Rectangle, c color.Color) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
}

// fit shortens s with an ellipsis until it is at most maxW pixels wide.
func fit(f font.Face, s string, maxW int) string {
	if font.MeasureString(f, s).Ceil() <= maxW {
		return s
	}
	r := []rune(s)
	for len(r) > 1 {
		r = r[:len(r)-1]
		if t := string(r) + "…"; font.MeasureString(f, t).Ceil() <= maxW {
			return t
		}
	}
	return string(r)
}
