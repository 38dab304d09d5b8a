package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"clubbot/templates"
	"clubbot/zalosim"
)

const flowsE2EToken = "e2e-admin-token-flows"

// flowsAPI calls the admin API of e.
func (e *testEnv) flowsAPI(method, path string, body []byte) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+flowsE2EToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// linkedChair follows the OA as the demo chairperson of HN-001 and shares the phone.
func linkedChair(t *testing.T, e *testEnv) string {
	t.Helper()
	chair := e.sim.AddUser(zalosim.User{Name: "Nguyễn Văn An", Phone: "0912345678"}).ID
	if d, err := e.sim.Follow(chair); err != nil || d.Status != 200 {
		t.Fatalf("follow: %d %v", d.Status, err)
	}
	e.wait(chair, 0, 2)
	before := len(e.sim.Outbound(chair))
	if d, err := e.sim.SubmitInfo(chair, "Nguyễn Văn An", "84912345678"); err != nil || d.Status != 200 {
		t.Fatalf("submit info: %d %v", d.Status, err)
	}
	mustContain(t, e.wait(chair, before, 1), "chủ nhiệm CLB")
	return chair
}

// lacks fails if any reply contains one of bad.
func lacks(t *testing.T, got []zalosim.Entry, bad ...string) {
	t.Helper()
	all := texts(got)
	for _, b := range bad {
		if strings.Contains(all, b) {
			t.Fatalf("reply contains %q; got:\n%s", b, all)
		}
	}
}

// TestFlowEditMidConversation edits the meeting report through the admin API while a chair
// is answering it: that conversation finishes on the revision it started with (old wording,
// no new question), the next one uses the new revision, and the stored reports and the
// export keep the same answer names for the steps both revisions share.
func TestFlowEditMidConversation(t *testing.T) {
	e := startEnvWith(t, func(c *Config) { c.Admin.APIToken = flowsE2EToken })
	chair := linkedChair(t, e)

	orig := string(templates.Flows()["meeting_report"])
	oldAsk, newAsk := "Buổi họp có bao nhiêu người dự ạ?", "Hôm họp có mấy người đến dự ạ?"
	guests := `  - name: guests
    type: number
    when: meeting_held == true
    optional: true
    min: 0
    max: 200
    unit: người
    label: Khách mời
    prompt: Có bao nhiêu khách mời (không phải thành viên CLB) ạ?

  - name: areas_active
`
	edited := strings.Replace(orig, oldAsk, newAsk, 1)
	edited = strings.Replace(edited, "  - name: areas_active\n", guests, 1)
	if edited == orig || !strings.Contains(edited, newAsk) || !strings.Contains(edited, "name: guests") {
		t.Fatal("the default flow changed; this test's edit no longer applies")
	}

	// Conversation 1 starts on revision 1.
	mustContain(t, e.say(chair, "bao cao", 1), "đã họp chưa")
	mustContain(t, e.say(chair, "co", 1), "họp ngày nào")

	// An invalid edit is refused with line numbers and changes nothing.
	status, body := e.flowsAPI("PUT", "/api/v1/flows/meeting_report", []byte(strings.Replace(edited, "type: multi", "type: many", 1)))
	if status != http.StatusUnprocessableEntity || !strings.Contains(string(body), `"line":`) || !strings.Contains(string(body), `unknown type \"many\"`) {
		t.Fatalf("invalid PUT: %d %s", status, body)
	}
	// The admin publishes the edit mid-conversation.
	status, body = e.flowsAPI("PUT", "/api/v1/flows/meeting_report", []byte(edited))
	if status != 200 || !strings.Contains(string(body), `"revision":2`) {
		t.Fatalf("PUT: %d %s", status, body)
	}
	if status, body = e.flowsAPI("GET", "/api/v1/flows/meeting_report", nil); status != 200 || string(body) != edited {
		t.Fatalf("GET after PUT: %d, body is the edit: %v", status, string(body) == edited)
	}

	// Conversation 1 carries on with revision 1: the old wording, and no question on guests.
	got := e.say(chair, "hôm nay", 1)
	mustContain(t, got, oldAsk)
	lacks(t, got, newAsk)
	mustContain(t, e.say(chair, "45", 1), "là nữ")
	mustContain(t, e.say(chair, "bo qua", 1), "60 tuổi")
	got = e.say(chair, "30", 1)
	mustContain(t, got, "mảng hoạt động")
	lacks(t, got, "khách mời")
	mustContain(t, e.say(chair, "7", 1), "thành viên mới")
	mustContain(t, e.say(chair, "0", 1), "khó khăn")
	got = e.say(chair, "khong", 1)
	mustContain(t, got, "Bác xem lại báo cáo", "Số người dự: 45 người")
	lacks(t, got, "Khách mời")
	mustContain(t, e.say(chair, "1", 1), "Đã lưu báo cáo số 1")

	// Conversation 2 starts on revision 2: the new wording and the new question.
	mustContain(t, e.say(chair, "báo cáo", 1), "đã họp chưa")
	mustContain(t, e.say(chair, "co", 1), "họp ngày nào")
	got = e.say(chair, "hôm qua", 1)
	mustContain(t, got, newAsk)
	lacks(t, got, oldAsk)
	mustContain(t, e.say(chair, "40", 1), "là nữ")
	mustContain(t, e.say(chair, "20", 1), "60 tuổi")
	mustContain(t, e.say(chair, "bo qua", 1), "khách mời")
	mustContain(t, e.say(chair, "3", 1), "mảng hoạt động")
	mustContain(t, e.say(chair, "7", 1), "thành viên mới")
	mustContain(t, e.say(chair, "0", 1), "khó khăn")
	mustContain(t, e.say(chair, "khong", 1), "Khách mời: 3 người", "Số người dự: 40 người")
	mustContain(t, e.say(chair, "đồng ý", 1), "Đã lưu báo cáo số 2")

	// The export has one column per answer name, the same for both reports.
	status, body = e.flowsAPI("GET", "/api/v1/reports?format=csv", nil)
	if status != 200 {
		t.Fatalf("export: %d %s", status, body)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\ufeff")))).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("export: %d rows (%v):\n%s", len(rows), err, body)
	}
	col := func(header string) int {
		i := slices.Index(rows[0], header)
		if i < 0 {
			t.Fatalf("export header %q lacks %q", rows[0], header)
		}
		return i
	}
	total, older, guestsCol := col("Số người dự"), col("Số người từ 60 tuổi"), col("Khách mời")
	byTotal := map[string][]string{}
	for _, r := range rows[1:] {
		byTotal[r[total]] = r
	}
	if byTotal["45"] == nil || byTotal["40"] == nil {
		t.Fatalf("export rows %q lack the two attendances in one column", rows[1:])
	}
	if byTotal["45"][older] != "30" || byTotal["40"][guestsCol] != "3" || byTotal["45"][guestsCol] != "" {
		t.Errorf("export cells: rev1 older %q guests %q; rev2 guests %q", byTotal["45"][older], byTotal["45"][guestsCol], byTotal["40"][guestsCol])
	}

	e.stop()
	db := e.openStore()
	reports, err := db.AllReports()
	if err != nil || len(reports) != 2 {
		t.Fatalf("%d reports, %v", len(reports), err)
	}
	r1, r2 := reports[0], reports[1]
	if r1.FlowRevision != 1 || r2.FlowRevision != 2 {
		t.Errorf("reports on revisions %d and %d, want 1 and 2", r1.FlowRevision, r2.FlowRevision)
	}
	for k := range r1.Answers {
		if _, ok := r2.Answers[k]; !ok {
			t.Errorf("answer %q of the revision 1 report has no counterpart in the revision 2 report", k)
		}
	}
	if _, ok := r1.Answers["guests"]; ok {
		t.Errorf("the revision 1 report has the revision 2 question")
	}
	if a := r2.Answers["guests"]; a.Number == nil || *a.Number != 3 {
		t.Errorf("guests = %+v", a)
	}
	if a := r1.Answers["attendance_total"]; a.Number == nil || *a.Number != 45 {
		t.Errorf("revision 1 attendance_total = %+v", a)
	}
	if a := r2.Answers["attendance_total"]; a.Number == nil || *a.Number != 40 {
		t.Errorf("revision 2 attendance_total = %+v", a)
	}
}

