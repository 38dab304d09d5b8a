package digest

import (
	"runtime"
	"sync"
	"time"
)

// peaks samples the Go heap in use and the anonymous resident memory every 5 ms while a
// benchmark runs, and keeps their maxima (a reading after each run would miss the peak).
type peaks struct {
	mu         sync.Mutex
	heap, anon float64 // MB
	stop       chan struct{}
	done       sync.WaitGroup
}

func startPeaks() *peaks {
	p := &peaks{stop: make(chan struct{})}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			anon := procStatusMB("RssAnon")
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

// end stops sampling and returns the peaks in MB.
func (p *peaks) end() (heap, anon float64) {
	close(p.stop)
	p.done.Wait()
	return p.heap, p.anon
}
