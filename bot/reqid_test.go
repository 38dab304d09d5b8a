package bot

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// TestRequestID: a caller's X-Request-ID is kept and echoed; otherwise each request gets
// a new id, unique in the process, with the process prefix.
func TestRequestID(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(requestID())
	r.GET("/", func(c *gin.Context) { c.String(http.StatusOK, c.GetString(ctxReqID)) })
	get := func(id string) (header, seen string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if id != "" {
			req.Header.Set("X-Request-ID", id)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w.Header().Get("X-Request-ID"), w.Body.String()
	}
	if h, s := get("abc-123"); h != "abc-123" || s != "abc-123" {
		t.Errorf("caller's id: header %q, handler saw %q", h, s)
	}
	seen := map[string]bool{}
	for range 1000 {
		h, s := get("")
		if h == "" || h != s || !strings.HasPrefix(h, reqIDPrefix) || seen[h] {
			t.Fatalf("new id: header %q, handler saw %q (prefix %q, seen before %v)", h, s, reqIDPrefix, seen[h])
		}
		seen[h] = true
	}
	if h, _ := get(strings.Repeat("x", 65)); len(h) > 64 || !strings.HasPrefix(h, reqIDPrefix) {
		t.Errorf("over-long caller id replaced by %q", h)
	}
}
