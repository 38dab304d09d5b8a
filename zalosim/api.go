package zalosim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The endpoints the bot calls (CONTRACT.md "What the bot calls at Zalo"), plus the group
// list. Paths are relative to the prefix the handler is mounted at.
const (
	PathMessageCS    = "/v3.0/oa/message/cs"
	PathGroupMessage = "/v3.0/oa/group/message"
	PathUploadImage  = "/v2.0/oa/upload/image"
	PathUserDetail   = "/v3.0/oa/user/detail"
	PathQuotaMessage = "/v3.0/oa/quota/message"
	PathAccessToken  = "/v4/oa/access_token"
	PathGroupsOfOA   = "/v3.0/oa/group/getgroupsofoa"
)

// Zalo error codes the sim answers (API.md §10).
const (
	ErrAttachmentExpired = -100
	ErrInvalidParam      = -201
	ErrOverLimit         = -210
	ErrNotFollower       = -213
	ErrTokenInvalid      = -216
	ErrTokenExpired      = -220
	ErrNoInteraction     = -230
	ErrNotInGroup        = -403
	ErrOAuthApp          = -14002 // OAuth: wrong app id or app secret
	ErrOAuthParam        = -14001 // OAuth: missing parameter or unsupported grant_type
	ErrOAuthToken        = -14014 // OAuth: refresh token invalid, used or expired
)

// Limits of the platform the sim enforces.
const (
	maxText          = 2000               // characters (runes) of a text or caption, §4.2
	maxButtonTitle   = 35                 // button title, §4.3
	maxCardTitle     = 100                // request_user_info title, §4.2
	maxCardSubtitle  = 500                // request_user_info subtitle, §4.2
	maxImage         = 1 << 20            // uploaded image, §8
	maxRequest       = 8 << 20            // whole request; larger bodies get HTTP 413
	window           = 7 * 24 * time.Hour // 1:1 sends need an interaction this recent, §5.1
	freeWindow       = 48 * time.Hour     // replies in this window are free, §5.1
	freeReplies      = 8                  // free replies per 48-hour window, §5.1
	attachmentMaxAge = 7 * 24 * time.Hour // uploaded media expire, §8
)

var errMessages = map[int]string{
	-32:                  "Reached limit call api",
	ErrAttachmentExpired: "Attachment id is expired",
	-200:                 "Send message failed",
	ErrInvalidParam:      "Parameters are invalid",
	ErrOverLimit:         "Parameter exceeds the allowed limit",
	-211:                 "Out of quota",
	ErrNotFollower:       "User has not followed the OA",
	ErrTokenInvalid:      "Access token is invalid",
	ErrTokenExpired:      "Access token has expired or been revoked",
	ErrNoInteraction:     "User has not interacted with the OA in the past 7 days",
	-232:                 "User has not interacted or the interaction has expired",
	-233:                 "Message type is invalid or not supported",
	-237:                 "Group is disabled",
	-240:                 "Message V2 API has been shut down, use V3",
	ErrNotInGroup:        "OA is not in the group",
	ErrOAuthParam:        "Invalid parameter",
	ErrOAuthApp:          "Invalid app id or secret key",
	ErrOAuthToken:        "Invalid refresh token",
}

func errMessage(code int) string {
	if m, ok := errMessages[code]; ok {
		return m
	}
	return "Unknown error"
}

type errBody struct {
	Error   int    `json:"error"`
	Message string `json:"message"`
}

type okBody struct {
	Data    any    `json:"data"`
	Error   int    `json:"error"`
	Message string `json:"message"`
}

type oauthErrBody struct {
	Error            int    `json:"error"`
	ErrorName        string `json:"error_name"`
	ErrorDescription string `json:"error_description"`
}

// result is what an endpoint answers; the wrapper records it.
type result struct {
	status  int // HTTP status; 200 when zero
	code    int // Zalo error code, 0 on success
	body    any
	userID  string
	groupID string
	request string // request as recorded in Calls (secrets masked); the body when empty
	echo    []byte // an oa_send_* event to post after answering (EchoSends)
}

func zerr(code int) result {
	return result{code: code, body: errBody{Error: code, Message: errMessage(code)}}
}

func ok(data any) result {
	return result{body: okBody{Data: data, Error: 0, Message: "Success"}}
}

type route struct {
	method string
	oauth  bool // OAuth endpoint: no access_token, OAuth-style errors
	// fn serves a call; pre is an error already decided (fault injection or token check),
	// which fn answers after recording what it can of the request.
	fn func(r *http.Request, body []byte, pre int) result
}

