package flows

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// play starts flow f and feeds it the inputs, failing the test on any broken promise
// (empty reply, invalid session). It returns the final session and the last turn's output.
func play(t testing.TB, f *Flow, inputs ...string) (Session, []Reply, []Effect) {
	t.Helper()
	s, replies := Start(f, 1, map[string]string{"club": "Hoa Sen"}, wed)
	var effects []Effect
	for _, in := range inputs {
		s, replies, effects = Advance(f, s, Input{Text: in}, wed)
		if err := CheckReplies(replies); err != nil {
			t.Fatalf("after %q: %v", in, err)
		}
		if err := CheckSession(s); err != nil {
			t.Fatalf("after %q: %v", in, err)
		}
	}
	return s, replies, effects
}

func text(replies []Reply) string {
	var parts []string
	for _, r := range replies {
		parts = append(parts, r.Text)
	}
	return strings.Join(parts, "\n")
}

// notesFlow is a small flow with a text step and a multi step after a yes/no.
const notesFlow = `
id: notes
steps:
  - name: held
    type: yesno
    prompt: Đã họp chưa?
  - name: note
    type: text
    prompt: Ghi chú gì không?
  - name: areas
    type: multi
    prompt: Mảng nào?
    options:
      - {code: self-help, label: Tự giúp nhau, keywords: [giúp đỡ]}
      - {code: resources, label: Nguồn lực, keywords: [huy động]}
  - name: confirm
    type: confirm
    prompt: "Xem lại:"
`

