package bot

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// consolePage is the admin web console: one page that logs in with the admin token and
// drives the admin API (imports, exports, flow editing with line errors, digests, groups).
//
//go:embed console/index.html
var consolePage []byte

func serveConsole(c *gin.Context) {
	// The page holds no data of its own; the token stays in the browser's session storage.
	c.Header("Cache-Control", "no-store")
	c.Header("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:")
	c.Header("X-Frame-Options", "DENY")
	c.Data(http.StatusOK, "text/html; charset=utf-8", consolePage)
}