// APIHandler serves the fake Zalo OA Open API and OAuth endpoint. Mount it at any prefix
// with http.StripPrefix; the bot's zalo.api_base and zalo.oauth_base both point there.
func (s *Sim) APIHandler() http.Handler {
	routes := map[string]route{
		PathMessageCS:    {method: http.MethodPost, fn: s.handleCS},
		PathGroupMessage: {method: http.MethodPost, fn: s.handleGroup},
		PathUploadImage:  {method: http.MethodPost, fn: s.handleUpload},
		PathUserDetail:   {method: http.MethodGet, fn: s.handleUserDetail},
		PathQuotaMessage: {method: http.MethodPost, fn: s.handleQuota},
		PathAccessToken:  {method: http.MethodPost, oauth: true, fn: s.handleToken},
		PathGroupsOfOA:   {method: http.MethodGet, fn: s.handleGroups},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := "/" + strings.TrimPrefix(r.URL.Path, "/")
		rt, found := routes[path]
		if !found {
			writeJSON(w, http.StatusNotFound, errBody{Error: -209, Message: "API is not supported"})
			return
		}
		if r.Method != rt.method {
			w.Header().Set("Allow", rt.method)
			writeJSON(w, http.StatusMethodNotAllowed, errBody{Error: -209, Message: "method not allowed"})
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequest))
		if err != nil {
			writeJSON(w, http.StatusRequestEntityTooLarge, errBody{Error: ErrOverLimit, Message: errMessage(ErrOverLimit)})
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))

		s.mu.Lock()
		s.stats.Calls[path]++
		var res result
		if s.down {
			res = result{status: http.StatusServiceUnavailable, code: 0}
		} else {
			pre := s.takeFault(path)
			if pre == 0 && !rt.oauth {
				pre = s.checkToken(r.Header.Get("access_token"))
			}
			res = rt.fn(r, body, pre)
		}
		status := res.status
		if status == 0 {
			status = http.StatusOK
		}
		var out []byte
		if status == http.StatusServiceUnavailable {
			out = []byte("Service Unavailable\n")
		} else {
			out = marshal(res.body)
		}
		if status != http.StatusOK || res.code != 0 {
			s.stats.Failures[path]++
		}
		req := res.request
		if req == "" {
			req = string(body)
		}
		call := Call{
			Seq: len(s.calls) + 1, At: s.now(), Method: r.Method, Path: path,
			HTTPStatus: status, Error: res.code, UserID: res.userID, GroupID: res.groupID,
			Request: req,
		}
		if status != http.StatusServiceUnavailable {
			call.Response = out
		}
		s.calls = append(s.calls, call)
		s.notify()
		url := s.webhook
		s.mu.Unlock()

		if status == http.StatusServiceUnavailable {
			http.Error(w, "Service Unavailable", status)
		} else {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(status)
			_, _ = w.Write(out)
		}
		if res.echo != nil && url != "" {
			go func() { _, _, _ = s.post(url, res.echo, true) }()
		}
	})
}

// takeFault pops one injected failure for path; s.mu must be held.
func (s *Sim) takeFault(path string) int {
	q := s.faults[path]
	if len(q) == 0 {
		return 0
	}
	code := q[0].code
	q[0].n--
	if q[0].n <= 0 {
		q = q[1:]
	}
	if len(q) == 0 {
		delete(s.faults, path)
	} else {
		s.faults[path] = q
	}
	return code
}

// checkToken validates the access_token header (§7.3): only the latest issued token
// works; it answers -220 once past its expiry. s.mu must be held.
func (s *Sim) checkToken(tok string) int {
	if tok == "" || tok != s.access {
		return ErrTokenInvalid
	}
	if s.now().After(s.accessExp) {
		return ErrTokenExpired
	}
	return 0
}

// sendRequest is the body of /message/cs and /group/message (§4.2, §6.2).
type sendRequest struct {
	Recipient struct {
		UserID  string `json:"user_id"`
		GroupID string `json:"group_id"`
	} `json:"recipient"`
	Message *sendMessage `json:"message"`
}

type sendMessage struct {
	Text           *string `json:"text"`
	QuoteMessageID string  `json:"quote_message_id"`
	Attachment     *struct {
		Type    string `json:"type"`
		Payload struct {
			TemplateType string `json:"template_type"`
			Elements     []struct {
				Title        string `json:"title"`
				Subtitle     string `json:"subtitle"`
				ImageURL     string `json:"image_url"`
				MediaType    string `json:"media_type"`
				URL          string `json:"url"`
				AttachmentID string `json:"attachment_id"`
			} `json:"elements"`
			Buttons []struct {
				Title   string          `json:"title"`
				Type    string          `json:"type"`
				Payload json.RawMessage `json:"payload"`
			} `json:"buttons"`
		} `json:"payload"`
	} `json:"attachment"`
}