func TestCommands(t *testing.T) {
	f, err := Parse([]byte(notesFlow))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		inputs []string
		step   string // step after the last input
		status string
		reply  string // substring of the last reply
		answer string // Display of the answer to the step before, when set: "note=..."
	}{
		{"cancel", []string{"hủy"}, "", StatusCancelled, "đã hủy báo cáo", ""},
		{"cancel without diacritics", []string{"huy"}, "", StatusCancelled, "đã hủy", ""},
		{"cancel with particle", []string{"hủy nhé"}, "", StatusCancelled, "đã hủy", ""},
		{"short word, no typo allowed", []string{"huyy"}, "held", StatusActive, "Ví dụ: có", ""},
		{"cancel button", []string{PayloadCancel}, "", StatusCancelled, "đã hủy", ""},
		{"back at first question", []string{"quay lại"}, "held", StatusActive, "câu hỏi đầu tiên", ""},
		{"back with typo", []string{"co", "x", "qay lai"}, "note", StatusActive, "quay lại câu trước", ""},
		{"back glued", []string{"co", "quaylai"}, "areas", StatusActive, "Mảng nào", "note=quaylai"},
		{"back twice", []string{"co", "x", "quay lai", "quay lai"}, "held", StatusActive, "Lần trước Bác trả lời: Có", ""},
		{"help", []string{"giúp"}, "held", StatusActive, "Bác gõ 1 nếu có", ""},
		{"help with typo", []string{"giupp"}, "held", StatusActive, "Bác gõ 1 nếu có", ""},
		{"help by question mark", []string{"?"}, "held", StatusActive, "quay lại", ""},
		{"text: a note starting with huy is an answer", []string{"co", "huy động nguồn lực"}, "areas", StatusActive, "Dạ, đã ghi lại", "note=huy động nguồn lực"},
		{"text: a typo command is an answer", []string{"co", "qay lai"}, "areas", StatusActive, "Mảng nào", "note=qay lai"},
		{"text: an exact command interrupts", []string{"co", "Quay lại!"}, "held", StatusActive, "quay lại câu trước", ""},
		{"text: exact cancel", []string{"co", "Hủy."}, "", StatusCancelled, "đã hủy", ""},
		{"multi: giúp đỡ is an area, not help", []string{"co", "x", "giúp đỡ"}, "confirm", StatusActive, "Tự giúp nhau", "areas=Tự giúp nhau"},
		{"multi: huy động is an area, not cancel", []string{"co", "x", "huy dong"}, "confirm", StatusActive, "Nguồn lực", "areas=Nguồn lực"},
		{"confirm: cancel by number", []string{"co", "x", "1", "3"}, "", StatusCancelled, "đã hủy", ""},
		{"confirm: back", []string{"co", "x", "1", "quay lai"}, "areas", StatusActive, "Mảng nào", ""},
		{"skip a required step", []string{"bỏ qua"}, "held", StatusActive, "Câu này cần Bác trả lời", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, replies, _ := play(t, f, tt.inputs...)
			if s.Step != tt.step || s.Status != tt.status {
				t.Errorf("step, status = %q, %q; want %q, %q", s.Step, s.Status, tt.step, tt.status)
			}
			if got := text(replies); !strings.Contains(got, tt.reply) {
				t.Errorf("reply = %q, want it to contain %q", got, tt.reply)
			}
			if tt.answer != "" {
				name, want, _ := strings.Cut(tt.answer, "=")
				if got := s.Answers[name].Display; got != want {
					t.Errorf("answer %s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestWrongAnswers(t *testing.T) {
	f := mustFlow(t, "meeting_report")
	s, _ := Start(f, 1, nil, wed)
	s, _, _ = Advance(f, s, Input{Text: "có"}, wed)
	s, _, _ = Advance(f, s, Input{Text: "hôm qua"}, wed)
	for i := 1; i <= 4; i++ {
		var replies []Reply
		s, replies, _ = Advance(f, s, Input{Text: "abc"}, wed)
		if len(replies) != 1 {
			t.Fatalf("wrong answer %d: %d replies, want one message", i, len(replies))
		}
		r := replies[0]
		for _, want := range []string{"“abc” chưa phải là một con số", "Ví dụ: 35.", "Buổi họp có bao nhiêu người dự"} {
			if !strings.Contains(r.Text, want) {
				t.Errorf("wrong answer %d: reply %q does not contain %q", i, r.Text, want)
			}
		}
		if strings.Count(r.Text, "Ví dụ:") != 2 { // one in the repair line, one in the prompt
			t.Errorf("wrong answer %d: reply %q should give exactly one example besides the prompt's", i, r.Text)
		}
		offers := strings.Contains(r.Text, "gõ “giúp”") && len(r.Buttons) == 2
		if want := i >= maxWrong; offers != want {
			t.Errorf("wrong answer %d: offers help = %v, want %v (%q, %v)", i, offers, want, r.Text, r.Buttons)
		}
		if s.Wrong != i {
			t.Errorf("wrong answer %d: Wrong = %d", i, s.Wrong)
		}
	}
	s, _, _ = Advance(f, s, Input{Text: "30"}, wed)
	if s.Wrong != 0 || s.Step != "attendance_women" {
		t.Errorf("after a right answer: Wrong = %d, step = %q; want 0, attendance_women", s.Wrong, s.Step)
	}
}

func TestNotActive(t *testing.T) {
	f := mustFlow(t, "meeting_report")
	for _, status := range []string{StatusDone, StatusCancelled, "", "weird"} {
		in := Session{FlowID: "meeting_report", Status: status, Answers: map[string]Answer{"x": {Display: "y"}}}
		got, replies, effects := Advance(f, in, Input{Text: "có"}, wed)
		if !reflect.DeepEqual(got, in) {
			t.Errorf("status %q: session changed: %+v", status, got)
		}
		if len(replies) != 1 || replies[0].Text == "" || len(effects) != 0 {
			t.Errorf("status %q: replies %v, effects %v; want one short reply, no effect", status, replies, effects)
		}
	}
}

// TestPure checks that Advance leaves the caller's session alone: the engine returns a new
// session and never writes through the maps it was given.
func TestPure(t *testing.T) {
	f := mustFlow(t, "meeting_report")
	s, _, _ := play(t, f, "có", "hôm qua", "30")
	before, _ := json.Marshal(s)
	for _, in := range []string{"quay lại", "12", "hủy", "bỏ qua"} {
		Advance(f, s, Input{Text: in}, wed.Add(time.Hour))
		after, _ := json.Marshal(s)
		if string(after) != string(before) {
			t.Fatalf("Advance(%q) changed its input session:\n%s\n%s", in, before, after)
		}
	}
}

// TestJSONResume checks that a session stored as JSON between every turn behaves exactly
// like one kept in memory.
func TestJSONResume(t *testing.T) {
	f := mustFlow(t, "meeting_report")
	inputs := []string{"co", "20/11", "40", "bo qua", "sai", "10", "1 2 3", "5", "2", "quay lai", "3", "không", "sửa 3", "0", "không", "sửa 3", "41", "ok"}
	mem, _ := Start(f, 7, map[string]string{"club": "Hoa Sen"}, wed)
	disk := mem
	for _, in := range inputs {
		var rm, rd []Reply
		var em, ed []Effect
		mem, rm, em = Advance(f, mem, Input{Text: in}, wed)
		b, err := json.Marshal(disk)
		if err != nil {
			t.Fatal(err)
		}
		var loaded Session
		if err := json.Unmarshal(b, &loaded); err != nil {
			t.Fatal(err)
		}
		disk, rd, ed = Advance(f, loaded, Input{Text: in}, wed)
		if !reflect.DeepEqual(rm, rd) || !reflect.DeepEqual(em, ed) {
			t.Fatalf("after %q: in memory %v %v, from JSON %v %v", in, rm, em, rd, ed)
		}
	}
	if mem.Status != StatusDone || disk.Status != StatusDone || disk.Revision != 7 {
		t.Errorf("status %q / %q, revision %d; want done, done, 7", mem.Status, disk.Status, disk.Revision)
	}
	if got := disk.Answers["attendance_total"].Display; got != "41 người" {
		t.Errorf("attendance_total = %q, want 41 người (edited from the summary)", got)
	}
}

func TestSummary(t *testing.T) {
	f := mustFlow(t, "meeting_report")
	s, replies, _ := play(t, f, "có", "20/11", "40", "bỏ qua", "30", "2 7", "bỏ qua", "0", "không")
	want := "1. Tháng này có họp: Có\n" +
		"2. Ngày họp: 20/11/2026\n" +
		"3. Số người dự: 40 người\n" +
		"4. Số nữ: (bỏ qua)\n" +
		"5. Số người từ 60 tuổi: 30 người\n" +
		"6. Mảng hoạt động: Sức khỏe, Văn hóa – tinh thần\n" +
		"7. Số người đo huyết áp: (bỏ qua)\n" +
		"8. Thành viên mới: 0 người\n" +
		"9. Khó khăn, đề nghị: (không có)"
	if got := Summary(f, s); got != want {
		t.Errorf("Summary =\n%s\nwant\n%s", got, want)
	}
	if !strings.Contains(text(replies), want) || !strings.Contains(text(replies), "1. Đồng ý gửi") {
		t.Errorf("confirm reply does not show the summary and choices:\n%s", text(replies))
	}
	// The stored answers are typed, not only display text.
	if a := s.Answers["areas_active"]; !reflect.DeepEqual(a.Choices, []string{"health", "culture"}) {
		t.Errorf("areas_active choices = %q", a.Choices)
	}
	if a := s.Answers["meeting_date"]; a.Date != "2026-11-20" {
		t.Errorf("meeting_date = %q, want 2026-11-20", a.Date)
	}
	if a := s.Answers["attendance_total"]; a.Number == nil || *a.Number != 40 {
		t.Errorf("attendance_total number = %v, want 40", a.Number)
	}
	if a := s.Answers["meeting_held"]; a.Bool == nil || !*a.Bool {
		t.Errorf("meeting_held bool = %v, want true", a.Bool)
	}
	if a := s.Answers["notes"]; !a.Skipped || a.Text != "" {
		t.Errorf("notes = %+v, want skipped", a)
	}
	s, replies, effects := play(t, f, "có", "20/11", "40", "bỏ qua", "30", "2 7", "bỏ qua", "0", "không", "đồng ý")
	if s.Status != StatusDone || len(effects) != 1 || effects[0].Kind != EffectSubmit || s.Step != "" {
		t.Errorf("after đồng ý: %q %v %q; want done with one submit", s.Status, effects, s.Step)
	}
	if !strings.Contains(text(replies), "Cảm ơn Bác") {
		t.Errorf("thank-you reply = %q", text(replies))
	}
}

func TestChoicesAlwaysNumbered(t *testing.T) {
	f, err := Parse([]byte(`
id: c
steps:
  - name: kind
    type: choice
    prompt: Buổi họp loại nào?
    options:
      - {code: regular, label: Thường kỳ, keywords: [hằng tháng]}
      - {code: extra, label: Bất thường}
`))
	if err != nil {
		t.Fatal(err)
	}
	s, replies := Start(f, 1, nil, wed)
	r := replies[0]
	if !strings.Contains(r.Text, "1. Thường kỳ\n2. Bất thường") {
		t.Errorf("prompt %q lacks the numbered choices", r.Text)
	}
	if len(r.Buttons) != 2 || r.Buttons[1] != (Button{"Bất thường", "#opt:extra"}) {
		t.Errorf("buttons = %v", r.Buttons)
	}
	for _, in := range []string{"2", "bat thuong", "Bất thường", "#opt:extra", "#opt:2", "bất thườngg"} {
		got, _, effects := Advance(f, s, Input{Text: in}, wed)
		if a := got.Answers["kind"]; len(a.Choices) != 1 || a.Choices[0] != "extra" || len(effects) != 1 {
			t.Errorf("answer %q = %+v, effects %v; want extra and submit (no confirm step)", in, a, effects)
		}
	}
	for _, in := range []string{"1 2", "3", "abc"} {
		got, _, _ := Advance(f, s, Input{Text: in}, wed)
		if _, ok := got.Answers["kind"]; ok || got.Wrong != 1 {
			t.Errorf("answer %q accepted (%+v)", in, got.Answers)
		}
	}
}

// TestFlowInCode checks that a Flow built in code, not by Parse, works too.
func TestFlowInCode(t *testing.T) {
	f := &Flow{ID: "code", Steps: []Step{
		{Name: "n", Type: TypeNumber, Prompt: "Bao nhiêu, {{.club}}?"},
		{Name: "m", Type: TypeNumber, Prompt: "Thêm?", When: "n > 5"},
	}}
	s, replies := Start(f, 1, map[string]string{"club": "Sen"}, wed)
	if replies[0].Text != "Bao nhiêu, Sen?" {
		t.Errorf("prompt = %q", replies[0].Text)
	}
	s, _, effects := Advance(f, s, Input{Text: "3"}, wed)
	if s.Status != StatusDone || len(effects) != 1 {
		t.Errorf("n=3 should skip m and finish: %+v %v", s, effects)
	}
}

func TestAddress(t *testing.T) {
	f, err := Parse([]byte("id: a\naddress: Ông\nsteps:\n  - {name: n, type: number, prompt: \"Bao nhiêu người?\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := Start(f, 1, nil, wed)
	_, replies, _ := Advance(f, s, Input{Text: "giúp"}, wed)
	if got := text(replies); strings.Contains(got, "Bác") || !strings.Contains(got, "Ông") {
		t.Errorf("reply %q should address the user as Ông", got)
	}
}

func TestBadSessionRecovers(t *testing.T) {
	f := mustFlow(t, "meeting_report")
	s := Session{FlowID: f.ID, Status: StatusActive, Step: "gone", Answers: nil, Wrong: -3}
	got, replies, _ := Advance(f, s, Input{Text: "có"}, wed)
	if got.Step != "meeting_held" || got.Wrong != 0 || !strings.Contains(text(replies), "đã họp chưa") {
		t.Errorf("recovered at %q (wrong %d) with %q; want the first question", got.Step, got.Wrong, text(replies))
	}
}

func TestPhotosAnyStep(t *testing.T) {
	f := mustFlow(t, "meeting_report")
	s, _ := Start(f, 1, nil, wed)
	s, replies, _ := Advance(f, s, Input{Photos: []string{"https://x/1.jpg", "https://x/2.jpg"}}, wed)
	if s.Step != "meeting_held" || !strings.Contains(text(replies), "đã nhận 2 ảnh") || !strings.Contains(text(replies), "đã họp chưa") {
		t.Errorf("photo turn: step %q, reply %q", s.Step, text(replies))
	}
	s, _, _ = Advance(f, s, Input{Text: "không", Photos: []string{"https://x/3.jpg"}}, wed)
	if got := s.Answers[PhotosKey].Photos; len(got) != 3 {
		t.Errorf("photos = %q, want 3", got)
	}
	if s.Answers["meeting_held"].Display != "Không" {
		t.Errorf("text sent with a photo was not taken as the answer: %+v", s.Answers["meeting_held"])
	}
}

// FuzzAdvance feeds random messages to the default flow: the engine must never panic, every
// message must get a non-empty reply and the session must stay valid.
func FuzzAdvance(f *testing.F) {
	flow := mustFlow(f, "meeting_report")
	for _, seed := range []string{
		"có\n20/11\n40\nbỏ qua\n30\n1 2 3 7\n5\n3\n2\n15 triệu\n0\nkhông\nđồng ý",
		"khong\nhuy dong\nsua 2\n1",
		"co\n32/13\nhom qua\nabc\n-5\n1e9\nquay lai\nqay lai\ngiup\n#opt:yes\n#cmd:skip",
		"1\nhôm nay\n0\n\x00\n\xff\xfe\n" + strings.Repeat("9", 40) + "\n1-999999\n0 0 0",
		"co\nthu bay tuan truoc\n5\n6\n7\ntat ca\n1tr5\n\n\n2,5 triệu\n9999999999999999999\nsua 99\nsua\n7\nok",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, script string) {
		s, replies := Start(flow, 1, map[string]string{"club": "Sen"}, wed)
		if err := CheckReplies(replies); err != nil {
			t.Fatal(err)
		}
		now := wed
		for _, line := range strings.Split(script, "\n") {
			now = now.Add(time.Minute)
			var photos []string
			if strings.HasPrefix(line, "photo") {
				photos = []string{line}
			}
			s, replies, _ = Advance(flow, s, Input{Text: line, Photos: photos}, now)
			if err := CheckReplies(replies); err != nil {
				t.Fatalf("after %q: %v", line, err)
			}
			if err := CheckSession(s); err != nil {
				t.Fatalf("after %q: %v", line, err)
			}
			if s.Status == StatusActive && flow.Step(s.Step) == nil {
				t.Fatalf("after %q: at unknown step %q", line, s.Step)
			}
		}
	})
}

// BenchmarkAdvance measures one turn of the default flow, averaged over a whole report
// (the budget is 10,000 turns/s for webhook → engine → reply queued).
func BenchmarkAdvance(b *testing.B) {
	f := mustFlow(b, "meeting_report")
	inputs := []string{"có", "20/11", "khoảng 40 người", "có", "25", "bỏ qua", "suc khoe, van nghe", "30", "0", "Cần thêm máy đo huyết áp", "đồng ý"}
	b.ReportAllocs()
	for b.Loop() {
		s, _ := Start(f, 1, map[string]string{"club": "Hoa Sen"}, wed)
		for _, in := range inputs {
			s, _, _ = Advance(f, s, Input{Text: in}, wed)
		}
		if s.Status != StatusDone {
			b.Fatalf("status %q at %q", s.Status, s.Step)
		}
	}
}
