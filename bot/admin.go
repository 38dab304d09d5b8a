package bot

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"clubbot/club"
	"clubbot/flows"
)

// The admin API (CONTRACT.md "Admin API"): JSON under /api/v1 behind a bearer token.

// ErrorCode classifies an admin API error; errorResponse maps it to an HTTP status.
type ErrorCode string

// Error codes of the admin API.
const (
	EInvalid       ErrorCode = "invalid"       // a bad query or body: 400
	EUnauthorized  ErrorCode = "unauthorized"  // no or wrong bearer token: 401
	ENotFound      ErrorCode = "not_found"     // 404
	ETooLarge      ErrorCode = "too_large"     // a body over the limit: 413
	EUnprocessable ErrorCode = "unprocessable" // rows of an import are wrong: 422 with Rows
	EUpstream      ErrorCode = "upstream"      // Zalo failed or could not be reached: 502
	EInternal      ErrorCode = "internal"      // the store failed: 500, the cause is logged only
)

// Error is the admin API's one error type. Message is shown to the caller; Err, the cause,
// is only logged.
type Error struct {
	Code    ErrorCode
	Message string
	Rows    []club.RowError // EUnprocessable: every bad row, with line and field
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return string(e.Code) + ": " + e.Message + ": " + e.Err.Error()
	}
	return string(e.Code) + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// errorResponse is the one place an error becomes an HTTP status and body. 422 bodies are
// {"errors":[{"line":N,"field":"…","message":"…"}]} (imports) or {"errors":[{"line":N,
// "message":"…"}]} (flow templates); every other error is {"error":"…"}.
func errorResponse(err error) (int, any) {
	var ae *Error
	var ie *club.ImportError
	var ve *flows.ValidationError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		switch ae.Code {
		case EInvalid:
			return http.StatusBadRequest, gin.H{"error": ae.Message}
		case EUnauthorized:
			return http.StatusUnauthorized, gin.H{"error": ae.Message}
		case ENotFound:
			return http.StatusNotFound, gin.H{"error": ae.Message}
		case ETooLarge:
			return http.StatusRequestEntityTooLarge, gin.H{"error": ae.Message}
		case EUnprocessable:
			return http.StatusUnprocessableEntity, gin.H{"errors": ae.Rows}
		case EUpstream:
			return http.StatusBadGateway, gin.H{"error": ae.Message}
		}
	case errors.As(err, &ie):
		return http.StatusUnprocessableEntity, gin.H{"errors": ie.Errors}
	case errors.As(err, &ve):
		return http.StatusUnprocessableEntity, gin.H{"errors": ve.Errors}
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, gin.H{"error": "nội dung quá lớn"}
	}
	return http.StatusInternalServerError, gin.H{"error": "lỗi máy chủ, xem nhật ký"}
}

// abortError answers err and logs it once: server errors with their cause, the caller's
// mistakes at debug level.
func (b *Bot) abortError(c *gin.Context, err error) {
	status, body := errorResponse(err)
	log := reqLogger(c, b.o.Log)
	if status >= 500 {
		log.Error().Err(err).Str("path", c.FullPath()).Msg("admin api")
	} else {
		log.Debug().Err(err).Int("status", status).Str("path", c.FullPath()).Msg("admin api")
	}
	c.AbortWithStatusJSON(status, body)
}

func invalid(msg string) error { return &Error{Code: EInvalid, Message: msg} }

// mountAdmin registers the admin API. With admin.api_token empty the API is off: nothing
// is registered and every path answers 404. Every /api/v1 route belongs in this function,
// behind the token check.
func (b *Bot) mountAdmin(r *gin.Engine) {
	if b.o.AdminToken == "" {
		return
	}
	api := r.Group("/api/v1", b.adminAuth(b.o.AdminToken))
	api.POST("/clubs/import", b.importClubs)
	api.POST("/officers/import", b.importOfficers)
	api.GET("/clubs", b.listClubs)
	api.GET("/reports", b.exportReports)
}

