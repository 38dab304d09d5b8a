package main

import (
	"testing"

	"clubbot/zalosim"
)

// TestCorrectViewAndClubCommands: "sửa báo cáo" corrects the last report keeping the
// earlier revision, "xem báo cáo" lists it, and an officer's "clb <mã>" sees clubs of their
// province only.
func TestCorrectViewAndClubCommands(t *testing.T) {
	e := startEnv(t)
	chair := e.sim.AddUser(zalosim.User{Name: "An", Phone: "0912345678"}).ID
	officer := e.sim.AddUser(zalosim.User{Name: "Hà", Phone: "0987654321"}).ID
	e.say(chair, "0912345678", 1)
	e.say(officer, "0987654321", 1)

	mustContain(t, e.say(chair, "sửa báo cáo", 1), "chưa có báo cáo nào")
	mustContain(t, e.say(chair, "xem bao cao", 1), "Chưa có báo cáo nào")
	mustContain(t, e.say(chair, "bao cao", 1), "đã họp chưa")
	mustContain(t, e.say(chair, "co", 1), "họp ngày nào")
	mustContain(t, e.say(chair, "hom nay", 1), "người dự")
	e.say(chair, "40", 1)
	e.say(chair, "bo qua", 1)
	e.say(chair, "bo qua", 1)
	e.say(chair, "7", 1)
	e.say(chair, "0", 1)
	e.say(chair, "khong", 1)
	mustContain(t, e.say(chair, "dong y", 1), "Đã lưu báo cáo số 1")

	got := e.say(chair, "sua bao cao", 2)
	mustContain(t, got, "Sửa báo cáo số 1", "Số người dự: 40 người")
	mustContain(t, e.say(chair, "sửa 3", 1), "bao nhiêu người dự")
	mustContain(t, e.say(chair, "45", 1), "Số người dự: 45 người")
	mustContain(t, e.say(chair, "đồng ý", 1), "Đã sửa báo cáo số 1")
	mustContain(t, e.say(chair, "xem báo cáo", 1), "Số 1 · họp", "45 người", "1/8 mảng", "đã sửa", "họp liên tục 1 tháng")

	mustContain(t, e.say(officer, "clb hn-001", 1), "CLB Liên thế hệ thôn Đông", "đã kết nối Zalo", "45 người")
	mustContain(t, e.say(officer, "clb TQ-001", 1), "không thuộc tỉnh/thành")
	mustContain(t, e.say(officer, "clb XX-9", 1), "Không tìm thấy CLB")
	mustContain(t, e.say(chair, "clb HN-001", 1), "dành cho cán bộ Hội")

	e.stop()
	db := e.openStore()
	reports, _ := db.AllReports()
	if len(reports) != 1 || reports[0].Revision != 2 || *reports[0].Answers["attendance_total"].Number != 45 {
		t.Fatalf("reports = %+v", reports)
	}
}

// TestBoardMemberReports: a deputy listed in board_phones links by a typed phone and can
// report for the club.
func TestBoardMemberReports(t *testing.T) {
	e := startEnv(t)
	deputy := e.sim.AddUser(zalosim.User{Name: "Phó CN", Phone: "0977111222"}).ID
	mustContain(t, e.say(deputy, "0977 111 222", 1), "ban chủ nhiệm CLB Liên thế hệ tổ dân phố 5", "báo cáo")
	mustContain(t, e.say(deputy, "bc", 1), "đã họp chưa")
}