// TestFlowRollbackAndReturnOffer: a rollback through the API is a new revision used by the
// next conversation; "báo cáo" during a conversation offers to continue or start again.
func TestFlowRollbackAndReturnOffer(t *testing.T) {
	e := startEnvWith(t, func(c *Config) { c.Admin.APIToken = flowsE2EToken })
	chair := linkedChair(t, e)
	orig := string(templates.Flows()["meeting_report"])
	edited := strings.Replace(orig, "Tháng này CLB đã họp chưa ạ?", "Tháng này CLB có sinh hoạt không ạ?", 1)
	if status, body := e.flowsAPI("PUT", "/api/v1/flows/meeting_report", []byte(edited)); status != 200 {
		t.Fatalf("PUT: %d %s", status, body)
	}
	mustContain(t, e.say(chair, "bao cao", 1), "có sinh hoạt không")
	mustContain(t, e.say(chair, "co", 1), "họp ngày nào")

	status, body := e.flowsAPI("POST", "/api/v1/flows/meeting_report/rollback?revision=1", nil)
	if status != 200 || !strings.Contains(string(body), `"revision":3`) {
		t.Fatalf("rollback: %d %s", status, body)
	}
	status, body = e.flowsAPI("GET", "/api/v1/flows/meeting_report/revisions", nil)
	var hist struct {
		Current   int `json:"current"`
		Revisions []struct {
			Revision int    `json:"revision"`
			Note     string `json:"note"`
		} `json:"revisions"`
	}
	if err := json.Unmarshal(body, &hist); err != nil || status != 200 || hist.Current != 3 || len(hist.Revisions) != 3 || hist.Revisions[2].Note != "rollback to 1" {
		t.Fatalf("revisions: %d %s", status, body)
	}

	// "báo cáo" again during the conversation: where they are, and the choice.
	mustContain(t, e.say(chair, "báo cáo", 1), "Bác đang làm dở báo cáo", "1/8 câu", "1. Tiếp tục", "2. Làm lại từ đầu")
	// Start again: the same conversation from the top, still on its revision (2).
	got := e.say(chair, "2", 1)
	mustContain(t, got, "làm lại từ đầu", "có sinh hoạt không")
	mustContain(t, e.say(chair, "huy", 1), "đã hủy")
	// The next conversation uses the rolled-back wording.
	got = e.say(chair, "bao cao", 1)
	mustContain(t, got, "Tháng này CLB đã họp chưa ạ?")
	lacks(t, got, "có sinh hoạt không")
}
