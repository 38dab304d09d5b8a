// Command export measures GET /api/v1/reports on a large store: it fills a bbolt file with
// synthetic meeting reports (once), then, for each format, runs the export in a fresh child
// process through the real HTTP handler and reports wall time, bytes written, peak Go heap
// in use and peak anonymous RSS. Run from the repository root:
//
//	go run ./bench/export -n 200000 -formats csv,xlsx,json
//
// A child process per format keeps the figures apart: filling the store and earlier exports
// do not count. Peak RSS is also given as VmHWM, which includes the pages of the bbolt file
// the scan touched (file-backed, shared with the page cache, not the process's own memory).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	_ "time/tzdata"

	"github.com/rs/zerolog"

	"clubbot/bot"
	"clubbot/club"
	"clubbot/flows"
	"clubbot/internal/memprobe"
	"clubbot/store"
)

const token = "bench-token"

func main() {
	n := flag.Int("n", 200000, "reports in the store")
	clubsN := flag.Int("clubs", 20000, "clubs in the registry")
	dbPath := flag.String("db", filepath.Join(os.TempDir(), "clubbot-bench-export.db"), "bbolt file (filled if it holds fewer reports)")
	formats := flag.String("formats", "csv,xlsx,json", "formats to export, comma-separated")
	query := flag.String("query", "", "extra query, e.g. from=2026-03-01&to=2026-03-31")
	child := flag.String("child", "", "internal: run one export in this process")
	profile := flag.String("profile", "", "write CPU and heap profiles of each export to this folder")
	flag.Parse()
	if *child != "" {
		if err := runExport(*dbPath, *child, *query, *profile); err != nil {
			fmt.Fprintln(os.Stderr, "export:", err)
			os.Exit(1)
		}
		return
	}
	if err := fill(*dbPath, *n, *clubsN); err != nil {
		fmt.Fprintln(os.Stderr, "fill:", err)
		os.Exit(1)
	}
	fi, _ := os.Stat(*dbPath)
	fmt.Printf("store %s: %d reports, %d clubs, %.0f MB; GOMAXPROCS=%d, %s\n",
		*dbPath, *n, *clubsN, float64(fi.Size())/1e6, runtime.GOMAXPROCS(0), runtime.Version())
	for _, f := range strings.Split(*formats, ",") {
		cmd := exec.Command(os.Args[0], "-child", f, "-db", *dbPath, "-query", *query, "-profile", *profile)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "child", f, ":", err)
			os.Exit(1)
		}
	}
}

