package zalo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

const (
	// DefaultTimeout bounds one OA API call. Sends are small; ten seconds is far above
	// normal latency and short enough that a stuck call does not hold a worker long.
	DefaultTimeout = 10 * time.Second
	// maxResponseBytes caps how much of a response is read: every OA API response is a
	// small JSON object.
	maxResponseBytes = 1 << 20
	// MaxImageBytes is the upload limit for images (API.md §8: JPG/PNG ≤ 1 MB).
	MaxImageBytes = 1 << 20
	// groupPageSize is the page size used by Groups.
	groupPageSize = 50
	// maxGroupPages stops Groups from paging forever on an inconsistent "total".
	maxGroupPages = 200
)

// Config configures a Client.
type Config struct {
	APIBase string        // zalo.api_base, e.g. https://openapi.zalo.me
	Tokens  *TokenManager // supplies the access_token header
	HTTP    *http.Client  // default: a client with DefaultTimeout
	Log     zerolog.Logger
}

// Client calls the Zalo OA Open API (API.md §4, §6, §8). It is safe for concurrent use.
type Client struct {
	base   string
	tokens *TokenManager
	http   *http.Client
	log    zerolog.Logger
}

// New returns a Client.
func New(cfg Config) *Client {
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: DefaultTimeout}
	}
	return &Client{
		base:   strings.TrimRight(cfg.APIBase, "/"),
		tokens: cfg.Tokens,
		http:   cfg.HTTP,
		log:    cfg.Log.With().Str("component", "zalo_api").Logger(),
	}
}

// Result is what a send returns.
type Result struct {
	MessageID string // data.message_id: reappears in receipts and in the oa_send_* echo
	QuotaType string // data.quota.quota_type (reply, sub_quota, ...); empty when none (billed)
}

// SendCS sends a consultation message to a user (POST /v3.0/oa/message/cs, API.md §4.2)
// and returns data.message_id. The user must have interacted with the OA in the last 7
// days (else a WindowClosed error, API.md §5).
func (c *Client) SendCS(ctx context.Context, userID string, m Message) (Result, error) {
	const op = "send cs"
	if userID == "" {
		return Result{}, invalid(op, fmt.Errorf("%w: no user id", ErrInvalidMessage))
	}
	return c.send(ctx, op, "/v3.0/oa/message/cs", recipient{UserID: userID}, m, false)
}

// SendGroup sends text or an image to a GMF group (POST /v3.0/oa/group/message,
// API.md §6.2). Buttons and info cards are not allowed in groups and are rejected before
// calling.
func (c *Client) SendGroup(ctx context.Context, groupID string, m Message) (Result, error) {
	const op = "send group"
	if groupID == "" {
		return Result{}, invalid(op, fmt.Errorf("%w: no group id", ErrInvalidMessage))
	}
	return c.send(ctx, op, "/v3.0/oa/group/message", recipient{GroupID: groupID}, m, true)
}

func (c *Client) send(ctx context.Context, op, path string, to recipient, m Message, group bool) (Result, error) {
	msg, err := buildMessage(m, group)
	if err != nil {
		return Result{}, invalid(op, err)
	}
	body, err := marshal(sendBody{Recipient: to, Message: msg})
	if err != nil {
		return Result{}, invalid(op, err)
	}
	var data struct {
		MessageID string `json:"message_id"`
		Quota     *struct {
			QuotaType string `json:"quota_type"`
		} `json:"quota"`
	}
	if err := c.call(ctx, op, http.MethodPost, path, nil, body, "application/json", &data); err != nil {
		return Result{}, err
	}
	r := Result{MessageID: data.MessageID}
	if data.Quota != nil {
		r.QuotaType = data.Quota.QuotaType
	}
	return r, nil
}

