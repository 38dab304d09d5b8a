package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"clubbot/store"
	"clubbot/zalosim"
)

func mustContain(t *testing.T, got []zalosim.Entry, wants ...string) {
	t.Helper()
	all := texts(got)
	for _, w := range wants {
		if !strings.Contains(all, w) {
			t.Fatalf("reply lacks %q; got:\n%s", w, all)
		}
	}
}

// TestReportEndToEnd plays follow → shared phone → báo cáo → answers (with two wrong ones)
// → confirm as signed, fixture-shaped events through the simulated Zalo, then checks the
// stored report and every message the fake Zalo received.
func TestReportEndToEnd(t *testing.T) {
	e := startEnv(t)
	chair := e.sim.AddUser(zalosim.User{Name: "Nguyễn Văn An", Phone: "0912345678"}).ID

	d, err := e.sim.Follow(chair)
	if err != nil || d.Status != 200 {
		t.Fatalf("follow: %d %v", d.Status, err)
	}
	got := e.wait(chair, 0, 2)
	mustContain(t, got[:1], "Kính chào bác", "số điện thoại")
	if got[1].Kind != "request_user_info" {
		t.Fatalf("second reply to follow is %q, want the request_user_info card", got[1].Kind)
	}

	before := len(e.sim.Outbound(chair))
	if d, err = e.sim.SubmitInfo(chair, "Nguyễn Văn An", "84912345678"); err != nil || d.Status != 200 {
		t.Fatalf("submit info: %d %v", d.Status, err)
	}
	mustContain(t, e.wait(chair, before, 1), "chủ nhiệm CLB Liên thế hệ thôn Đông", "báo cáo")

	mustContain(t, e.say(chair, "bao cao", 1), "đã họp chưa", "1. Có", "2. Không")
	mustContain(t, e.say(chair, "co", 1), "họp ngày nào")
	wrongDate := e.say(chair, "32/13", 1)
	mustContain(t, wrongDate, "Ví dụ", "họp ngày nào")
	mustContain(t, e.say(chair, "hôm nay", 1), "bao nhiêu người dự")
	wrongNumber := e.say(chair, "abc", 1)
	mustContain(t, wrongNumber, "Ví dụ", "bao nhiêu người dự")
	mustContain(t, e.say(chair, "45 người", 1), "nữ")
	mustContain(t, e.say(chair, "bo qua", 1), "60 tuổi")
	mustContain(t, e.say(chair, "30", 1), "mảng hoạt động", "1. Thu nhập", "8. Nguồn lực")
	mustContain(t, e.say(chair, "suc khoe, van nghe", 1), "Sức khỏe, Văn hóa – tinh thần", "đo huyết áp")
	mustContain(t, e.say(chair, "28", 1), "thành viên mới")
	mustContain(t, e.say(chair, "0", 1), "khó khăn hay đề nghị")
	summary := e.say(chair, "Cần thêm máy đo huyết áp", 1)
	mustContain(t, summary, "Bác xem lại báo cáo", "Số người dự: 45 người", "Sức khỏe, Văn hóa – tinh thần")

	before = len(e.sim.Outbound(chair))
	confirm, err := e.sim.SendText(chair, "đồng ý")
	if err != nil || confirm.Status != 200 {
		t.Fatalf("confirm: %d %v", confirm.Status, err)
	}
	mustContain(t, e.wait(chair, before, 1), "Cảm ơn Bác", "Đã lưu báo cáo số 1")

	// Zalo redelivers the confirming event: recognised as a duplicate, processed once.
	status, err := e.sim.Deliver(confirm.Event, true)
	if err != nil || status != 200 {
		t.Fatalf("redelivery: %d %v", status, err)
	}
	// A forged event (no signature) is refused and stores nothing.
	forged := []byte(strings.Replace(string(confirm.Event), confirm.MsgID, "ffffffffffffffffffff", 1))
	if status, _ := e.sim.Deliver(forged, false); status != http.StatusUnauthorized {
		t.Fatalf("unsigned event: status %d, want 401", status)
	}
	// One more message proves the worker has passed the duplicate without replying to it.
	mustContain(t, e.say(chair, "giúp", 1), "Hướng dẫn")

	out := e.sim.Outbound(chair)
	e.stop()
	for _, m := range out {
		var body struct {
			Recipient struct {
				UserID string `json:"user_id"`
			} `json:"recipient"`
			Message struct {
				Text string `json:"text"`
			} `json:"message"`
		}
		if err := json.Unmarshal(m.JSON, &body); err != nil {
			t.Fatalf("message %d: %v", m.Seq, err)
		}
		if body.Recipient.UserID != chair {
			t.Errorf("message %d sent to %q, want %q", m.Seq, body.Recipient.UserID, chair)
		}
		if utf8.RuneCountInString(body.Message.Text) > 2000 {
			t.Errorf("message %d has %d characters", m.Seq, utf8.RuneCountInString(body.Message.Text))
		}
		if m.Error != 0 {
			t.Errorf("message %d answered error %d", m.Seq, m.Error)
		}
	}
	if n := strings.Count(texts(out), "Đã lưu báo cáo"); n != 1 {
		t.Errorf("%d confirmations sent, want 1", n)
	}

	db := e.openStore()
	reports, err := db.AllReports()
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 {
		t.Fatalf("%d reports stored, want 1", len(reports))
	}
	r := reports[0]
	if r.ClubCode != "HN-001" || r.Province != "ha-noi" || !r.Held || r.ReporterID != chair || r.MeetingDate == "" {
		t.Errorf("report = %+v", r)
	}
	if a := r.Answers["attendance_total"]; a.Number == nil || *a.Number != 45 {
		t.Errorf("attendance = %+v", a)
	}
	if a := r.Answers["attendance_women"]; !a.Skipped {
		t.Errorf("women = %+v, want skipped", a)
	}
	if a := r.Answers["areas_active"]; strings.Join(a.Choices, ",") != "health,culture" {
		t.Errorf("areas = %+v", a.Choices)
	}
	if a := r.Answers["notes"]; a.Text != "Cần thêm máy đo huyết áp" {
		t.Errorf("notes = %+v", a)
	}
	total, pending, _ := db.InboxStats()
	if pending != 0 || total != 16 {
		t.Errorf("inbox: %d events, %d pending", total, pending)
	}
	var sessions int
	db.View(func(tx *store.Tx) error {
		if _, ok, _ := tx.Session(chair); ok {
			sessions++
		}
		return nil
	})
	if sessions != 0 {
		t.Errorf("session still open after the report was stored")
	}
}

