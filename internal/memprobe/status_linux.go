package memprobe

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// StatusMB reads a memory line of /proc/self/status in MB: VmHWM (peak resident set,
// file pages of the bbolt map included) or RssAnon (resident memory that is not a file:
// the heap, stacks).
func StatusMB(key string) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
