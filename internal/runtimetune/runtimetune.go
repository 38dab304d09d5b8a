// Package runtimetune sets the Go runtime the way the clubbot server runs: `clubbot` applies
// it at start, and the load generators under bench/ apply it to their whole process, so that a
// server and the baseline it is compared with run under the same settings.
package runtimetune

import (
	"os"
	"runtime/debug"
)

// Apply sets GOGC=200 unless the environment sets GOGC. The live heap is small (tens of MB)
// and most of a conversation turn's garbage is short-lived JSON: collecting at 200% instead
// of 100% halves the GC's CPU for a few more MB of heap under load (BENCHMARKS.md,
// "Conversation turns").
func Apply() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
}
