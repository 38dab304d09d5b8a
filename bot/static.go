package bot

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"
)

// The request-user-info card shows an image (API.md §4.2: include one). The bot serves a
// plain banner of its own at /static/card.png so the card works without a CDN.
var (
	cardOnce sync.Once
	cardPNG  []byte
)

// cardImage draws the banner: the Association's green over a light band, 600×300.
func cardImage() []byte {
	cardOnce.Do(func() {
		img := image.NewRGBA(image.Rect(0, 0, 600, 300))
		for y := 0; y < 300; y++ {
			for x := 0; x < 600; x++ {
				c := color.RGBA{R: 0, G: uint8(104 + y/6), B: uint8(70 + x/12), A: 255}
				if y > 200 {
					c = color.RGBA{R: 240, G: 246, B: 242, A: 255}
				}
				// three circles: older, middle and younger generations
				for i, cx := range []int{200, 300, 400} {
					dx, dy, r := x-cx, y-110, 40-i*8
					if dx*dx+dy*dy < r*r {
						c = color.RGBA{R: 255, G: 214 - uint8(i*30), B: 80, A: 255}
					}
				}
				img.Set(x, y, c)
			}
		}
		var b bytes.Buffer
		_ = png.Encode(&b, img)
		cardPNG = b.Bytes()
	})
	return cardPNG
}

func serveCard(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=86400")
	c.Data(http.StatusOK, "image/png", cardImage())
}
