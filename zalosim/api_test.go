package zalosim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var msgIDRe = regexp.MustCompile(`^[0-9a-f]{20}$`)

func TestAccessToken(t *testing.T) {
	tests := []struct {
		name  string
		token string
		setup func(e *env)
		want  int
	}{
		{"valid", testAccess, nil, 0},
		{"missing", "", nil, ErrTokenInvalid},
		{"unknown", "nope", nil, ErrTokenInvalid},
		{"expired by clock", testAccess, func(e *env) { e.clk.Add(25*time.Hour + time.Second) }, ErrTokenExpired},
		{"not yet expired", testAccess, func(e *env) { e.clk.Add(25*time.Hour - time.Second) }, 0},
		{"ExpireAccessToken", testAccess, func(e *env) { e.sim.ExpireAccessToken() }, ErrTokenExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.follow(t)
			if tt.setup != nil {
				tt.setup(e)
			}
			for _, c := range []struct{ method, path string }{
				{"POST", PathMessageCS},
				{"GET", PathUserDetail + "?data=" + url.QueryEscape(`{"user_id":"`+testUserID+`"}`)},
			} {
				var body any
				if c.method == "POST" {
					body = textTo(testUserID, "xin chào")
				}
				got := e.do(t, c.method, c.path, tt.token, body)
				if got.Error != tt.want {
					t.Errorf("%s: error = %d, want %d (%s)", c.path, got.Error, tt.want, got.raw)
				}
			}
		})
	}
}

