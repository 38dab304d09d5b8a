package bot

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"clubbot/bot/zalo"
	"clubbot/club"
)

// groupListTimeout bounds the Zalo call behind GET /api/v1/groups: paging through the
// OA's groups is a handful of small calls.
const groupListTimeout = 20 * time.Second

// groupRoutes registers the group admin API: GET /api/v1/groups lists the OA's Zalo groups
// (GMF, API.md §6) with the province each is mapped to; PUT /api/v1/groups/{group_id} with
// {"province":"ha-noi"} maps one (an empty province removes the mapping). Both need the
// admin bearer token; with no token configured the admin API is off and the routes do not
// exist (404).
func (b *Bot) groupRoutes(r *gin.Engine) {
	if b.o.AdminToken == "" {
		return
	}
	g := r.Group("/api/v1/groups", b.adminAuth(b.o.AdminToken))
	g.GET("", b.groupList)
	g.PUT("/:group_id", b.groupPut)
}

// groupView is one group as the admin API shows it.
type groupView struct {
	GroupID      string `json:"group_id"`
	Name         string `json:"name"`
	Status       string `json:"status"`
	TotalMember  int    `json:"total_member"`
	Link         string `json:"link,omitempty"`
	Province     string `json:"province"`
	ProvinceName string `json:"province_name,omitempty"`
	// Listed is false for a mapping whose group Zalo no longer lists (left or dispersed).
	Listed bool `json:"listed"`
}

func (b *Bot) groupList(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), groupListTimeout)
	defer cancel()
	groups, err := b.client.Groups(ctx)
	if err != nil {
		b.abortError(c, &Error{Code: EUpstream, Message: "listing groups at Zalo failed: " + err.Error(), Err: err})
		return
	}
	links, err := b.o.DB.GroupLinks()
	if err != nil {
		b.abortError(c, err)
		return
	}
	out := make([]groupView, 0, len(groups))
	for _, g := range groups {
		v := groupView{GroupID: g.ID, Name: g.Name, Status: g.Status, TotalMember: g.TotalMember, Link: g.Link, Listed: true}
		if l, ok := links[g.ID]; ok {
			v.Province, v.ProvinceName = l.Province, b.conv.Provinces.Name(l.Province)
			delete(links, g.ID)
		}
		out = append(out, v)
	}
	var stale []groupView
	for _, l := range links {
		stale = append(stale, groupView{GroupID: l.GroupID, Province: l.Province, ProvinceName: b.conv.Provinces.Name(l.Province)})
	}
	sort.Slice(stale, func(i, j int) bool { return stale[i].GroupID < stale[j].GroupID })
	c.JSON(http.StatusOK, gin.H{"groups": append(out, stale...)})
}

func (b *Bot) groupPut(c *gin.Context) {
	gid := c.Param("group_id")
	raw, err := io.ReadAll(io.LimitReader(c.Request.Body, 64<<10))
	if err != nil {
		b.abortError(c, invalid("cannot read body"))
		return
	}
	var body struct {
		Province *string `json:"province"`
	}
	if err := json.Unmarshal(raw, &body); err != nil || body.Province == nil {
		b.abortError(c, invalid(`want a JSON body {"province":"<code or name>"}`))
		return
	}
	code := ""
	if p := strings.TrimSpace(*body.Province); p != "" {
		pr, ok := b.conv.Provinces.Lookup(p)
		if !ok {
			b.abortError(c, &Error{Code: EUnprocessable, Rows: []club.RowError{{Field: "province", Message: "unknown province " + p}}})
			return
		}
		code = pr.Code
	}
	if code != "" {
		// Only a group the OA is in can be mapped: a typo in the id would silently send a
		// province's digests nowhere (-403 at send time).
		ctx, cancel := context.WithTimeout(c.Request.Context(), groupListTimeout)
		defer cancel()
		groups, err := b.client.Groups(ctx)
		if err != nil {
			b.abortError(c, &Error{Code: EUpstream, Message: "listing groups at Zalo failed: " + err.Error(), Err: err})
			return
		}
		if !hasGroup(groups, gid) {
			b.abortError(c, &Error{Code: ENotFound, Message: "the OA is not in group " + gid})
			return
		}
	}
	if err := b.o.DB.SetGroupProvince(gid, code, b.o.Now()); err != nil {
		b.abortError(c, err)
		return
	}
	log := reqLogger(c, b.o.Log)
	log.Info().Str("group", gid).Str("province", code).Msg("group mapped to province")
	v := gin.H{"group_id": gid, "province": code}
	if code != "" {
		v["province_name"] = b.conv.Provinces.Name(code)
	}
	c.JSON(http.StatusOK, v)
}

func hasGroup(gs []zalo.Group, id string) bool {
	for _, g := range gs {
		if g.ID == id {
			return true
		}
	}
	return false
}
