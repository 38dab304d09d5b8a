//go:build unix

package memprobe

import (
	"syscall"
	"time"
)

// CPUTime is the CPU time (user and system) the process has used so far. Benchmarks report
// it per operation beside the wall time, which other work on a shared machine inflates.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