// adminAuth accepts "Authorization: Bearer <token>". Both tokens are hashed before the
// constant-time comparison, so neither the token's bytes nor its length leak through
// timing.
func (b *Bot) adminAuth(token string) gin.HandlerFunc {
	want := sha256.Sum256([]byte(token))
	return func(c *gin.Context) {
		scheme, got, _ := strings.Cut(c.GetHeader("Authorization"), " ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			c.Header("WWW-Authenticate", `Bearer realm="clubbot admin"`)
			b.abortError(c, &Error{Code: EUnauthorized, Message: "cần Authorization: Bearer <admin.api_token>"})
			return
		}
		c.Next()
	}
}

// province resolves a province query value (a code or a current or former name, like the
// imports); empty means every province.
func (b *Bot) province(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	p, ok := b.conv.Provinces.Lookup(v)
	if !ok {
		return "", invalid("province: không nhận ra tỉnh/thành “" + v + "” (mã trong provinces.csv, ví dụ tuyen-quang)")
	}
	return p.Code, nil
}

// checkParams refuses query parameters the endpoint does not know: a misspelt filter
// (provice=…) would otherwise silently return every province.
func checkParams(c *gin.Context, allowed ...string) error {
	var bad []string
	for k := range c.Request.URL.Query() {
		if !slices.Contains(allowed, k) {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return invalid("tham số không dùng được: " + strings.Join(bad, ", ") + " (dùng: " + strings.Join(allowed, ", ") + ")")
}

// linkedUser is a Zalo user linked to a club, as the clubs list shows it.
type linkedUser struct {
	ID          string    `json:"id"`
	Name        string    `json:"name,omitempty"`
	Phone       string    `json:"phone,omitempty"`
	Role        string    `json:"role"`
	Following   bool      `json:"following"`
	LinkedAt    time.Time `json:"linked_at,omitzero"`
	LastInbound time.Time `json:"last_inbound,omitzero"`
}

// clubView is one club of GET /api/v1/clubs.
type clubView struct {
	club.Club
	ProvinceName string       `json:"province_name"`
	ChairUser    *linkedUser  `json:"chair_user"`   // the Zalo user linked as chair, null if none
	LinkedUsers  []linkedUser `json:"linked_users"` // every active link to the club (chair and board members)
}

// listClubs answers GET /api/v1/clubs?province=CODE: the clubs, each with the Zalo user
// linked as its chair (role chair, this club, link active), if any.
func (b *Bot) listClubs(c *gin.Context) {
	if err := checkParams(c, "province"); err != nil {
		b.abortError(c, err)
		return
	}
	prov, err := b.province(c.Query("province"))
	if err != nil {
		b.abortError(c, err)
		return
	}
	clubs, err := b.o.DB.Clubs(prov)
	if err != nil {
		b.abortError(c, err)
		return
	}
	users, err := b.o.DB.Users()
	if err != nil {
		b.abortError(c, err)
		return
	}
	links := map[string][]linkedUser{}
	for _, u := range users {
		if u.Active && u.ClubCode != "" {
			links[u.ClubCode] = append(links[u.ClubCode], linkedUser{ID: u.ID, Name: u.Name, Phone: u.Phone,
				Role: u.Role, Following: u.Following, LinkedAt: u.LinkedAt, LastInbound: u.LastInbound})
		}
	}
	out := make([]clubView, 0, len(clubs))
	for _, cl := range clubs {
		v := clubView{Club: cl, ProvinceName: b.conv.Provinces.Name(cl.Province), LinkedUsers: links[cl.Code]}
		if v.LinkedUsers == nil {
			v.LinkedUsers = []linkedUser{}
		}
		sort.Slice(v.LinkedUsers, func(i, j int) bool { return v.LinkedUsers[i].LinkedAt.After(v.LinkedUsers[j].LinkedAt) })
		for i := range v.LinkedUsers {
			if v.LinkedUsers[i].Role == club.RoleChair { // the most recently linked chair
				v.ChairUser = &v.LinkedUsers[i]
				break
			}
		}
		out = append(out, v)
	}
	c.JSON(http.StatusOK, gin.H{"clubs": out})
}