// checkMessage validates a message and fills e's display fields. It returns 0 or the
// error code. s.mu must be held.
func (s *Sim) checkMessage(m *sendMessage, userID string, toGroup bool, e *Entry) int {
	e.Kind = "invalid"
	if m == nil {
		return ErrInvalidParam
	}
	text := ""
	if m.Text != nil {
		text = *m.Text
	}
	e.Text = text
	e.QuoteMsgID = m.QuoteMessageID
	if m.Attachment == nil {
		if text == "" {
			return ErrInvalidParam
		}
		e.Kind = "text"
		if utf8.RuneCountInString(text) > maxText {
			return ErrOverLimit
		}
		if m.QuoteMessageID != "" && (toGroup || !s.isUserMsg(userID, m.QuoteMessageID)) {
			// Zalo rejects a quote of a message it does not know (§4.2).
			return ErrInvalidParam
		}
		return 0
	}
	a := m.Attachment
	if a.Type != "template" || m.QuoteMessageID != "" {
		return ErrInvalidParam
	}
	p := a.Payload
	switch p.TemplateType {
	case "list":
		e.Kind = "list"
		if len(p.Elements) > 0 {
			e.Text, e.Subtitle, e.ImageURL = p.Elements[0].Title, p.Elements[0].Subtitle, p.Elements[0].ImageURL
		}
		for _, b := range p.Buttons {
			btn := Button{Title: b.Title, Type: b.Type}
			var str string
			if json.Unmarshal(b.Payload, &str) == nil {
				btn.Payload = str
			} else {
				btn.Payload = string(b.Payload)
			}
			e.Buttons = append(e.Buttons, btn)
		}
		// Group messages never carry buttons (§6.1); 1:1 lists are unconfirmed (§4.3).
		if toGroup || s.noButton {
			return ErrInvalidParam
		}
		if len(p.Elements) == 0 || p.Elements[0].Title == "" {
			return ErrInvalidParam
		}
		for _, b := range p.Buttons {
			if b.Title == "" || len(b.Payload) == 0 {
				return ErrInvalidParam
			}
			if utf8.RuneCountInString(b.Title) > maxButtonTitle {
				return ErrOverLimit
			}
			switch b.Type {
			case "oa.query.hide", "oa.query.show":
				var str string
				if json.Unmarshal(b.Payload, &str) != nil || str == "" {
					return ErrInvalidParam
				}
			case "oa.open.url", "oa.open.phone", "oa.open.sms":
				var obj map[string]any
				if json.Unmarshal(b.Payload, &obj) != nil {
					return ErrInvalidParam
				}
			default:
				return ErrInvalidParam
			}
		}
		return 0
	case "media":
		e.Kind = "image"
		if len(p.Elements) != 1 || p.Elements[0].MediaType != "image" {
			return ErrInvalidParam
		}
		el := p.Elements[0]
		if (el.URL == "") == (el.AttachmentID == "") {
			return ErrInvalidParam // exactly one of url and attachment_id
		}
		if utf8.RuneCountInString(text) > maxText {
			return ErrOverLimit
		}
		if el.URL != "" {
			e.URL = el.URL
			return 0
		}
		e.URL = "api/attachments/" + url.PathEscape(el.AttachmentID)
		att, found := s.atts[el.AttachmentID]
		if !found {
			return ErrInvalidParam
		}
		if s.now().Sub(att.at) > attachmentMaxAge {
			return ErrAttachmentExpired
		}
		return 0
	case "request_user_info":
		e.Kind = "request_user_info"
		if len(p.Elements) != 1 || toGroup {
			return ErrInvalidParam
		}
		el := p.Elements[0]
		e.Text, e.Subtitle, e.ImageURL = el.Title, el.Subtitle, el.ImageURL
		if el.Title == "" {
			return ErrInvalidParam
		}
		if utf8.RuneCountInString(el.Title) > maxCardTitle || utf8.RuneCountInString(el.Subtitle) > maxCardSubtitle {
			return ErrOverLimit
		}
		return 0
	}
	return ErrInvalidParam
}

