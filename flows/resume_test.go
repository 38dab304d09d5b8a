package flows

import (
	"strings"
	"testing"
	"time"
)

func TestStartWithGoesToTheSummary(t *testing.T) {
	f := mustFlow(t, "meeting_report")
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.FixedZone("ICT", 7*3600))
	yes := true
	n := int64(40)
	answers := map[string]Answer{
		"meeting_held":     {Type: TypeYesNo, Bool: &yes, Display: "Có"},
		"meeting_date":     {Type: TypeDate, Date: "2026-11-20", Display: "20/11/2026"},
		"attendance_total": {Type: TypeNumber, Number: &n, Display: "40 người"},
		"attendance_women": {Type: TypeNumber, Skipped: true, Display: "(bỏ qua)"},
		"attendance_older": {Type: TypeNumber, Skipped: true, Display: "(bỏ qua)"},
		"areas_active":     {Type: TypeMulti, Choices: []string{"culture"}, Display: "Văn hóa – tinh thần"},
		"members_joined":   {Type: TypeNumber, Skipped: true, Display: "(bỏ qua)"},
		"notes":            {Type: TypeText, Skipped: true, Display: "(không có)"},
	}
	s, replies := StartWith(f, 3, map[string]string{"club": "Hoa Sen"}, answers, now)
	if s.Step != "confirm" || s.Status != StatusActive || s.Revision != 3 {
		t.Fatalf("session = step %q status %q rev %d; want the confirm step", s.Step, s.Status, s.Revision)
	}
	if len(replies) != 1 || !strings.Contains(replies[0].Text, "Số người dự: 40 người") {
		t.Fatalf("replies = %+v; want the summary", replies)
	}
	// changing one answer and confirming submits the corrected answers
	s, _, _ = Advance(f, s, Input{Text: "sửa 3"}, now)
	s, _, _ = Advance(f, s, Input{Text: "42"}, now)
	s, _, eff := Advance(f, s, Input{Text: "đồng ý"}, now)
	if len(eff) != 1 || eff[0].Kind != EffectSubmit || *s.Answers["attendance_total"].Number != 42 {
		t.Fatalf("after correction: effects %+v, attendance %+v", eff, s.Answers["attendance_total"])
	}
	if s.Answers["meeting_date"].Date != "2026-11-20" {
		t.Errorf("other answers changed: %+v", s.Answers["meeting_date"])
	}
}
