package zalo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	testUser  = "8309393969811122233"
	testGroup = "f414c8f76fa586fbdfb4"
)

// jsonEqual compares two JSON documents semantically.
func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want JSON: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}

func TestSendRequestShapes(t *testing.T) {
	tests := []struct {
		name  string
		group bool
		msg   Message
		want  string // the JSON body (API.md §4.2, §4.3, §6.2)
	}{
		{
			name: "text",
			msg:  Message{Text: "Cảm ơn bác. Báo cáo đã được ghi nhận."},
			want: `{"recipient":{"user_id":"8309393969811122233"},"message":{"text":"Cảm ơn bác. Báo cáo đã được ghi nhận."}}`,
		},
		{
			name: "quote",
			msg:  Message{Text: "Đã nhận & ghi <lại>", QuoteMsgID: "cb31dff1c39642cc1b83"},
			want: `{"recipient":{"user_id":"8309393969811122233"},"message":{"text":"Đã nhận & ghi <lại>","quote_message_id":"cb31dff1c39642cc1b83"}}`,
		},
		{
			name: "image attachment id with caption",
			msg:  Message{Text: "Biểu đồ tháng 11", AttachmentID: "att-123"},
			want: `{"recipient":{"user_id":"8309393969811122233"},"message":{"text":"Biểu đồ tháng 11","attachment":{"type":"template","payload":{"template_type":"media","elements":[{"media_type":"image","attachment_id":"att-123"}]}}}}`,
		},
		{
			name: "image url",
			msg:  Message{ImageURL: "https://example.org/chart.png"},
			want: `{"recipient":{"user_id":"8309393969811122233"},"message":{"attachment":{"type":"template","payload":{"template_type":"media","elements":[{"media_type":"image","url":"https://example.org/chart.png"}]}}}}`,
		},
		{
			name: "buttons",
			msg: Message{Text: "Bác chọn mảng hoạt động\nChạm vào một nút", Buttons: []Button{
				{Title: "Thu nhập", Payload: "#area:income"}, {Title: "Sức khỏe", Payload: "#area:health"}}},
			want: `{"recipient":{"user_id":"8309393969811122233"},"message":{"attachment":{"type":"template","payload":{
				"template_type":"list",
				"elements":[{"title":"Bác chọn mảng hoạt động","subtitle":"Chạm vào một nút"}],
				"buttons":[{"title":"Thu nhập","type":"oa.query.hide","payload":"#area:income"},
				           {"title":"Sức khỏe","type":"oa.query.hide","payload":"#area:health"}]}}}}`,
		},
		{
			name: "buttons single line",
			msg:  Message{Text: "Xác nhận báo cáo?", Buttons: []Button{{Title: "Đồng ý", Payload: "#yes"}}},
			want: `{"recipient":{"user_id":"8309393969811122233"},"message":{"attachment":{"type":"template","payload":{
				"template_type":"list","elements":[{"title":"Xác nhận báo cáo?"}],
				"buttons":[{"title":"Đồng ý","type":"oa.query.hide","payload":"#yes"}]}}}}`,
		},
		{
			name: "info card",
			msg: Message{InfoCard: &InfoCard{Title: "Xác nhận chủ nhiệm CLB",
				Subtitle: "Bác vui lòng chia sẻ số điện thoại để hệ thống nhận ra câu lạc bộ của bác.",
				ImageURL: "https://example.org/clb-card.png"}},
			want: `{"recipient":{"user_id":"8309393969811122233"},"message":{"attachment":{"type":"template","payload":{
				"template_type":"request_user_info",
				"elements":[{"title":"Xác nhận chủ nhiệm CLB",
				             "subtitle":"Bác vui lòng chia sẻ số điện thoại để hệ thống nhận ra câu lạc bộ của bác.",
				             "image_url":"https://example.org/clb-card.png"}]}}}}`,
		},
		{
			name:  "group text",
			group: true,
			msg:   Message{Text: "Nhắc họp CLB tháng 12"},
			want:  `{"recipient":{"group_id":"f414c8f76fa586fbdfb4"},"message":{"text":"Nhắc họp CLB tháng 12"}}`,
		},
		{
			name:  "group image",
			group: true,
			msg:   Message{Text: "Tổng hợp", ImageURL: "https://example.org/d.png"},
			want:  `{"recipient":{"group_id":"f414c8f76fa586fbdfb4"},"message":{"text":"Tổng hợp","attachment":{"type":"template","payload":{"template_type":"media","elements":[{"media_type":"image","url":"https://example.org/d.png"}]}}}}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.fake.api = func(r apiRequest) string {
				if tc.group {
					return `{"data":{"message_id":"a1b2c3d4e5f6a7b8c9d0","group_id":"f414c8f76fa586fbdfb4"},"error":0,"message":"Success"}`
				}
				return `{"data":{"message_id":"63ecf43f0df7dba892e6","user_id":"8309393969811122233","quota":{"quota_type":"reply","remain":"7","total":"8"}},"error":0,"message":"Success"}`
			}
			var res Result
			var err error
			wantPath, wantRes := "/v3.0/oa/message/cs", Result{MessageID: "63ecf43f0df7dba892e6", QuotaType: "reply"}
			if tc.group {
				res, err = e.client.SendGroup(context.Background(), testGroup, tc.msg)
				wantPath, wantRes = "/v3.0/oa/group/message", Result{MessageID: "a1b2c3d4e5f6a7b8c9d0"}
			} else {
				res, err = e.client.SendCS(context.Background(), testUser, tc.msg)
			}
			if err != nil {
				t.Fatal(err)
			}
			if res != wantRes {
				t.Errorf("result = %+v, want %+v", res, wantRes)
			}
			_, reqs := e.fake.stats()
			if len(reqs) != 1 {
				t.Fatalf("requests = %d, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != http.MethodPost || r.Path != wantPath || r.Token != accessToken(0) || r.ContentType != "application/json" {
				t.Errorf("request = %s %s token %q type %q", r.Method, r.Path, r.Token, r.ContentType)
			}
			jsonEqual(t, r.Body, tc.want)
		})
	}
}

func TestSendRejectedBeforeCalling(t *testing.T) {
	long := strings.Repeat("ê", MaxTextRunes+1)
	tests := []struct {
		name  string
		group bool
		msg   Message
		is    error
		class Class
	}{
		{"text over 2000 runes", false, Message{Text: long}, ErrTextTooLong, Fallback},
		{"caption over 2000 runes", false, Message{Text: long, ImageURL: "https://example.org/x.png"}, ErrTextTooLong, Fallback},
		{"group text over 2000 runes", true, Message{Text: long}, ErrTextTooLong, Fallback},
		{"buttons in group", true, Message{Text: "Chọn", Buttons: []Button{{Title: "A", Payload: "#a"}}}, ErrInvalidMessage, Alert},
		{"info card in group", true, Message{InfoCard: &InfoCard{Title: "T"}}, ErrInvalidMessage, Alert},
		{"empty", false, Message{}, ErrInvalidMessage, Alert},
		{"blank", false, Message{Text: " \n "}, ErrInvalidMessage, Alert},
		{"button title over 35", false, Message{Text: "Chọn", Buttons: []Button{{Title: strings.Repeat("x", 36), Payload: "#a"}}}, ErrInvalidMessage, Alert},
		{"button without payload", false, Message{Text: "Chọn", Buttons: []Button{{Title: "A"}}}, ErrInvalidMessage, Alert},
		{"buttons without text", false, Message{Buttons: []Button{{Title: "A", Payload: "#a"}}}, ErrInvalidMessage, Alert},
		{"buttons with image", false, Message{Text: "x", ImageURL: "https://e/x.png", Buttons: []Button{{Title: "A", Payload: "#a"}}}, ErrInvalidMessage, Alert},
		{"url and attachment", false, Message{ImageURL: "https://e/x.png", AttachmentID: "a"}, ErrInvalidMessage, Alert},
		{"info card with text", false, Message{Text: "x", InfoCard: &InfoCard{Title: "T"}}, ErrInvalidMessage, Alert},
		{"info card title over 100", false, Message{InfoCard: &InfoCard{Title: strings.Repeat("t", 101)}}, ErrInvalidMessage, Alert},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			var err error
			if tc.group {
				_, err = e.client.SendGroup(context.Background(), testGroup, tc.msg)
			} else {
				_, err = e.client.SendCS(context.Background(), testUser, tc.msg)
			}
			if !errors.Is(err, tc.is) {
				t.Fatalf("error = %v, want %v", err, tc.is)
			}
			if ClassOf(err) != tc.class {
				t.Errorf("class = %v, want %v", ClassOf(err), tc.class)
			}
			if _, reqs := e.fake.stats(); len(reqs) != 0 {
				t.Errorf("requests = %d, want none", len(reqs))
			}
		})
	}
}

func TestSendExactly2000Runes(t *testing.T) {
	e := newEnv(t)
	text := strings.Repeat("ữ", MaxTextRunes-1) + "👍"
	if _, err := e.client.SendCS(context.Background(), testUser, Message{Text: text}); err != nil {
		t.Fatalf("2,000 runes rejected: %v", err)
	}
}

func TestSendRefreshesOnceOnTokenError(t *testing.T) {
	for _, code := range []int{-216, -220} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			e := newEnv(t, func(c *TokenManagerConfig) { c.Bootstrap.Access = "acc-stale-token-0123456789" })
			e.fake.mu.Lock()
			e.fake.access = "acc-stale-token-0123456789" // accepted until the test revokes it
			e.fake.mu.Unlock()
			e.fake.api = func(r apiRequest) string {
				if r.Token == "acc-stale-token-0123456789" {
					return fmt.Sprintf(`{"error":%d,"message":"Access token has expired"}`, code)
				}
				return `{"data":{"message_id":"63ecf43f0df7dba892e6"},"error":0,"message":"Success"}`
			}
			res, err := e.client.SendCS(context.Background(), testUser, Message{Text: "a"})
			if err != nil {
				t.Fatal(err)
			}
			if res.MessageID != "63ecf43f0df7dba892e6" {
				t.Errorf("message id = %q", res.MessageID)
			}
			calls, reqs := e.fake.stats()
			if calls != 1 || len(reqs) != 2 {
				t.Fatalf("refresh calls = %d, requests = %d; want 1 and 2", calls, len(reqs))
			}
			if reqs[0].Token != "acc-stale-token-0123456789" || reqs[1].Token != accessToken(1) {
				t.Errorf("tokens used = %q, %q", reqs[0].Token, reqs[1].Token)
			}
			if !bytes.Equal(reqs[0].Body, reqs[1].Body) {
				t.Errorf("the retry sent a different body")
			}
		})
	}
}

func TestSendSecondTokenErrorIsReturned(t *testing.T) {
	e := newEnv(t)
	e.fake.api = func(apiRequest) string { return `{"error":-216,"message":"Access token is invalid"}` }
	_, err := e.client.SendCS(context.Background(), testUser, Message{Text: "a"})
	ze, ok := AsError(err)
	if !ok || ze.Code != -216 || ze.Class != RefreshToken || ze.Op != "send cs" {
		t.Fatalf("error = %v, want -216 from send cs", err)
	}
	calls, reqs := e.fake.stats()
	if calls != 1 || len(reqs) != 2 {
		t.Errorf("refresh calls = %d, requests = %d; want 1 and 2 (no loop)", calls, len(reqs))
	}
	for _, tok := range []string{accessToken(0), accessToken(1)} {
		if strings.Contains(err.Error(), tok) {
			t.Errorf("error text contains a token: %v", err)
		}
	}
}

func TestSendPausesWhenReauthNeeded(t *testing.T) {
	e := newEnv(t, func(c *TokenManagerConfig) {
		c.Bootstrap.Access = "acc-stale-token-0123456789"
		c.Bootstrap.Refresh = "ref-wrong-token-0123456789"
	})
	_, err := e.client.SendCS(context.Background(), testUser, Message{Text: "a"})
	if !errors.Is(err, ErrNeedsReauth) || !e.tokens.NeedsReauth() {
		t.Fatalf("error = %v, NeedsReauth = %v; want ErrNeedsReauth", err, e.tokens.NeedsReauth())
	}
	if _, reqs := e.fake.stats(); len(reqs) != 1 {
		t.Errorf("requests = %d, want 1 (no retry without a new token)", len(reqs))
	}
}

func TestZaloErrorsClassified(t *testing.T) {
	tests := []struct {
		body  string
		code  int
		class Class
	}{
		{`{"error":-230,"message":"User has not interacted with the OA in the past 7 days"}`, -230, WindowClosed},
		{`{"error":-232,"message":"interaction expired"}`, -232, WindowClosed},
		{`{"error":-201,"message":"Parameters are invalid"}`, -201, Fallback},
		{`{"error":-32,"message":"reached limit call api"}`, -32, Retry},
		{`{"error":-237,"message":"group disabled"}`, -237, Alert},
		{`{"error":"-213","message":"user not follower"}`, -213, WindowClosed},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			e := newEnv(t)
			e.fake.api = func(apiRequest) string { return tc.body }
			_, err := e.client.SendCS(context.Background(), testUser, Message{Text: "a"})
			ze, ok := AsError(err)
			if !ok || ze.Code != tc.code || ze.Class != tc.class || ze.HTTPStatus != 200 {
				t.Fatalf("error = %#v, want code %d class %v", err, tc.code, tc.class)
			}
			if calls, reqs := e.fake.stats(); calls != 0 || len(reqs) != 1 {
				t.Errorf("refresh calls = %d, requests = %d; want 0 and 1", calls, len(reqs))
			}
		})
	}
}

func TestTransportErrors(t *testing.T) {
	slow := func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // so that the server notices the client hanging up
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc // nil: connection refused
		class   Class
		status  int
	}{
		{"http 502", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "bad gateway", 502) }, Retry, 502},
		{"http 500 with json", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			io.WriteString(w, `{"error":-201,"message":"x"}`)
		}, Retry, 500},
		{"non-JSON 200", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>maintenance</html>") }, Retry, 200},
		{"empty 200", func(w http.ResponseWriter, r *http.Request) {}, Retry, 200},
		{"http 429", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "slow down", 429) }, Retry, 429},
		{"timeout", slow, Retry, 0},
		{"connection refused", nil, Retry, 0},
		{"http 404 not JSON", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, Alert, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tm := NewTokenManager(TokenManagerConfig{Bootstrap: Tokens{Access: accessToken(0), Refresh: refreshToken(0)}})
			var base string
			if tc.handler != nil {
				srv := httptest.NewServer(tc.handler)
				defer srv.Close()
				base = srv.URL
			} else {
				srv := httptest.NewServer(http.NotFoundHandler())
				base = srv.URL
				srv.Close()
			}
			c := New(Config{APIBase: base, Tokens: tm, HTTP: testHTTP(200 * time.Millisecond)})
			_, err := c.SendCS(context.Background(), testUser, Message{Text: "a"})
			ze, ok := AsError(err)
			if !ok {
				t.Fatalf("error = %v, want *Error", err)
			}
			if ze.Class != tc.class || ze.Code != 0 || ze.HTTPStatus != tc.status {
				t.Errorf("error = %v (class %v, code %d, status %d); want class %v, status %d",
					err, ze.Class, ze.Code, ze.HTTPStatus, tc.class, tc.status)
			}
			if ze.Retryable() != (tc.class == Retry) {
				t.Errorf("Retryable = %v", ze.Retryable())
			}
		})
	}
}

func TestLoopbackOnlyTransport(t *testing.T) {
	tm := NewTokenManager(TokenManagerConfig{Bootstrap: Tokens{Access: accessToken(0), Refresh: refreshToken(0)}})
	c := New(Config{APIBase: "https://openapi.zalo.me", Tokens: tm, HTTP: testHTTP(time.Second)})
	_, err := c.SendCS(context.Background(), testUser, Message{Text: "a"})
	if err == nil || !strings.Contains(err.Error(), "refuses non-loopback host") {
		t.Fatalf("error = %v, want the test transport to refuse the real host", err)
	}
	if ClassOf(err) != Retry {
		t.Errorf("class = %v, want retry (transport error)", ClassOf(err))
	}
}

func TestUploadImage(t *testing.T) {
	e := newEnv(t)
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 100)...)
	var gotName, gotType string
	var gotData []byte
	e.fake.api = func(r apiRequest) string {
		_, params, err := mime.ParseMediaType(r.ContentType)
		if err != nil {
			return `{"error":-201,"message":"not multipart"}`
		}
		mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			if p.FormName() == "file" {
				gotName, gotType = p.FileName(), p.Header.Get("Content-Type")
				gotData, _ = io.ReadAll(p)
			}
		}
		return `{"data":{"attachment_id":"att-XYZ"},"error":0,"message":"Success"}`
	}
	id, err := e.client.UploadImage(context.Background(), "bieu-do.png", png)
	if err != nil {
		t.Fatal(err)
	}
	if id != "att-XYZ" {
		t.Errorf("attachment id = %q", id)
	}
	_, reqs := e.fake.stats()
	if reqs[0].Path != "/v2.0/oa/upload/image" || reqs[0].Method != http.MethodPost {
		t.Errorf("request = %s %s", reqs[0].Method, reqs[0].Path)
	}
	if gotName != "bieu-do.png" || gotType != "image/png" || !bytes.Equal(gotData, png) {
		t.Errorf("file part: name %q type %q, %d bytes", gotName, gotType, len(gotData))
	}

	if _, err := e.client.UploadImage(context.Background(), "big.png", make([]byte, MaxImageBytes+1)); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("oversized upload error = %v", err)
	}
}

func TestUserDetail(t *testing.T) {
	e := newEnv(t)
	e.fake.api = func(r apiRequest) string {
		return `{"data":{"user_id":"8309393969811122233","user_id_by_app":"7300442764811122233",
			"display_name":"Nguyễn Văn An","user_alias":"","is_sensitive":false,
			"user_last_interaction_date":"21/11/2025","user_is_follower":true,
			"avatar":"https://example.org/a.jpg","avatars":{"120":"x","240":"y"},
			"tags_and_notes_info":{"notes":[],"tag_names":["chu-nhiem-clb"]},
			"shared_info":{"name":"Nguyễn Văn An","phone":84912345678,"address":"thôn Đông","city":"Thái Nguyên","district":"Phú Bình"}},
			"error":0,"message":"Success"}`
	}
	u, err := e.client.UserDetail(context.Background(), testUser)
	if err != nil {
		t.Fatal(err)
	}
	want := UserDetail{UserID: testUser, UserIDByApp: "7300442764811122233", DisplayName: "Nguyễn Văn An",
		Avatar: "https://example.org/a.jpg", IsFollower: true, LastInteractionDate: "21/11/2025",
		TagNames: []string{"chu-nhiem-clb"},
		SharedInfo: SharedInfo{Name: "Nguyễn Văn An", Phone: "84912345678", Address: "thôn Đông",
			City: "Thái Nguyên", District: "Phú Bình"}}
	if !reflect.DeepEqual(u, want) {
		t.Errorf("UserDetail =\n%+v\nwant\n%+v", u, want)
	}
	_, reqs := e.fake.stats()
	q, _ := url.ParseQuery(reqs[0].Query)
	if reqs[0].Method != http.MethodGet || reqs[0].Path != "/v3.0/oa/user/detail" {
		t.Errorf("request = %s %s", reqs[0].Method, reqs[0].Path)
	}
	jsonEqual(t, []byte(q.Get("data")), `{"user_id":"8309393969811122233"}`)
}

func TestQuota(t *testing.T) {
	e := newEnv(t)
	e.fake.api = func(r apiRequest) string {
		return `{"data":{"last_interaction":"1763712000000","cs_reply":{"remain":"7","total":8},
			"promotion":{"daily_remain":"1","daily_total":"1","monthly_remain":"3","monthly_total":"4"}},
			"error":0,"message":"Success"}`
	}
	q, err := e.client.Quota(context.Background(), testUser)
	if err != nil {
		t.Fatal(err)
	}
	want := Quota{LastInteraction: time.UnixMilli(1763712000000).UTC(), ReplyRemain: 7, ReplyTotal: 8,
		PromotionDailyRemain: 1, PromotionDailyTotal: 1, PromotionMonthlyRemain: 3, PromotionMonthlyTotal: 4}
	if q != want {
		t.Errorf("Quota = %+v, want %+v", q, want)
	}
	_, reqs := e.fake.stats()
	if reqs[0].Method != http.MethodPost || reqs[0].Path != "/v3.0/oa/quota/message" {
		t.Errorf("request = %s %s", reqs[0].Method, reqs[0].Path)
	}
	jsonEqual(t, reqs[0].Body, `{"user_id":"8309393969811122233"}`)

	// Counters Zalo no longer reports are -1, not 0.
	e.fake.api = func(apiRequest) string { return `{"data":{"last_interaction":"1763712000000"},"error":0}` }
	q, err = e.client.Quota(context.Background(), testUser)
	if err != nil || q.ReplyRemain != -1 || q.PromotionMonthlyTotal != -1 {
		t.Errorf("Quota without counters = %+v, %v", q, err)
	}
}

func TestGroupsPaging(t *testing.T) {
	e := newEnv(t)
	const total = 120
	e.fake.api = func(r apiRequest) string {
		q, _ := url.ParseQuery(r.Query)
		var offset, count int
		fmt.Sscan(q.Get("offset"), &offset)
		fmt.Sscan(q.Get("count"), &count)
		var groups []string
		for i := offset; i < min(offset+count, total); i++ {
			status := "enabled"
			if i == 7 {
				status = "disabled"
			}
			groups = append(groups, fmt.Sprintf(`{"group_id":"g%03d","name":"CLB %d","total_member":%d,"status":%q}`, i, i, i, status))
		}
		return fmt.Sprintf(`{"data":{"offset":%d,"count":%d,"total":%d,"groups":[%s]},"error":0,"message":"Success"}`,
			offset, len(groups), total, strings.Join(groups, ","))
	}
	gs, err := e.client.Groups(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != total {
		t.Fatalf("groups = %d, want %d", len(gs), total)
	}
	if gs[119].ID != "g119" || gs[119].TotalMember != 119 || gs[7].Enabled() || !gs[8].Enabled() {
		t.Errorf("groups decoded wrongly: %+v %+v", gs[119], gs[7])
	}
	_, reqs := e.fake.stats()
	var offsets []string
	for _, r := range reqs {
		q, _ := url.ParseQuery(r.Query)
		if r.Path != "/v3.0/oa/group/getgroupsofoa" || q.Get("count") != "50" {
			t.Errorf("request %s?%s", r.Path, r.Query)
		}
		offsets = append(offsets, q.Get("offset"))
	}
	if want := []string{"0", "50", "100"}; !reflect.DeepEqual(offsets, want) {
		t.Errorf("offsets = %v, want %v", offsets, want)
	}
}