// isUserMsg reports whether msgID is a message of the user's conversation; s.mu held.
func (s *Sim) isUserMsg(userID, msgID string) bool {
	for _, e := range s.entries {
		if e.UserID == userID && e.MsgID == msgID && e.Error == 0 {
			return true
		}
	}
	return false
}

type quotaInfo struct {
	QuotaType   string `json:"quota_type"`
	Remain      string `json:"remain"`
	Total       string `json:"total"`
	ExpiredDate string `json:"expired_date,omitempty"`
}

type csData struct {
	MessageID string    `json:"message_id"`
	UserID    string    `json:"user_id"`
	Quota     quotaInfo `json:"quota"`
}

func (s *Sim) handleCS(r *http.Request, body []byte, pre int) result {
	var req sendRequest
	perr := json.Unmarshal(body, &req)
	uid := req.Recipient.UserID
	e := &Entry{Dir: "out", UserID: uid, JSON: rawJSON(body)}
	code := s.checkMessage(req.Message, uid, false, e)
	u := s.users[uid]
	switch {
	case pre != 0:
		code = pre
	case perr != nil || uid == "":
		code = ErrInvalidParam
	case code != 0:
	case u == nil || u.unfollowed:
		code = ErrNotFollower
	case u.lastInter.IsZero() || s.now().Sub(u.lastInter) > window:
		code = ErrNoInteraction
	}
	res := result{userID: uid}
	if code != 0 {
		e.Error = code
		s.addEntry(e)
		r2 := zerr(code)
		r2.userID = uid
		return r2
	}
	e.MsgID = s.newMsgID()
	q := s.chargeLocked(u)
	s.stats.Sent++
	s.addEntry(e)
	res = ok(csData{MessageID: e.MsgID, UserID: uid, Quota: q})
	res.userID = uid
	if s.cfg.EchoSends {
		res.echo = s.echoEvent(u, e)
	}
	return res
}

// chargeLocked decides what pays for a 1:1 send (§4.2, §5.1): the first 8 replies within
// 48 h of the last interaction are free ("reply"); the rest use the package allowance.
func (s *Sim) chargeLocked(u *userState) quotaInfo {
	u.sinceInter++
	if s.now().Sub(u.lastInter) <= freeWindow && u.sinceInter <= freeReplies {
		s.stats.Free++
		return quotaInfo{QuotaType: "reply", Remain: strconv.Itoa(freeReplies - u.sinceInter), Total: strconv.Itoa(freeReplies)}
	}
	s.stats.Paid++
	if s.pkgQuota > 0 {
		s.pkgQuota--
	}
	exp := s.now().AddDate(0, 1, 0).In(vnZone).Format("02/01/2006")
	return quotaInfo{QuotaType: "sub_quota", Remain: strconv.Itoa(s.pkgQuota), Total: "2000", ExpiredDate: exp}
}

// vnZone is Vietnam's time (UTC+7, no daylight saving), for the DD/MM/YYYY dates Zalo shows.
var vnZone = time.FixedZone("ICT", 7*3600)

type groupData struct {
	MessageID string `json:"message_id"`
	GroupID   string `json:"group_id"`
}

func (s *Sim) handleGroup(r *http.Request, body []byte, pre int) result {
	var req sendRequest
	perr := json.Unmarshal(body, &req)
	gid := req.Recipient.GroupID
	e := &Entry{Dir: "out", GroupID: gid, JSON: rawJSON(body)}
	code := s.checkMessage(req.Message, "", true, e)
	switch {
	case pre != 0:
		code = pre
	case perr != nil || gid == "":
		code = ErrInvalidParam
	case code != 0:
	case s.groups[gid] == nil:
		code = ErrNotInGroup
	}
	if code != 0 {
		e.Error = code
		s.addEntry(e)
		res := zerr(code)
		res.groupID = gid
		return res
	}
	// Group messages have no interaction window (§6.1).
	e.MsgID = s.newMsgID()
	s.stats.Sent++
	s.addEntry(e)
	res := ok(groupData{MessageID: e.MsgID, GroupID: gid})
	res.groupID = gid
	return res
}