// refresh calls the OAuth refresh endpoint.
func refresh(t *testing.T, e *env, appID, secret, rt string) (map[string]any, []byte) {
	t.Helper()
	form := url.Values{"refresh_token": {rt}, "app_id": {appID}, "grant_type": {"refresh_token"}}
	req, _ := http.NewRequest("POST", e.api+PathAccessToken, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("secret_key", secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("refresh answer not JSON: %q", buf.Bytes())
	}
	return m, buf.Bytes()
}

func TestRefreshRotation(t *testing.T) {
	e := newEnv(t)
	e.follow(t)

	for _, bad := range []struct{ name, appID, secret, rt string }{
		{"wrong secret", testAppID, "wrong", testRefresh},
		{"wrong app id", "123", testAppSecret, testRefresh},
		{"unknown refresh token", testAppID, testAppSecret, "nope"},
	} {
		m, raw := refresh(t, e, bad.appID, bad.secret, bad.rt)
		if code, _ := m["error"].(float64); code >= 0 || m["error_name"] == nil || m["error_description"] == nil {
			t.Errorf("%s: answer %s, want an OAuth error", bad.name, raw)
		}
	}

	m, raw := refresh(t, e, testAppID, testAppSecret, testRefresh)
	if !bytes.Contains(raw, []byte(`"expires_in":"90000"`)) {
		t.Errorf("refresh answer %s: want expires_in \"90000\" as a string", raw)
	}
	at1, _ := m["access_token"].(string)
	rt1, _ := m["refresh_token"].(string)
	if at1 == "" || rt1 == "" || at1 == testAccess || rt1 == testRefresh {
		t.Fatalf("refresh answer %s: want a new pair", raw)
	}
	if a, r := e.sim.Tokens(); a != at1 || r != rt1 {
		t.Errorf("Tokens() = %q, %q; want the new pair", a, r)
	}

	// The old refresh token is single use; the old access token is dead.
	if m, raw := refresh(t, e, testAppID, testAppSecret, testRefresh); m["error"] != float64(ErrOAuthToken) {
		t.Errorf("reusing the old refresh token: %s, want error %d", raw, ErrOAuthToken)
	}
	if got := e.do(t, "POST", PathMessageCS, testAccess, textTo(testUserID, "x")); got.Error != ErrTokenInvalid {
		t.Errorf("old access token: error %d, want %d", got.Error, ErrTokenInvalid)
	}
	if got := e.do(t, "POST", PathMessageCS, at1, textTo(testUserID, "x")); got.Error != 0 {
		t.Errorf("new access token: error %d (%s), want 0", got.Error, got.raw)
	}

	// The new refresh token works once, and the failed reuse above did not burn it.
	m2, raw2 := refresh(t, e, testAppID, testAppSecret, rt1)
	if m2["access_token"] == nil || m2["access_token"] == at1 {
		t.Errorf("second refresh: %s", raw2)
	}
	if got := e.sim.Stats().Refreshes; got != 2 {
		t.Errorf("Stats().Refreshes = %d, want 2", got)
	}
	// The refresh token is masked in the call log.
	for _, c := range e.sim.Calls() {
		if strings.Contains(c.Request, testRefresh) || strings.Contains(c.Request, rt1) {
			t.Errorf("call log holds a refresh token: %q", c.Request)
		}
	}
}

func TestSendCS(t *testing.T) {
	vn2000 := strings.Repeat("ệ", 2000) // 2,000 runes, 6,000 bytes
	list := func(buttons ...map[string]any) map[string]any {
		return map[string]any{"recipient": map[string]any{"user_id": testUserID}, "message": map[string]any{
			"attachment": map[string]any{"type": "template", "payload": map[string]any{
				"template_type": "list",
				"elements":      []any{map[string]any{"title": "Bác chọn mảng hoạt động", "subtitle": "Chạm vào một nút"}},
				"buttons":       buttons,
			}}}}
	}
	btn := func(title, payload string) map[string]any {
		return map[string]any{"title": title, "type": "oa.query.hide", "payload": payload}
	}
	media := func(el map[string]any) map[string]any {
		return map[string]any{"recipient": map[string]any{"user_id": testUserID}, "message": map[string]any{
			"text": "Biểu đồ", "attachment": map[string]any{"type": "template", "payload": map[string]any{
				"template_type": "media", "elements": []any{el}}}}}
	}
	card := map[string]any{"recipient": map[string]any{"user_id": testUserID}, "message": map[string]any{
		"attachment": map[string]any{"type": "template", "payload": map[string]any{
			"template_type": "request_user_info",
			"elements": []any{map[string]any{"title": "Xác nhận chủ nhiệm CLB", "subtitle": "Chia sẻ số điện thoại",
				"image_url": "https://example.org/a.png"}}}}}}
	file := map[string]any{"recipient": map[string]any{"user_id": testUserID}, "message": map[string]any{
		"attachment": map[string]any{"type": "file", "payload": map[string]any{"token": "x"}}}}

	tests := []struct {
		name      string
		body      any
		noButtons bool
		want      int
		kind      string
	}{
		{"text", textTo(testUserID, "Cảm ơn bác."), false, 0, "text"},
		{"2000 runes", textTo(testUserID, vn2000), false, 0, "text"},
		{"2001 runes", textTo(testUserID, vn2000+"a"), false, ErrOverLimit, "text"},
		{"empty text", textTo(testUserID, ""), false, ErrInvalidParam, "invalid"},
		{"unknown user", textTo("1111111111111111111", "x"), false, ErrNotFollower, "text"},
		{"no recipient", map[string]any{"message": map[string]any{"text": "x"}}, false, ErrInvalidParam, "text"},
		{"not JSON", "{", false, ErrInvalidParam, "invalid"},
		{"list", list(btn("Thu nhập", "#area:income"), btn("Sức khỏe", "#area:health")), false, 0, "list"},
		{"list, buttons unsupported", list(btn("Thu nhập", "#area:income")), true, ErrInvalidParam, "list"},
		{"list, long button title", list(btn(strings.Repeat("a", 36), "#x")), false, ErrOverLimit, "list"},
		{"list, bad button type", list(map[string]any{"title": "a", "type": "oa.postback", "payload": "x"}), false, ErrInvalidParam, "list"},
		{"image by url", media(map[string]any{"media_type": "image", "url": "https://example.org/c.png"}), false, 0, "image"},
		{"image, unknown attachment", media(map[string]any{"media_type": "image", "attachment_id": "zzz"}), false, ErrInvalidParam, "image"},
		{"gif", media(map[string]any{"media_type": "gif", "url": "https://example.org/c.gif"}), false, ErrInvalidParam, "image"},
		{"request_user_info", card, false, 0, "request_user_info"},
		{"file", file, false, ErrInvalidParam, "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.follow(t)
			e.sim.SetButtonsUnsupported(tt.noButtons)
			got := e.do(t, "POST", PathMessageCS, testAccess, tt.body)
			if got.status != http.StatusOK || got.Error != tt.want {
				t.Fatalf("HTTP %d error %d (%s), want 200 and %d", got.status, got.Error, got.raw, tt.want)
			}
			all := e.sim.All()
			last := all[len(all)-1]
			if last.Dir != "out" || last.Kind != tt.kind || last.Error != tt.want {
				t.Errorf("logged %+v, want dir out, kind %q, error %d", last, tt.kind, tt.want)
			}
			if tt.want != 0 {
				if len(e.sim.Outbound(testUserID)) != 0 {
					t.Error("Outbound lists a failed send")
				}
				var m map[string]any
				_ = json.Unmarshal(got.raw, &m)
				if m["message"] == "" || m["data"] != nil {
					t.Errorf("error answer %s: want {error, message}", got.raw)
				}
				return
			}
			var d struct {
				MessageID string         `json:"message_id"`
				UserID    string         `json:"user_id"`
				Quota     map[string]any `json:"quota"`
			}
			if err := json.Unmarshal(got.Data, &d); err != nil {
				t.Fatal(err)
			}
			if !msgIDRe.MatchString(d.MessageID) || d.UserID != testUserID || d.Quota["quota_type"] != "reply" {
				t.Errorf("data = %s", got.Data)
			}
			out := e.sim.Outbound(testUserID)
			if len(out) != 1 || out[0].MsgID != d.MessageID || !bytes.Equal(out[0].JSON, mustJSON(t, tt.body)) {
				t.Errorf("Outbound = %+v, want the message with id %s and the exact body", out, d.MessageID)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	if s, ok := v.(string); ok {
		return []byte(s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestListButtonsLogged(t *testing.T) {
	e := newEnv(t)
	e.follow(t)
	body := `{"recipient":{"user_id":"` + testUserID + `"},"message":{"attachment":{"type":"template","payload":{"template_type":"list","elements":[{"title":"Chọn","subtitle":"Chạm"}],"buttons":[{"title":"Sức khỏe","type":"oa.query.hide","payload":"#area:health"},{"title":"Xem","type":"oa.open.url","payload":{"url":"https://example.org"}}]}}}}`
	if got := e.do(t, "POST", PathMessageCS, testAccess, body); got.Error != 0 {
		t.Fatalf("error %d (%s)", got.Error, got.raw)
	}
	out := e.sim.Outbound(testUserID)
	want := []Button{{"Sức khỏe", "oa.query.hide", "#area:health"}, {"Xem", "oa.open.url", `{"url":"https://example.org"}`}}
	if len(out) != 1 || fmt.Sprint(out[0].Buttons) != fmt.Sprint(want) || out[0].Text != "Chọn" || out[0].Subtitle != "Chạm" {
		t.Errorf("entry = %+v, want buttons %v", out, want)
	}
}

func TestMessageIDsUnique(t *testing.T) {
	e := newEnv(t)
	e.follow(t)
	seen := map[string]bool{}
	for i := range 20 {
		got := e.do(t, "POST", PathMessageCS, testAccess, textTo(testUserID, fmt.Sprint("tin ", i)))
		var d struct {
			MessageID string `json:"message_id"`
			Quota     struct {
				Type   string `json:"quota_type"`
				Remain string `json:"remain"`
			} `json:"quota"`
		}
		_ = json.Unmarshal(got.Data, &d)
		if seen[d.MessageID] || !msgIDRe.MatchString(d.MessageID) {
			t.Fatalf("message_id %q repeated or malformed", d.MessageID)
		}
		seen[d.MessageID] = true
		// The first 8 replies after an interaction are free (API.md §5.1).
		wantType := "reply"
		if i >= freeReplies {
			wantType = "sub_quota"
		}
		if d.Quota.Type != wantType {
			t.Errorf("send %d: quota_type %q, want %q", i, d.Quota.Type, wantType)
		}
	}
	if st := e.sim.Stats(); st.Free != 8 || st.Paid != 12 || st.Sent != 20 {
		t.Errorf("Stats = %+v, want 8 free, 12 paid, 20 sent", st)
	}
}

func TestQuote(t *testing.T) {
	e := newEnv(t)
	d, err := e.sim.SendText(testUserID, "báo cáo")
	if err != nil {
		t.Fatal(err)
	}
	quote := func(id string) map[string]any {
		return map[string]any{"recipient": map[string]any{"user_id": testUserID},
			"message": map[string]any{"text": "Dạ", "quote_message_id": id}}
	}
	if got := e.do(t, "POST", PathMessageCS, testAccess, quote(d.MsgID)); got.Error != 0 {
		t.Errorf("quote of the user's message: error %d", got.Error)
	}
	if got := e.do(t, "POST", PathMessageCS, testAccess, quote("00000000000000000000")); got.Error != ErrInvalidParam {
		t.Errorf("quote of an unknown message: error %d, want %d", got.Error, ErrInvalidParam)
	}
}

func TestFollowState(t *testing.T) {
	e := newEnv(t)
	// Added but never interacted: the window is closed.
	if got := e.do(t, "POST", PathMessageCS, testAccess, textTo(testUserID, "x")); got.Error != ErrNoInteraction {
		t.Errorf("never interacted: error %d, want %d", got.Error, ErrNoInteraction)
	}
	e.follow(t)
	if got := e.do(t, "POST", PathMessageCS, testAccess, textTo(testUserID, "x")); got.Error != 0 {
		t.Errorf("after follow: error %d", got.Error)
	}
	if _, err := e.sim.Unfollow(testUserID); err != nil {
		t.Fatal(err)
	}
	if got := e.do(t, "POST", PathMessageCS, testAccess, textTo(testUserID, "x")); got.Error != ErrNotFollower {
		t.Errorf("after unfollow: error %d, want %d", got.Error, ErrNotFollower)
	}
	e.follow(t)
	if got := e.do(t, "POST", PathMessageCS, testAccess, textTo(testUserID, "x")); got.Error != 0 {
		t.Errorf("after following again: error %d", got.Error)
	}
}

func TestWindow(t *testing.T) {
	tests := []struct {
		name    string
		advance time.Duration
		write   bool // the user writes after the clock moved
		want    int
	}{
		{"inside 7 days", 7*24*time.Hour - time.Minute, false, 0},
		{"7 days + 1 minute", 7*24*time.Hour + time.Minute, false, ErrNoInteraction},
		{"user wrote again", 7*24*time.Hour + time.Minute, true, 0},
		{"30 days", 30 * 24 * time.Hour, false, ErrNoInteraction},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.follow(t)
			e.clk.Add(tt.advance)
			at := e.freshToken(t) // the clock also expired the token
			if tt.write {
				if _, err := e.sim.SendText(testUserID, "chào"); err != nil {
					t.Fatal(err)
				}
			}
			got := e.do(t, "POST", PathMessageCS, at, textTo(testUserID, "nhắc lịch"))
			if got.Error != tt.want {
				t.Errorf("error %d (%s), want %d", got.Error, got.raw, tt.want)
			}
		})
	}
}

func TestReceiptsAreNotInteractions(t *testing.T) {
	e := newEnv(t)
	e.follow(t)
	got := e.do(t, "POST", PathMessageCS, testAccess, textTo(testUserID, "x"))
	var d struct {
		MessageID string `json:"message_id"`
	}
	_ = json.Unmarshal(got.Data, &d)
	e.clk.Add(6 * 24 * time.Hour)
	if _, err := e.sim.Received(testUserID, d.MessageID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.Seen(testUserID, d.MessageID); err != nil {
		t.Fatal(err)
	}
	e.clk.Add(2 * 24 * time.Hour)
	if got := e.do(t, "POST", PathMessageCS, e.freshToken(t), textTo(testUserID, "x")); got.Error != ErrNoInteraction {
		t.Errorf("error %d, want %d: receipts must not renew the window", got.Error, ErrNoInteraction)
	}
}

func groupText(gid, text string) map[string]any {
	return map[string]any{"recipient": map[string]any{"group_id": gid}, "message": map[string]any{"text": text}}
}

func TestGroups(t *testing.T) {
	e := newEnv(t)
	e.sim.AddGroup(testGroupID, "Chủ nhiệm CLB tỉnh Hà Tĩnh")
	e.clk.Add(20 * 24 * time.Hour) // groups have no interaction window
	at := e.freshToken(t)
	listBody := map[string]any{"recipient": map[string]any{"group_id": testGroupID}, "message": map[string]any{
		"attachment": map[string]any{"type": "template", "payload": map[string]any{
			"template_type": "list", "elements": []any{map[string]any{"title": "a"}},
			"buttons": []any{map[string]any{"title": "a", "type": "oa.query.hide", "payload": "#a"}}}}}}
	tests := []struct {
		name string
		body any
		want int
	}{
		{"text", groupText(testGroupID, "Tổng hợp tuần 47"), 0},
		{"unknown group", groupText("aaaaaaaaaaaaaaaaaaaa", "x"), ErrNotInGroup},
		{"list", listBody, ErrInvalidParam},
		{"too long", groupText(testGroupID, strings.Repeat("x", 2001)), ErrOverLimit},
	}
	for _, tt := range tests {
		got := e.do(t, "POST", PathGroupMessage, at, tt.body)
		if got.Error != tt.want {
			t.Errorf("%s: error %d (%s), want %d", tt.name, got.Error, got.raw, tt.want)
		}
		if tt.want == 0 {
			var d map[string]string
			_ = json.Unmarshal(got.Data, &d)
			if !msgIDRe.MatchString(d["message_id"]) || d["group_id"] != testGroupID {
				t.Errorf("%s: data %s", tt.name, got.Data)
			}
		}
	}
	if out := e.sim.Outbound(testGroupID); len(out) != 1 || out[0].GroupID != testGroupID || out[0].Text != "Tổng hợp tuần 47" {
		t.Errorf("Outbound(group) = %+v", out)
	}

	got := e.do(t, "GET", PathGroupsOfOA+"?offset=0&count=5", at, nil)
	var d groupsData
	if err := json.Unmarshal(got.Data, &d); err != nil || got.Error != 0 {
		t.Fatalf("getgroupsofoa: %s", got.raw)
	}
	if d.Total != 1 || len(d.Groups) != 1 || d.Groups[0].GroupID != testGroupID || d.Groups[0].Status != "enabled" {
		t.Errorf("getgroupsofoa data = %+v", d)
	}
}

func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func upload(t *testing.T, e *env, name string, data []byte) apiResp {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", name)
	_, _ = fw.Write(data)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", e.api+PathUploadImage, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("access_token", testAccess)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out apiResp
	var raw bytes.Buffer
	_, _ = raw.ReadFrom(resp.Body)
	_ = json.Unmarshal(raw.Bytes(), &out)
	out.raw = raw.Bytes()
	return out
}

func TestUploadImage(t *testing.T) {
	e := newEnv(t)
	e.follow(t)
	small := pngBytes(t, 4, 4)
	big := append(append([]byte{}, small...), make([]byte, maxImage)...)
	tests := []struct {
		name string
		data []byte
		want int
	}{
		{"png", small, 0},
		{"over 1 MB", big, ErrOverLimit},
		{"not an image", []byte("hello, this is text"), ErrInvalidParam},
	}
	for _, tt := range tests {
		got := upload(t, e, "chart.png", tt.data)
		if got.Error != tt.want {
			t.Errorf("%s: error %d (%s), want %d", tt.name, got.Error, got.raw, tt.want)
		}
	}
	got := upload(t, e, "chart.png", small)
	var d struct {
		AttachmentID string `json:"attachment_id"`
	}
	_ = json.Unmarshal(got.Data, &d)
	if d.AttachmentID == "" {
		t.Fatalf("no attachment_id in %s", got.raw)
	}
	body := map[string]any{"recipient": map[string]any{"user_id": testUserID}, "message": map[string]any{
		"text": "Biểu đồ", "attachment": map[string]any{"type": "template", "payload": map[string]any{
			"template_type": "media", "elements": []any{map[string]any{"media_type": "image", "attachment_id": d.AttachmentID}}}}}}
	if got := e.do(t, "POST", PathMessageCS, testAccess, body); got.Error != 0 {
		t.Errorf("send uploaded image: error %d (%s)", got.Error, got.raw)
	}
	if data, ct, ok := e.sim.Attachment(d.AttachmentID); !ok || ct != "image/png" || !bytes.Equal(data, small) {
		t.Errorf("Attachment() = %d bytes, %q, %v", len(data), ct, ok)
	}
	// Uploaded media expire after 7 days (API.md §8).
	e.clk.Add(8 * 24 * time.Hour)
	if _, err := e.sim.SendText(testUserID, "chào"); err != nil {
		t.Fatal(err)
	}
	if got := e.do(t, "POST", PathMessageCS, e.freshToken(t), body); got.Error != ErrAttachmentExpired {
		t.Errorf("expired attachment: error %d, want %d", got.Error, ErrAttachmentExpired)
	}
}

func TestUserDetailAndQuota(t *testing.T) {
	e := newEnv(t)
	detail := func() (apiResp, userDetail) {
		got := e.do(t, "GET", PathUserDetail+"?data="+url.QueryEscape(`{"user_id":"`+testUserID+`"}`), testAccess, nil)
		var d userDetail
		_ = json.Unmarshal(got.Data, &d)
		return got, d
	}
	got, d := detail()
	if got.Error != 0 || d.UserID != testUserID || d.UserIDByApp != testAppUserID || d.IsFollower || d.SharedInfo != nil {
		t.Errorf("before follow: %s", got.raw)
	}
	if bytes.Contains(got.raw, []byte("shared_info")) {
		t.Errorf("shared_info present before the user shared: %s", got.raw)
	}
	e.follow(t)
	if _, err := e.sim.SubmitInfo(testUserID, "Nguyễn Văn A", "84912345678"); err != nil {
		t.Fatal(err)
	}
	got, d = detail()
	if !d.IsFollower || d.SharedInfo == nil || d.SharedInfo.Phone != "84912345678" || d.LastInteraction != "21/11/2025" {
		t.Errorf("after follow and submit_info: %s", got.raw)
	}
	if got := e.do(t, "GET", PathUserDetail+"?data="+url.QueryEscape(`{"user_id":"1"}`), testAccess, nil); got.Error == 0 {
		t.Errorf("unknown user: %s", got.raw)
	}

	q := e.do(t, "POST", PathQuotaMessage, testAccess, map[string]string{"user_id": testUserID})
	var qd quotaData
	_ = json.Unmarshal(q.Data, &qd)
	if want := fmt.Sprint(e.clk.Now().UnixMilli()); q.Error != 0 || qd.LastInteraction != want || qd.CSReply["remain"] != "8" {
		t.Errorf("quota = %s, want last_interaction %s and 8 free replies", q.raw, want)
	}
}

func TestFailNextAndSetDown(t *testing.T) {
	e := newEnv(t)
	e.follow(t)
	e.sim.FailNext(PathMessageCS, -32, 2)
	e.sim.FailNext("v3.0/oa/message/cs", -200, 1) // queued after the first fault
	var codes []int
	for range 4 {
		codes = append(codes, e.do(t, "POST", PathMessageCS, testAccess, textTo(testUserID, "x")).Error)
	}
	if fmt.Sprint(codes) != "[-32 -32 -200 0]" {
		t.Errorf("codes = %v, want [-32 -32 -200 0]", codes)
	}
	// Faults are per path.
	e.sim.FailNext(PathGroupMessage, -32, 1)
	if got := e.do(t, "POST", PathMessageCS, testAccess, textTo(testUserID, "x")); got.Error != 0 {
		t.Errorf("other path affected: %d", got.Error)
	}
	// Injected faults on the OAuth endpoint answer in the OAuth shape.
	e.sim.FailNext(PathAccessToken, ErrOAuthToken, 1)
	if m, raw := refresh(t, e, testAppID, testAppSecret, testRefresh); m["error"] != float64(ErrOAuthToken) || m["error_name"] == nil {
		t.Errorf("injected OAuth fault: %s", raw)
	}

	e.sim.SetDown(true)
	for _, p := range []string{PathMessageCS, PathQuotaMessage, PathAccessToken} {
		if got := e.do(t, "POST", p, testAccess, textTo(testUserID, "x")); got.status != http.StatusServiceUnavailable {
			t.Errorf("down: %s HTTP %d, want 503", p, got.status)
		}
	}
	e.sim.SetDown(false)
	if got := e.do(t, "POST", PathMessageCS, testAccess, textTo(testUserID, "x")); got.status != 200 || got.Error != 0 {
		t.Errorf("back up: HTTP %d error %d", got.status, got.Error)
	}
	if n := e.sim.CallCount(PathMessageCS); n != 7 {
		t.Errorf("CallCount(cs) = %d, want 7", n)
	}
	st := e.sim.Stats()
	if st.Failures[PathMessageCS] != 4 || st.Calls[PathAccessToken] != 2 {
		t.Errorf("Stats = %+v", st)
	}
	var downCalls int
	for _, c := range e.sim.Calls() {
		if c.HTTPStatus == http.StatusServiceUnavailable {
			downCalls++
		}
	}
	if downCalls != 3 {
		t.Errorf("calls logged with 503: %d, want 3", downCalls)
	}
}

func TestWaitOutbound(t *testing.T) {
	e := newEnv(t)
	e.follow(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan []Entry, 1)
	errc := make(chan error, 1)
	go func() {
		got, err := e.sim.WaitOutbound(ctx, testUserID, 2)
		done <- got
		errc <- err
	}()
	// A failed send does not count.
	e.do(t, "POST", PathMessageCS, "bad", textTo(testUserID, "no"))
	e.do(t, "POST", PathMessageCS, testAccess, textTo(testUserID, "một"))
	select {
	case <-done:
		t.Fatal("WaitOutbound returned after one send")
	case <-time.After(50 * time.Millisecond):
	}
	e.do(t, "POST", PathMessageCS, testAccess, textTo(testUserID, "hai"))
	got := <-done
	if err := <-errc; err != nil || len(got) != 2 || got[0].Text != "một" || got[1].Text != "hai" {
		t.Fatalf("WaitOutbound = %+v, %v", got, err)
	}

	short, cancel2 := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel2()
	got, err := e.sim.WaitOutbound(short, testUserID, 3)
	if err == nil || len(got) != 2 {
		t.Errorf("WaitOutbound past deadline = %d entries, %v; want 2 and an error", len(got), err)
	}
}

// TestReplyDuringWebhook checks that a bot may call the API while the sim's webhook POST
// is in flight (no lock held across the POST), and that the log keeps the order.
func TestReplyDuringWebhook(t *testing.T) {
	e := newEnv(t)
	e.rcv.onEvent = func([]byte) {
		e.do(t, "POST", PathMessageCS, testAccess, textTo(testUserID, "Chào bác"))
	}
	d, err := e.sim.SendText(testUserID, "xin chào")
	if err != nil || d.Status != 200 {
		t.Fatalf("SendText = %+v, %v", d, err)
	}
	msgs := e.sim.Messages(testUserID)
	if len(msgs) != 2 || msgs[0].Dir != "in" || msgs[1].Dir != "out" || msgs[1].Error != 0 {
		t.Fatalf("Messages = %+v", msgs)
	}
	if msgs[0].Status != 200 || msgs[0].Pending {
		t.Errorf("inbound entry status %d pending %v", msgs[0].Status, msgs[0].Pending)
	}
}

func TestEchoSends(t *testing.T) {
	e := newEnv(t)
	e.sim.cfg.EchoSends = true
	e.follow(t)
	got := e.do(t, "POST", PathMessageCS, testAccess, textTo(testUserID, "Cảm ơn bác"))
	var d struct {
		MessageID string `json:"message_id"`
	}
	_ = json.Unmarshal(got.Data, &d)
	deadline := time.Now().Add(2 * time.Second)
	for e.rcv.count() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	last := e.rcv.last(t)
	var ev map[string]any
	_ = json.Unmarshal(last.body, &ev)
	msg, _ := ev["message"].(map[string]any)
	if ev["event_name"] != "oa_send_text" || msg["msg_id"] != d.MessageID || !last.verified {
		t.Errorf("echo = %s (verified %v), want oa_send_text with msg_id %s", last.body, last.verified, d.MessageID)
	}
	assertShape(t, last.body, "oa_send_text.json", map[string]bool{"sender.admin_id": true})
}

func TestUnknownEndpoint(t *testing.T) {
	e := newEnv(t)
	if got := e.do(t, "POST", "/v2.0/oa/message", testAccess, textTo(testUserID, "x")); got.status != http.StatusNotFound {
		t.Errorf("v2 message: HTTP %d, want 404", got.status)
	}
	if got := e.do(t, "GET", PathMessageCS, testAccess, nil); got.status != http.StatusMethodNotAllowed {
		t.Errorf("GET cs: HTTP %d, want 405", got.status)
	}
}
