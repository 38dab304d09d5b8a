package bot

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"clubbot/club"
	"clubbot/digest"
	"clubbot/digest/digesttest"
	"clubbot/internal/memprobe"
	"clubbot/store"
)

// benchDigestStore returns a bbolt file holding clubs clubs with months months of reports
// up to end, generated once and kept in the temporary folder (generating 480,000 reports
// takes longer than the benchmark itself).
func benchDigestStore(b *testing.B, clubs, months int, end time.Time) (*store.DB, int) {
	b.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("clubbot-digest-bench-%dx%d-v2.db", clubs, months))
	count := filepath.Join(os.TempDir(), fmt.Sprintf("clubbot-digest-bench-%dx%d-v2.count", clubs, months))
	if _, err := os.Stat(count); err != nil {
		os.Remove(path)
		db, err := store.Open(path + ".tmp")
		if err != nil {
			b.Fatal(err)
		}
		var cs []club.Club
		var batch []club.Report
		n := 0
		flush := func() {
			if err := db.Update(func(tx *store.Tx) error {
				for _, r := range batch {
					if _, err := tx.AddReport(r); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			n += len(batch)
			batch = batch[:0]
		}
		digesttest.Generate(digesttest.Options{Clubs: clubs, Months: months, End: end, Loc: hcmLoc, Seed: 46},
			func(c club.Club) { cs = append(cs, c) },
			func(r club.Report) {
				if batch = append(batch, r); len(batch) == 20000 {
					flush()
				}
			})
		flush()
		if _, _, err := db.UpsertClubs(cs, end); err != nil {
			b.Fatal(err)
		}
		db.Close()
		if err := os.Rename(path+".tmp", path); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(count, fmt.Appendf(nil, "%d", n), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	raw, _ := os.ReadFile(count)
	var n int
	fmt.Sscan(string(raw), &n)
	db, err := store.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db, n
}

// BenchmarkDigestFromStore is the weekly run as the scheduler does it, minus the sends:
// read 20,000 clubs and 24 months of reports from bbolt, build every province's and the
// national digest, render their text and draw their charts (ARCHITECTURE.md budget:
// < 1 s, < 200 MB). Reproduce (the first run generates the store, about a minute):
//
//	go test ./bot -run '^$' -bench DigestFromStore -benchtime 5x -benchmem
func BenchmarkDigestFromStore(b *testing.B) {
	w := digest.Week{Year: 2025, Num: 46}
	end := w.End(hcmLoc).Add(-time.Second)
	db, n := benchDigestStore(b, 20000, 24, end)
	p := club.MustLoadProvinces()
	tmpl := digestTemplates()
	pk := memprobe.Start()
	cpu0 := memprobe.CPUTime()
	var read int
	for b.Loop() {
		var data digest.Data
		if err := db.View(func(tx *store.Tx) (err error) {
			data, _, err = loadDigestData(tx, p, nil, digest.HistoryStart(end, hcmLoc))
			return err
		}); err != nil {
			b.Fatal(err)
		}
		read = len(data.Reports)
		for _, dg := range digest.Build(data, w, end, nil, digestOptions(p, hcmLoc)) {
			if _, err := renderDigest(tmpl, dg, false, true); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(n), "reports-stored")
	b.ReportMetric(float64(read), "reports-read")
	b.ReportMetric(float64(memprobe.CPUTime()-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
	heap, anon := pk.End()
	b.ReportMetric(heap, "peak-heap-MB")
	b.ReportMetric(anon, "peak-anon-RSS-MB")
	b.ReportMetric(memprobe.StatusMB("VmHWM"), "peak-RSS-MB")
}

// BenchmarkDigestOfficerNow is an officer's "tổng hợp" on the same store: one province's
// digest of the week so far, built inside a read transaction as the worker does.
func BenchmarkDigestOfficerNow(b *testing.B) {
	w := digest.Week{Year: 2025, Num: 46}
	end := w.End(hcmLoc).Add(-time.Second)
	db, _ := benchDigestStore(b, 20000, 24, end)
	p := club.MustLoadProvinces()
	for b.Loop() {
		if err := db.View(func(tx *store.Tx) error {
			_, err := digestNow(tx, p, hcmLoc, "ninh-binh", end, false)
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
}