// UploadImage uploads a JPG or PNG image of at most MaxImageBytes (POST
// /v2.0/oa/upload/image, multipart field "file", API.md §8) and returns its
// attachment_id. The id expires after 7 days: upload again rather than caching it longer.
func (c *Client) UploadImage(ctx context.Context, filename string, data []byte) (attachmentID string, err error) {
	const op = "upload image"
	if len(data) == 0 {
		return "", invalid(op, fmt.Errorf("%w: empty image", ErrInvalidMessage))
	}
	if len(data) > MaxImageBytes {
		return "", invalid(op, fmt.Errorf("%w: image is %d bytes, over the limit of %d", ErrInvalidMessage, len(data), MaxImageBytes))
	}
	ctype := http.DetectContentType(data)
	if filename == "" {
		filename = "image"
		if ctype == "image/png" {
			filename += ".png"
		} else {
			filename += ".jpg"
		}
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+quoteEscaper.Replace(filename)+`"`)
	h.Set("Content-Type", ctype)
	part, err := w.CreatePart(h)
	if err == nil {
		_, err = part.Write(data)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return "", invalid(op, err)
	}
	var out struct {
		AttachmentID string `json:"attachment_id"`
	}
	if err := c.call(ctx, op, http.MethodPost, "/v2.0/oa/upload/image", nil, buf.Bytes(), w.FormDataContentType(), &out); err != nil {
		return "", err
	}
	if out.AttachmentID == "" {
		return "", &Error{Op: op, Message: "response has no attachment_id", HTTPStatus: http.StatusOK, Class: Alert}
	}
	return out.AttachmentID, nil
}

var quoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", "", "\n", "")

// UserDetail is a user's profile (GET /v3.0/oa/user/detail, API.md §8).
type UserDetail struct {
	UserID              string
	UserIDByApp         string
	UserExternalID      string
	DisplayName         string
	Alias               string
	Avatar              string
	IsFollower          bool
	IsSensitive         bool
	LastInteractionDate string // "DD/MM/YYYY" as Zalo sends it
	TagNames            []string
	SharedInfo          SharedInfo // filled only after the user shared info (info card)
}

// SharedInfo is what the user shared through a request_user_info card.
type SharedInfo struct {
	Name, Phone, Address, City, District string
}

// UserDetail returns a user's profile (GET /v3.0/oa/user/detail?data={"user_id":"…"}).
func (c *Client) UserDetail(ctx context.Context, userID string) (UserDetail, error) {
	const op = "user detail"
	if userID == "" {
		return UserDetail{}, invalid(op, fmt.Errorf("%w: no user id", ErrInvalidMessage))
	}
	q, err := dataParam(map[string]string{"user_id": userID})
	if err != nil {
		return UserDetail{}, invalid(op, err)
	}
	var d struct {
		UserID              flexString      `json:"user_id"`
		UserIDByApp         flexString      `json:"user_id_by_app"`
		UserExternalID      flexString      `json:"user_external_id"`
		DisplayName         string          `json:"display_name"`
		UserAlias           string          `json:"user_alias"`
		Avatar              string          `json:"avatar"`
		IsFollower          flexBool        `json:"user_is_follower"`
		IsSensitive         flexBool        `json:"is_sensitive"`
		LastInteractionDate string          `json:"user_last_interaction_date"`
		TagsAndNotes        json.RawMessage `json:"tags_and_notes_info"`
		SharedInfo          *struct {
			Name     string     `json:"name"`
			Phone    flexString `json:"phone"`
			Address  string     `json:"address"`
			City     string     `json:"city"`
			District string     `json:"district"`
		} `json:"shared_info"`
	}
	if err := c.call(ctx, op, http.MethodGet, "/v3.0/oa/user/detail", q, nil, "", &d); err != nil {
		return UserDetail{}, err
	}
	u := UserDetail{
		UserID: string(d.UserID), UserIDByApp: string(d.UserIDByApp), UserExternalID: string(d.UserExternalID),
		DisplayName: d.DisplayName, Alias: d.UserAlias, Avatar: d.Avatar,
		IsFollower: bool(d.IsFollower), IsSensitive: bool(d.IsSensitive),
		LastInteractionDate: d.LastInteractionDate,
	}
	if s := d.SharedInfo; s != nil {
		u.SharedInfo = SharedInfo{Name: s.Name, Phone: string(s.Phone), Address: s.Address, City: s.City, District: s.District}
	}
	// Tags are decoded leniently: their shape is secondary to the profile.
	var tags struct {
		TagNames []string `json:"tag_names"`
	}
	if len(d.TagsAndNotes) > 0 && json.Unmarshal(d.TagsAndNotes, &tags) == nil {
		u.TagNames = tags.TagNames
	}
	return u, nil
}

