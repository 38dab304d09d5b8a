//go:build !unix

package bot

import "time"

func cpuTime() time.Duration { return 0 }