// TestTypedPhoneAndStrangers links a chair by a typed phone with spaces and +84, and
// answers a person in no list kindly, never with a report flow.
func TestTypedPhoneAndStrangers(t *testing.T) {
	e := startEnv(t)
	chair := e.sim.AddUser(zalosim.User{Name: "Bình", Phone: "0913222333"}).ID
	stranger := e.sim.AddUser(zalosim.User{Name: "Lạ", Phone: "0900000001"}).ID
	officer := e.sim.AddUser(zalosim.User{Name: "Hà", Phone: "0987654321"}).ID

	mustContain(t, e.say(chair, "xin chào", 2), "số điện thoại")
	mustContain(t, e.say(chair, "+84 913 222 333", 1), "Trần Thị Bình", "CLB Liên thế hệ tổ dân phố 5")
	mustContain(t, e.say(chair, "BC", 1), "đã họp chưa")

	mustContain(t, e.say(stranger, "bao cao", 2), "số điện thoại")
	got := e.say(stranger, "0900.000.001", 2)
	// The number is repeated in the national form so the person can spot a typo.
	mustContain(t, got, "Số 0900000001 chưa có trong danh sách", "tỉnh/thành nào")
	if strings.Contains(texts(e.say(stranger, "bao cao", 1)), "đã họp chưa") {
		t.Error("a person who is not linked got the report flow")
	}
	mustContain(t, e.say(stranger, "Ha Noi", 1), "cán bộ Hội Thành phố Hà Nội")
	other := e.sim.AddUser(zalosim.User{Name: "Khác", Phone: "0900000002"}).ID
	e.say(other, "xin chao", 2)
	e.say(other, "0900000002", 2)
	mustContain(t, e.say(other, "tinh Nghe An", 1), "cán bộ Hội Nghệ An")

	mustContain(t, e.say(officer, "0987 654 321", 1), "cán bộ Hội của Thành phố Hà Nội")
	mustContain(t, e.say(officer, "chưa báo cáo", 1), "2/2 CLB chưa báo cáo", "CLB Liên thế hệ thôn Đông")
	mustContain(t, e.say(officer, "tong hop", 1), "0/2 CLB đã báo cáo")
	pend := e.say(officer, "chờ duyệt", 1)
	mustContain(t, pend, "0900000001", "Thành phố Hà Nội")
	if strings.Contains(texts(pend), "0900000002") {
		t.Error("an officer of Hà Nội sees a person pending for Nghệ An")
	}
}