func (s *Sim) handleUpload(r *http.Request, body []byte, pre int) result {
	res := func(code int) result {
		x := zerr(code)
		x.request = "(multipart upload)"
		return x
	}
	if pre != 0 {
		return res(pre)
	}
	if err := r.ParseMultipartForm(maxRequest); err != nil {
		return res(ErrInvalidParam)
	}
	f, hdr, err := r.FormFile("file")
	if err != nil {
		return res(ErrInvalidParam)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return res(ErrInvalidParam)
	}
	if len(data) > maxImage {
		return res(ErrOverLimit)
	}
	ct := http.DetectContentType(data)
	if ct != "image/jpeg" && ct != "image/png" {
		return res(ErrInvalidParam)
	}
	id := randToken()
	s.atts[id] = &attachment{data: data, contentType: ct, at: s.now()}
	x := ok(map[string]string{"attachment_id": id})
	x.request = "(multipart upload: " + hdr.Filename + ", " + strconv.Itoa(len(data)) + " bytes, " + ct + ")"
	return x
}

// Attachment returns an uploaded image.
func (s *Sim) Attachment(id string) (data []byte, contentType string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, found := s.atts[id]
	if !found {
		return nil, "", false
	}
	return a.data, a.contentType, true
}

type userDetail struct {
	UserID          string            `json:"user_id"`
	UserIDByApp     string            `json:"user_id_by_app"`
	UserExternalID  string            `json:"user_external_id"`
	DisplayName     string            `json:"display_name"`
	UserAlias       string            `json:"user_alias"`
	IsSensitive     bool              `json:"is_sensitive"`
	LastInteraction string            `json:"user_last_interaction_date"`
	IsFollower      bool              `json:"user_is_follower"`
	Avatar          string            `json:"avatar"`
	Avatars         map[string]string `json:"avatars"`
	TagsAndNotes    tagsAndNotes      `json:"tags_and_notes_info"`
	SharedInfo      *sharedInfo       `json:"shared_info,omitempty"`
}

type tagsAndNotes struct {
	Notes    []string `json:"notes"`
	TagNames []string `json:"tag_names"`
}

type sharedInfo struct {
	Name     string `json:"name"`
	Phone    string `json:"phone"`
	Address  string `json:"address"`
	City     string `json:"city"`
	District string `json:"district"`
}

// dataParam decodes the `data` query parameter of OA GET endpoints (§4.1).
func dataParam(r *http.Request, v any) error {
	d := r.URL.Query().Get("data")
	if d == "" {
		return errors.New("no data parameter")
	}
	return json.Unmarshal([]byte(d), v)
}

func (s *Sim) handleUserDetail(r *http.Request, body []byte, pre int) result {
	var p struct {
		UserID string `json:"user_id"`
	}
	perr := dataParam(r, &p)
	u := s.users[p.UserID]
	code := pre
	switch {
	case code != 0:
	case perr != nil || p.UserID == "":
		code = ErrInvalidParam
	case u == nil:
		code = ErrNotFollower
	}
	if code != 0 {
		res := zerr(code)
		res.userID = p.UserID
		return res
	}
	d := userDetail{
		UserID: u.ID, UserIDByApp: u.AppUserID, DisplayName: u.Name,
		IsFollower:   u.follower,
		Avatars:      map[string]string{"120": "", "240": ""},
		TagsAndNotes: tagsAndNotes{Notes: []string{}, TagNames: []string{}},
	}
	if !u.lastInter.IsZero() {
		d.LastInteraction = u.lastInter.In(vnZone).Format("02/01/2006")
	}
	if u.shared {
		d.SharedInfo = &sharedInfo{Name: u.sharedName, Phone: u.sharedPhone}
	}
	res := ok(d)
	res.userID = u.ID
	return res
}

type quotaData struct {
	LastInteraction string            `json:"last_interaction"`
	CSReply         map[string]string `json:"cs_reply"`
	Promotion       map[string]string `json:"promotion"`
}

func (s *Sim) handleQuota(r *http.Request, body []byte, pre int) result {
	var p struct {
		UserID string `json:"user_id"`
	}
	perr := json.Unmarshal(body, &p)
	u := s.users[p.UserID]
	code := pre
	switch {
	case code != 0:
	case perr != nil || p.UserID == "":
		code = ErrInvalidParam
	case u == nil:
		code = ErrNotFollower
	}
	if code != 0 {
		res := zerr(code)
		res.userID = p.UserID
		return res
	}
	last := "0"
	remain := 0
	if !u.lastInter.IsZero() {
		last = strconv.FormatInt(u.lastInter.UnixMilli(), 10)
		if s.now().Sub(u.lastInter) <= freeWindow {
			remain = max(0, freeReplies-u.sinceInter)
		}
	}
	res := ok(quotaData{
		LastInteraction: last,
		CSReply:         map[string]string{"remain": strconv.Itoa(remain), "total": strconv.Itoa(freeReplies)},
		Promotion: map[string]string{
			"daily_remain": "1", "daily_total": "1", "monthly_remain": "4", "monthly_total": "4",
		},
	})
	res.userID = u.ID
	return res
}