// fill creates clubs across the 34 provinces (10 communes each) and n reports spread over
// 24 months, shaped like the default meeting_report flow's answers.
func fill(path string, n, clubsN int) error {
	db, err := store.Open(path)
	if err != nil {
		return err
	}
	defer db.Close()
	have := 0
	db.View(func(tx *store.Tx) error {
		return tx.Reports(func(club.Report) bool { have++; return true })
	})
	if have >= n {
		return nil
	}
	if have > 0 {
		return fmt.Errorf("%s holds %d reports, fewer than %d: delete it first", path, have, n)
	}
	provinces := club.MustLoadProvinces().All()
	clubs := make([]club.Club, clubsN)
	for i := range clubs {
		p := provinces[i%len(provinces)]
		clubs[i] = club.Club{Code: fmt.Sprintf("C%05d", i), Name: fmt.Sprintf("CLB Liên thế hệ thôn %d", i), Province: p.Code,
			Commune: fmt.Sprintf("Xã Số %d", (i/len(provinces))%10), ChairName: "Chủ nhiệm", ChairPhone: fmt.Sprintf("09%08d", i), Members: 50}
	}
	if _, _, conflicts, err := db.ImportClubs(clubs, time.Now()); err != nil || conflicts != nil {
		return fmt.Errorf("clubs: %v %v", err, conflicts)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	areas := []string{"income", "health", "home-care", "self-help", "rights", "learning", "culture", "resources"}
	num := func(v int64) *int64 { return &v }
	yes, no := true, false
	const batch = 5000
	for done := 0; done < n; done += batch {
		err := db.Update(func(tx *store.Tx) error {
			for i := done; i < min(done+batch, n); i++ {
				c := clubs[i%clubsN]
				day := start.AddDate(0, 0, rng.IntN(730))
				r := club.Report{ClubCode: c.Code, Province: c.Province, Commune: c.Commune, FlowID: bot.ReportFlow, FlowRevision: 1,
					MeetingDate: day.Format(time.DateOnly), Held: rng.IntN(10) > 0, ReporterID: fmt.Sprintf("user%05d", i%clubsN),
					CreatedAt: day.Add(30 * time.Hour), Answers: map[string]flows.Answer{}}
				if !r.Held {
					r.Answers["meeting_held"] = flows.Answer{Type: flows.TypeYesNo, Bool: &no, Display: "Không"}
					r.Answers["no_meeting_reason"] = flows.Answer{Type: flows.TypeText, Text: "Trùng mùa gặt, hoãn sang tháng sau", Display: "Trùng mùa gặt, hoãn sang tháng sau"}
				} else {
					att := int64(20 + rng.IntN(40))
					var picked []string
					for _, a := range areas {
						if rng.IntN(2) == 0 {
							picked = append(picked, a)
						}
					}
					r.Answers["meeting_held"] = flows.Answer{Type: flows.TypeYesNo, Bool: &yes, Display: "Có"}
					r.Answers["meeting_date"] = flows.Answer{Type: flows.TypeDate, Date: r.MeetingDate, Display: day.Format("02/01/2006")}
					r.Answers["attendance_total"] = flows.Answer{Type: flows.TypeNumber, Number: num(att), Display: fmt.Sprintf("%d người", att)}
					r.Answers["attendance_women"] = flows.Answer{Type: flows.TypeNumber, Number: num(att / 2), Display: "x người"}
					r.Answers["attendance_older"] = flows.Answer{Type: flows.TypeNumber, Skipped: true, Display: "(bỏ qua)"}
					r.Answers["areas_active"] = flows.Answer{Type: flows.TypeMulti, Choices: picked, Display: strings.Join(picked, ", ")}
					r.Answers["health_checks"] = flows.Answer{Type: flows.TypeNumber, Number: num(att - 5), Display: "x người"}
					r.Answers["loans_new_count"] = flows.Answer{Type: flows.TypeNumber, Number: num(3), Display: "3 người"}
					r.Answers["loans_new_amount"] = flows.Answer{Type: flows.TypeMoney, Number: num(15000000), Display: "15.000.000 đồng"}
					r.Answers["members_joined"] = flows.Answer{Type: flows.TypeNumber, Number: num(1), Display: "1 người"}
					r.Answers["notes"] = flows.Answer{Type: flows.TypeText, Text: "CLB cần thêm máy đo huyết áp và kinh phí sinh hoạt", Display: "x"}
				}
				if _, err := tx.AddReport(r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// runExport exports once through the real handler on a loopback server, streaming the
// body into a counter, while a sampler records the peaks.
func runExport(path, format, query, profile string) error {
	db, err := store.Open(path)
	if err != nil {
		return err
	}
	defer db.Close()
	loc, _ := time.LoadLocation("Asia/Ho_Chi_Minh")
	b, err := bot.New(bot.Options{DB: db, Log: zerolog.Nop(), AdminToken: token, Loc: loc,
		APIBase: "http://127.0.0.1:1", OAuthBase: "http://127.0.0.1:1"})
	if err != nil {
		return err
	}
	srv := httptest.NewServer(b.Handler())
	defer srv.Close()

	runtime.GC()
	var peakHeap, peakAnon atomic.Uint64
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peakHeap.Store(max(peakHeap.Load(), ms.HeapInuse))
			peakAnon.Store(max(peakAnon.Load(), procStatus("RssAnon")))
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	url := srv.URL + "/api/v1/reports?format=" + format
	if query != "" {
		url += "&" + query
	}
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if profile != "" {
		pf, err := os.Create(filepath.Join(profile, format+".cpu"))
		if err != nil {
			return err
		}
		defer pf.Close()
		pprof.StartCPUProfile(pf)
		defer func() {
			pprof.StopCPUProfile()
			hf, _ := os.Create(filepath.Join(profile, format+".heap"))
			pprof.Lookup("allocs").WriteTo(hf, 0)
			hf.Close()
		}()
	}
	var ru0 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	began := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	var first time.Duration
	cw := &countWriter{onFirst: func() { first = time.Since(began) }}
	_, err = io.Copy(cw, resp.Body)
	resp.Body.Close()
	took := time.Since(began)
	var ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	stop()
	wg.Wait()
	if err != nil || resp.StatusCode != 200 {
		return fmt.Errorf("status %d: %v", resp.StatusCode, err)
	}
	fmt.Printf("%-4s  wall %6.2f s  cpu %6.2f s  first byte %6.2f s  %6.1f MB written  peak HeapInuse %5.1f MB  peak RssAnon %5.1f MB  VmHWM %5.1f MB\n",
		format, took.Seconds(), cpu.Seconds(), first.Seconds(), float64(cw.n)/1e6, float64(peakHeap.Load())/1e6,
		float64(peakAnon.Load())/1e6, float64(procStatus("VmHWM"))/1e6)
	return nil
}

type countWriter struct {
	n       int64
	onFirst func()
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.n == 0 && len(p) > 0 {
		c.onFirst()
	}
	c.n += int64(len(p))
	return len(p), nil
}

// procStatus reads a "kB" field of /proc/self/status in bytes (0 where there is no /proc).
func procStatus(field string) uint64 { return uint64(memprobe.StatusMB(field) * (1 << 20)) }
