package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const shippedFlows = "../../templates/flows"

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, nil, &out, &errOut)
	return out.String() + errOut.String(), err
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func wantIn(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

const tinyFlow = `id: tiny
steps:
  - name: held
    type: yesno
    prompt: Đã họp chưa ạ?
  - name: total
    type: number
    when: held == true
    min: 1
    prompt: Bao nhiêu người ạ?
`

func TestFlowsValidateCommand(t *testing.T) {
	out, err := runCmd(t, "flows", "validate", shippedFlows)
	if err != nil {
		t.Fatalf("the shipped flows do not validate: %v\n%s", err, out)
	}
	wantIn(t, out, "OK   meeting_report.yaml (meeting_report, 14 steps, nudge after 30m0s, expires after 24h0m0s)")

	dir := writeFiles(t, map[string]string{
		"tiny.yaml":     tinyFlow,
		"bad.yaml":      "id: bad\nnudge_after: soon\nsteps:\n  - name: a\n    type: texte\n    prompt: p\n  - {name: a, type: text, prompt: q}\n",
		"misnamed.yaml": strings.Replace(tinyFlow, "id: tiny", "id: other", 1),
	})
	out, err = runCmd(t, "flows", "validate", dir)
	if err == nil || !strings.Contains(err.Error(), "2 invalid template(s)") {
		t.Fatalf("validate of a folder with bad templates: err %v\n%s", err, out)
	}
	wantIn(t, out, "OK   tiny.yaml", "FAIL bad.yaml", "bad.yaml:2: nudge_after must be a duration", `bad.yaml:5: step "a": unknown type "texte"`,
		`bad.yaml:7: step name "a" is already used at line 4`, "FAIL misnamed.yaml", `does not match the file name misnamed.yaml`)
	if _, err := runCmd(t, "flows", "validate", t.TempDir()); err == nil {
		t.Error("an empty folder should be an error")
	}
	if _, err := runCmd(t, "flows"); err == nil {
		t.Error("flows without a subcommand should be an error")
	}
	if _, err := runCmd(t, "flows", "lint", dir); err == nil {
		t.Error("an unknown flows subcommand should be an error")
	}
}

func TestFlowsTestCommand(t *testing.T) {
	out, err := runCmd(t, "flows", "test", shippedFlows)
	if err != nil {
		t.Fatalf("the shipped transcripts fail: %v\n%s", err, out)
	}
	wantIn(t, out, "PASS transcripts/meeting_report.yaml: full report with every area question, confirmed",
		"PASS transcripts/meeting_report_time.yaml: one nudge after 30 idle minutes", " 0 failed")
	if out, err := runCmd(t, "flows", "test", "../../flows/testdata/flows"); err != nil {
		t.Fatalf("the test flow's transcripts fail: %v\n%s", err, out)
	}

	dir := writeFiles(t, map[string]string{
		"tiny.yaml": tinyFlow,
		"transcripts/tiny.yaml": `flow: tiny
now: 2026-11-25T10:00:00+07:00
cases:
  - name: passes
    turns:
      - bot: ["Đã họp chưa"]
      - user: co
        bot: ["Bao nhiêu người"]
  - name: fails
    turns:
      - user: co
        bot: ["Mấy người"]
        step: held
`,
		"transcripts/other.yaml": "flow: nowhere\ncases: [{name: lost, turns: [{user: x}]}]\n",
	})
	out, err = runCmd(t, "flows", "test", dir)
	if err == nil {
		t.Fatalf("a failing transcript passed:\n%s", out)
	}
	wantIn(t, out, "PASS transcripts/tiny.yaml: passes", "FAIL transcripts/tiny.yaml: fails", `turn 1: reply (after "co") does not contain "Mấy người"`,
		`turn 1: step (after "co") is "total", want "held"`, `FAIL transcripts/other.yaml: no valid flow "nowhere"`, "3 case(s), 2 failed")
}

func TestChatCommand(t *testing.T) {
	script := strings.Join([]string{
		"co", "hôm qua", "40", "/wait 31m", "bo qua", "báo cáo", "1", "bo qua", "7", "0", "/photo https://example.com/a.jpg",
		"khong", "/answers", "1", "co", "bao cao", "huy", "/quit", "never read",
	}, "\n")
	old := chatInput
	chatInput = strings.NewReader(script)
	t.Cleanup(func() { chatInput = old })
	out, err := runCmd(t, "chat", "--now", "2026-11-25T10:00:00+07:00", "--club", "Hoa Sen")
	if err != nil {
		t.Fatalf("chat: %v\n%s", err, out)
	}
	wantIn(t, out,
		"bot> Chào Bác! Mình báo cáo sinh hoạt tháng của CLB Hoa Sen nhé.", "[Có] [Không]",
		"you> hôm qua", "Thứ Ba 24/11/2026",
		"(31m0s later: the nudge)", "Bác ơi, báo cáo của CLB Hoa Sen còn dở", "3/8 câu",
		"you> báo cáo\nbot> Bác đang làm dở báo cáo.", "4/8 câu",
		"đã nhận 1 ảnh",
		`"attendance_total": {`, // /answers
		"(submitted on revision 1; the stored answers:)",
		"(no conversation in progress",
		"(cancelled; nothing stored)",
	)
	if strings.Contains(out, "never read") {
		t.Error("chat read past /quit")
	}
	// A template file: chat publishes it in the throwaway store and runs it.
	dir := writeFiles(t, map[string]string{"tiny.yaml": tinyFlow})
	chatInput = strings.NewReader("ừ\n0\n12\n")
	out, err = runCmd(t, "chat", "--file", filepath.Join(dir, "tiny.yaml"))
	if err != nil {
		t.Fatalf("chat --file: %v\n%s", err, out)
	}
	wantIn(t, out, "bot> Đã họp chưa ạ?", "Số 0 nhỏ quá", "(submitted on revision 1;", `"number": 12`)
	if _, err := runCmd(t, "chat", "--flow", "nope"); err == nil {
		t.Error("chat with an unknown flow should be an error")
	}
}
