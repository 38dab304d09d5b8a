package bot

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"clubbot/bot/zalo"
	"clubbot/digest"
	"clubbot/flows"
)

// The digest endpoints of the admin API (CONTRACT.md):
//
//	GET  /api/v1/digests/preview?week=YYYY-Www&province=CODE[&format=json|text|png]
//	POST /api/v1/digests/run?week=YYYY-Www&province=CODE[&force=1]
//
// province is a code or name (current or pre-2025), "national" for the admins' digest,
// and for run also "all" (every province and the national digest). week defaults to the
// week whose digest is due now (the one the schedule sends or sent last).

// digestRoutes registers the digest endpoints behind the admin token; with no token the
// admin API is off and they answer 404 like every other admin path.
func (b *Bot) digestRoutes(r *gin.Engine) {
	if b.o.AdminToken == "" || b.digest == nil {
		return
	}
	auth := b.adminAuth(b.o.AdminToken)
	r.GET("/api/v1/digests/preview", auth, b.digestPreview)
	r.POST("/api/v1/digests/run", auth, b.digestRun)
}

func digestBad(c *gin.Context, msg string) {
	c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"error": msg})
}

// digestParams reads week and province. all allows province=all (every scope: nil).
func (b *Bot) digestParams(c *gin.Context, all bool, allowed ...string) (digest.Week, []string, bool) {
	for k := range c.Request.URL.Query() {
		if k != "week" && k != "province" && !slices.Contains(allowed, k) {
			digestBad(c, "tham số không dùng được: "+k)
			return digest.Week{}, nil, false
		}
	}
	now := b.o.Now()
	w, _ := b.digest.sched.Due(now)
	if v := c.Query("week"); v != "" {
		var err error
		if w, err = digest.ParseWeek(v); err != nil {
			digestBad(c, "week: cần tuần ISO, ví dụ 2025-W46")
			return w, nil, false
		}
		if w.Start(b.o.Loc).After(now) {
			digestBad(c, "week: tuần "+w.String()+" chưa bắt đầu")
			return w, nil, false
		}
	}
	p := strings.TrimSpace(c.Query("province"))
	switch f := flows.Fold(p); {
	case p == "":
		digestBad(c, "province: cần mã tỉnh (ví dụ ninh-binh), national"+map[bool]string{true: " hoặc all", false: ""}[all])
		return w, nil, false
	case f == nationalKey || f == "toan quoc" || f == "toan-quoc":
		return w, []string{digest.National}, true
	case all && f == "all":
		return w, nil, true
	}
	pr, ok := b.conv.Provinces.Lookup(p)
	if !ok {
		digestBad(c, "province: không nhận ra tỉnh/thành “"+p+"”")
		return w, nil, false
	}
	return w, []string{pr.Code}, true
}

// digestPreview answers GET /api/v1/digests/preview: the text that would be sent, as JSON
// (messages of an officer and of the group), as plain text (format=text), or the chart
// (format=png).
func (b *Bot) digestPreview(c *gin.Context) {
	w, scopes, ok := b.digestParams(c, false, "format")
	if !ok {
		return
	}
	r, err := b.digest.Preview(w, scopes[0])
	if err != nil {
		log := reqLogger(c, b.o.Log)
		log.Error().Err(err).Msg("digest preview")
		c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"error": "lỗi máy chủ, xem nhật ký"})
		return
	}
	officer := digestTexts(r.officer)
	if r.footer != nil {
		officer = append(officer, r.footer.Text)
	}
	switch c.Query("format") {
	case "", "json":
		c.JSON(http.StatusOK, gin.H{"province": scopeKey(scopes[0]), "name": r.digest.Name, "week": w.String(),
			"as_of": r.digest.AsOf.Format(time.RFC3339), "messages": officer, "group_messages": digestTexts(r.group),
			"chart_caption": r.caption})
	case "text":
		c.String(http.StatusOK, strings.Join(officer, "\n\n-----\n\n")+"\n")
	case "png":
		if r.chart == nil {
			c.AbortWithStatusJSON(http.StatusNotFound, gin.H{"error": "không có biểu đồ: chưa có số liệu về các mảng hoạt động"})
			return
		}
		c.Data(http.StatusOK, "image/png", r.chart)
	default:
		digestBad(c, "format: json, text hoặc png")
	}
}

func digestTexts(ms []zalo.Message) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Text)
	}
	return out
}

// digestRun answers POST /api/v1/digests/run: build and deliver now. The same week again
// queues nothing unless force=1; the answer gives each recipient's delivery status.
func (b *Bot) digestRun(c *gin.Context) {
	w, scopes, ok := b.digestParams(c, true, "force")
	if !ok {
		return
	}
	force := false
	switch c.Query("force") {
	case "", "0", "false":
	case "1", "true":
		force = true
	default:
		digestBad(c, "force: 1 hoặc 0")
		return
	}
	trigger := "api"
	if force {
		trigger = "api-force"
	}
	// The run outlives the request if the caller hangs up: a half-delivered run would
	// leave some provinces logged and others not (they go out on the next run).
	results, err := b.digest.Deliver(context.WithoutCancel(c.Request.Context()), w, scopes, force, trigger)
	if err != nil {
		log := reqLogger(c, b.o.Log)
		log.Error().Err(err).Msg("digest run")
		c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"error": "lỗi máy chủ, xem nhật ký"})
		return
	}
	if scopes == nil {
		c.JSON(http.StatusOK, gin.H{"week": w.String(), "results": results})
		return
	}
	c.JSON(http.StatusOK, results[0])
}
