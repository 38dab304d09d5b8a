package flows

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// flowsDir holds the default templates, owned by this package's authors; the lead's
// templates package embeds the same files.
const flowsDir = "../templates/flows/"

// mustFlow parses a template from templates/flows.
func mustFlow(tb testing.TB, id string) *Flow {
	tb.Helper()
	src, err := os.ReadFile(filepath.Join(flowsDir, id+".yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	f, err := Parse(src)
	if err != nil {
		tb.Fatalf("parse %s: %v", id, err)
	}
	return f
}

// TestTranscripts runs every transcript in templates/flows/transcripts (the shipped flows)
// and flows/testdata/flows/transcripts (a test flow with every step type) against the flow
// it names, from the same folder.
func TestTranscripts(t *testing.T) {
	for _, dir := range []string{flowsDir, "testdata/flows"} {
		files, err := filepath.Glob(filepath.Join(dir, "transcripts", "*.yaml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no transcripts found in %s: %v", dir, err)
		}
		for _, file := range files {
			t.Run(filepath.Base(file), func(t *testing.T) {
				src, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				tr, err := ParseTranscript(src)
				if err != nil {
					t.Fatal(err)
				}
				fsrc, err := os.ReadFile(filepath.Join(dir, tr.Flow+".yaml"))
				if err != nil {
					t.Fatal(err)
				}
				f, err := Parse(fsrc)
				if err != nil {
					t.Fatalf("parse %s: %v", tr.Flow, err)
				}
				failures, err := RunTranscript(f, src)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range failures {
					t.Error(f)
				}
			})
		}
	}
}

// TestRunTranscriptReports checks that the runner catches each kind of mismatch, so a green
// transcript run means something.
func TestRunTranscriptReports(t *testing.T) {
	src := []byte(`
flow: meeting_report
now: 2026-11-25T10:00:00+07:00
cases:
  - name: wrong on purpose
    turns:
      - bot: ["không có câu này"]
        buttons: ["Nút lạ"]
      - user: co
        not: ["họp ngày nào"]
        step: attendance_total
        effect: submit
    status: done
    answers: {meeting_held: Không, meeting_date: 20/11/2026, notes: "-"}
    choices: {areas_active: [health]}
`)
	failures, err := RunTranscript(mustFlow(t, "meeting_report"), src)
	if err != nil {
		t.Fatal(err)
	}
	wants := []string{
		`does not contain "không có câu này"`,
		`has no button "Nút lạ"`,
		`contains "họp ngày nào"`,
		`step (after "co") is "meeting_date", want "attendance_total"`,
		`want "submit"`,
		`status is "active", want "done"`,
		`answer meeting_held is "Có", want "Không"`,
		`answer meeting_date is missing`,
		`choices of areas_active are [], want ["health"]`,
	}
	if len(failures) != len(wants) {
		t.Errorf("got %d failures, want %d: %v", len(failures), len(wants), failures)
	}
	for _, w := range wants {
		found := false
		for _, f := range failures {
			if strings.Contains(f.Message, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("no failure containing %q in %v", w, failures)
		}
	}
	if _, err := RunTranscript(mustFlow(t, "meeting_report"), []byte("flow: other\ncases: [{name: x}]\n")); err == nil {
		t.Error("a transcript for another flow should be refused")
	}
	if _, err := ParseTranscript([]byte("flow: x\ncasez: []\n")); err == nil {
		t.Error("an unknown key in a transcript should be an error")
	}
}