// Quota is a user's message quota and last interaction (POST /v3.0/oa/quota/message,
// API.md §5.1). Counters Zalo did not report are -1 (the 2026 policy reportedly removes
// some of them).
type Quota struct {
	LastInteraction        time.Time // from data.last_interaction (epoch ms); zero when absent
	ReplyRemain            int       // cs_reply.remain
	ReplyTotal             int       // cs_reply.total
	PromotionDailyRemain   int
	PromotionDailyTotal    int
	PromotionMonthlyRemain int
	PromotionMonthlyTotal  int
}

// Quota returns the user's quota and last interaction time.
func (c *Client) Quota(ctx context.Context, userID string) (Quota, error) {
	const op = "quota"
	if userID == "" {
		return Quota{}, invalid(op, fmt.Errorf("%w: no user id", ErrInvalidMessage))
	}
	body, err := marshal(map[string]string{"user_id": userID})
	if err != nil {
		return Quota{}, invalid(op, err)
	}
	var d struct {
		LastInteraction flexInt `json:"last_interaction"`
		CSReply         struct {
			Remain *flexInt `json:"remain"`
			Total  *flexInt `json:"total"`
		} `json:"cs_reply"`
		Promotion struct {
			DailyRemain   *flexInt `json:"daily_remain"`
			DailyTotal    *flexInt `json:"daily_total"`
			MonthlyRemain *flexInt `json:"monthly_remain"`
			MonthlyTotal  *flexInt `json:"monthly_total"`
		} `json:"promotion"`
	}
	if err := c.call(ctx, op, http.MethodPost, "/v3.0/oa/quota/message", nil, body, "application/json", &d); err != nil {
		return Quota{}, err
	}
	q := Quota{
		ReplyRemain:            orMinus1(d.CSReply.Remain),
		ReplyTotal:             orMinus1(d.CSReply.Total),
		PromotionDailyRemain:   orMinus1(d.Promotion.DailyRemain),
		PromotionDailyTotal:    orMinus1(d.Promotion.DailyTotal),
		PromotionMonthlyRemain: orMinus1(d.Promotion.MonthlyRemain),
		PromotionMonthlyTotal:  orMinus1(d.Promotion.MonthlyTotal),
	}
	if d.LastInteraction > 0 {
		q.LastInteraction = time.UnixMilli(int64(d.LastInteraction)).UTC()
	}
	return q, nil
}

func orMinus1(p *flexInt) int {
	if p == nil {
		return -1
	}
	return int(*p)
}

// Group is a GMF group of the OA (API.md §6.2).
type Group struct {
	ID          string
	Name        string
	Avatar      string
	Link        string
	Description string
	TotalMember int
	Status      string // "enabled" or "disabled" (-237 when sending to a disabled group)
}

// Enabled reports whether messages can be sent to the group.
func (g Group) Enabled() bool { return g.Status == "" || g.Status == "enabled" }

// Groups lists all the OA's groups (GET /v3.0/oa/group/getgroupsofoa?offset=…&count=50),
// paging until all are read.
func (c *Client) Groups(ctx context.Context) ([]Group, error) {
	const op = "list groups"
	var all []Group
	offset := 0
	for page := 0; page < maxGroupPages; page++ {
		q := url.Values{"offset": {strconv.Itoa(offset)}, "count": {strconv.Itoa(groupPageSize)}}
		var d struct {
			Total  flexInt `json:"total"`
			Groups []struct {
				GroupID          flexString `json:"group_id"`
				Name             string     `json:"name"`
				Avatar           string     `json:"avatar"`
				GroupLink        string     `json:"group_link"`
				GroupDescription string     `json:"group_description"`
				TotalMember      flexInt    `json:"total_member"`
				Status           string     `json:"status"`
			} `json:"groups"`
		}
		if err := c.call(ctx, op, http.MethodGet, "/v3.0/oa/group/getgroupsofoa", q, nil, "", &d); err != nil {
			return nil, err
		}
		for _, g := range d.Groups {
			all = append(all, Group{
				ID: string(g.GroupID), Name: g.Name, Avatar: g.Avatar, Link: g.GroupLink,
				Description: g.GroupDescription, TotalMember: int(g.TotalMember), Status: g.Status,
			})
		}
		offset += len(d.Groups)
		if len(d.Groups) < groupPageSize || (d.Total > 0 && offset >= int(d.Total)) {
			return all, nil
		}
	}
	return all, nil
}

