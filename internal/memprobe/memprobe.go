// Package memprobe measures the memory a benchmark uses: the peak Go heap and the peak
// anonymous resident memory, sampled while it runs (a reading after the run would miss the
// peak), and lines of /proc/self/status.
package memprobe

import (
	"runtime"
	"sync"
	"time"
)

// Peaks samples the heap in use and RssAnon every 5 ms until End.
type Peaks struct {
	mu         sync.Mutex
	heap, anon float64 // MB
	stop       chan struct{}
	done       sync.WaitGroup
}

// Start begins sampling.
func Start() *Peaks {
	p := &Peaks{stop: make(chan struct{})}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			anon := StatusMB("RssAnon")
			p.mu.Lock()
			p.heap = max(p.heap, float64(ms.HeapInuse)/(1<<20))
			p.anon = max(p.anon, anon)
			p.mu.Unlock()
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

// End stops sampling and returns the peaks in MB.
func (p *Peaks) End() (heap, anon float64) {
	close(p.stop)
	p.done.Wait()
	return p.heap, p.anon
}