type groupInfo struct {
	GroupID          string `json:"group_id"`
	Name             string `json:"name"`
	Avatar           string `json:"avatar"`
	GroupLink        string `json:"group_link"`
	GroupDescription string `json:"group_description"`
	TotalMember      int    `json:"total_member"`
	Status           string `json:"status"`
}

type groupsData struct {
	Offset     int         `json:"offset"`
	Count      int         `json:"count"`
	Total      int         `json:"total"`
	GroupCount int         `json:"group_count"`
	Groups     []groupInfo `json:"groups"`
}

func (s *Sim) handleGroups(r *http.Request, body []byte, pre int) result {
	if pre != 0 {
		return zerr(pre)
	}
	q := r.URL.Query()
	offset, err1 := atoiDefault(q.Get("offset"), 0)
	count, err2 := atoiDefault(q.Get("count"), 10)
	if err1 != nil || err2 != nil || offset < 0 || count <= 0 {
		return zerr(ErrInvalidParam)
	}
	all := make([]groupInfo, 0, len(s.gorder))
	for _, id := range s.gorder {
		g := s.groups[id]
		all = append(all, groupInfo{GroupID: g.ID, Name: g.Name, GroupLink: "https://zalo.me/g/" + g.ID, Status: "enabled"})
	}
	page := []groupInfo{}
	if offset < len(all) {
		page = all[offset:min(len(all), offset+count)]
	}
	return ok(groupsData{Offset: offset, Count: len(page), Total: len(all), GroupCount: len(all), Groups: page})
}

func atoiDefault(v string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	return strconv.Atoi(v)
}

type tokenBody struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    string `json:"expires_in"`
}

func oauthErr(code int, desc string) result {
	name := "Invalid parameter"
	if code == ErrOAuthApp {
		name = "Invalid application"
	}
	return result{code: code, body: oauthErrBody{Error: code, ErrorName: name, ErrorDescription: desc}}
}

// handleToken serves the OAuth v4 refresh (§7.2): the refresh token is single use, and each
// success invalidates the previous access token as well (§7.3).
func (s *Sim) handleToken(r *http.Request, body []byte, pre int) result {
	form, _ := url.ParseQuery(string(body))
	get := func(k string) string {
		if v := form.Get(k); v != "" {
			return v
		}
		return r.URL.Query().Get(k)
	}
	masked := url.Values{}
	for k, v := range form {
		masked[k] = v
	}
	if masked.Has("refresh_token") {
		masked.Set("refresh_token", mask(masked.Get("refresh_token")))
	}
	if masked.Has("code_verifier") {
		masked.Set("code_verifier", "***")
	}
	var res result
	switch {
	case pre != 0:
		res = oauthErr(pre, errMessage(pre))
	case get("grant_type") != "refresh_token":
		res = oauthErr(ErrOAuthParam, "grant_type must be refresh_token")
	case get("app_id") != s.cfg.AppID || r.Header.Get("secret_key") != s.cfg.AppSecret:
		res = oauthErr(ErrOAuthApp, "app_id or secret_key is invalid")
	case get("refresh_token") == "" || get("refresh_token") != s.refresh:
		res = oauthErr(ErrOAuthToken, "Invalid refresh token")
	case s.now().After(s.refreshExp):
		res = oauthErr(ErrOAuthToken, "Refresh token has expired")
	default:
		s.access, s.refresh = randToken(), randToken()
		s.accessExp = s.now().Add(s.cfg.AccessTTL)
		s.refreshExp = s.now().Add(refreshTTL)
		s.stats.Refreshes++
		res = result{body: tokenBody{
			AccessToken: s.access, RefreshToken: s.refresh,
			ExpiresIn: strconv.Itoa(int(s.cfg.AccessTTL / time.Second)),
		}}
	}
	res.request = masked.Encode()
	return res
}

func mask(tok string) string {
	if len(tok) <= 4 {
		return "***"
	}
	return tok[:4] + "***"
}

// marshal encodes v as compact JSON without HTML escaping, as Zalo sends it.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only the package's own types are encoded
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// rawJSON returns b as a RawMessage if it is valid JSON, or else as a JSON string.
func rawJSON(b []byte) json.RawMessage {
	if json.Valid(b) {
		return append(json.RawMessage(nil), b...)
	}
	return marshal(string(b))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(marshal(v))
}