// call performs one OA API call with the current access token. On -216/-220 it refreshes
// once and retries once (API.md §7.3 rule 3); a second token error is returned as is, so
// that a broken token can never loop.
func (c *Client) call(ctx context.Context, op, method, path string, query url.Values, body []byte, ctype string, out any) error {
	if c.tokens == nil {
		return &Error{Op: op, Message: "no token manager configured", Class: Alert, Err: ErrNoTokens}
	}
	tok, err := c.tokens.Access(ctx)
	if err != nil {
		return err
	}
	err = c.do(ctx, op, method, path, query, body, ctype, tok, out)
	if e, ok := AsError(err); ok && e.Class == RefreshToken {
		c.log.Info().Str("op", op).Int("code", e.Code).Msg("zalo rejected the access token; refreshing once")
		fresh, rerr := c.tokens.Refresh(ctx, tok)
		if rerr != nil {
			return rerr
		}
		return c.do(ctx, op, method, path, query, body, ctype, fresh, out)
	}
	return err
}

// do performs one HTTP exchange and decodes the {"error","message","data"} envelope
// (API.md §4.1): HTTP 200 with error != 0 is a Zalo error; 5xx, transport failures and
// non-JSON bodies are Retry.
func (c *Client) do(ctx context.Context, op, method, path string, query url.Values, body []byte, ctype, tok string, out any) error {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return &Error{Op: op, Message: "building the request", Class: Alert, Err: err}
	}
	req.Header.Set("access_token", tok)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return &Error{Op: op, Class: Retry, Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return &Error{Op: op, Message: "reading the response", HTTPStatus: resp.StatusCode, Class: Retry, Err: err}
	}
	status := resp.StatusCode
	if status >= 500 {
		return &Error{Op: op, Message: "server error", HTTPStatus: status, Class: Retry}
	}
	var env struct {
		Error   *flexInt        `json:"error"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return &Error{Op: op, Message: "response is not JSON", HTTPStatus: status, Class: statusClass(status), Err: err}
	}
	code := 0
	if env.Error != nil {
		code = int(*env.Error)
	}
	c.log.Debug().Str("op", op).Int("status", status).Int("code", code).
		Dur("took", time.Since(start)).Msg("zalo api call")
	if code != 0 {
		return &Error{Op: op, Code: code, Message: env.Message, HTTPStatus: status, Class: Classify(code)}
	}
	if status != http.StatusOK {
		return &Error{Op: op, Message: "unexpected HTTP status", HTTPStatus: status, Class: statusClass(status)}
	}
	if out != nil && len(env.Data) > 0 && string(env.Data) != "null" {
		if err := json.Unmarshal(env.Data, out); err != nil {
			// The call succeeded (a message may have been sent): retrying could
			// duplicate it, so this needs a developer, not a retry.
			return &Error{Op: op, Message: "unexpected response data", HTTPStatus: status, Class: Alert, Err: err}
		}
	}
	return nil
}

// statusClass classifies a non-200 HTTP status that carries no Zalo error code.
func statusClass(status int) Class {
	switch {
	case status == http.StatusOK, status >= 500,
		status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
		return Retry
	}
	return Alert
}

// invalid wraps a request rejected before sending. Too-long text is Fallback (the caller
// splits it, as for -210); anything else is a bug in the caller: Alert.
func invalid(op string, err error) *Error {
	class := Alert
	if errors.Is(err, ErrTextTooLong) {
		class = Fallback
	}
	return &Error{Op: op, Class: class, Err: err}
}

// marshal encodes v as JSON without HTML escaping, so Vietnamese text and "&" go out as
// written.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// dataParam builds the query of an OA API GET: one parameter "data" holding JSON
// (API.md §4.1).
func dataParam(v any) (url.Values, error) {
	b, err := marshal(v)
	if err != nil {
		return nil, err
	}
	return url.Values{"data": {string(b)}}, nil
}

// flexString decodes a JSON string or number into a string, keeping the digits of a
// number exactly (ids can exceed 2^53).
type flexString string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*f = flexString(n.String())
	}
	return nil
}

// flexBool decodes true/false, "true"/"false" or 1/0.
type flexBool bool

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexBool) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	switch strings.ToLower(s) {
	case "true", "1":
		*f = true
	case "false", "0", "", "null":
		*f = false
	default:
		return fmt.Errorf("not a boolean: %s", b)
	}
	return nil
}
