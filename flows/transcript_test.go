package flows

import (
	"os"
	"path/filepath"
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

// TestTranscripts runs every transcript in templates/flows/transcripts against the flow it
// names.
func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(flowsDir, "transcripts", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts found: %v", err)
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
			failures, err := RunTranscript(mustFlow(t, tr.Flow), src)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range failures {
				t.Error(f)
			}
		})
	}
}
