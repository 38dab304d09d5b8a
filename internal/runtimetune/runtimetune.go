// Package runtimetune sets the Go runtime the way the clubbot server runs: `clubbot` applies
// it at start, and the load generators under bench/ apply it to their whole process, so that a
// server and the baseline it is compared with run under the same settings.
package runtimetune

import (
	"os"
	"runtime"
	"runtime/debug"
)

// Apply sets, unless the environment sets them:
//
//   - GOGC=200. The live heap is small (tens of MB) and most of a conversation turn's garbage
//     is short-lived JSON: collecting at 200% instead of 100% halves the GC's CPU for a few
//     more MB of heap under load (BENCHMARKS.md, "Conversation turns").
//   - GOMAXPROCS one above the runtime's default (the CPUs the process may use). The inbox
//     committer spends much of its time blocked in fdatasync, and a goroutine blocked in a
//     system call keeps its P while another P is idle or spinning; with one P a core, the
//     webhook requests then queued behind the other P while a core idled. With one P more,
//     the webhook path answered 13% more requests a second at 64 connections, with a lower
//     p99 (BENCHMARKS.md, "Webhook ingest"). Setting it stops the runtime from following
//     later changes of the container's CPU limit; set GOMAXPROCS to choose.
func Apply() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1)
	}
}
