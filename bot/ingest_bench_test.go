package bot

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"

	"clubbot/bench/benchkit"
	"clubbot/bot/zalo"
	"clubbot/store"
)

// benchEvent is a user_send_text shaped like the fixture, with the i-th message id.
func benchEvent(i int64) []byte {
	body, _ := benchkit.TextEvent(testAppID, testOAID, fmt.Sprintf("83093939698111%05d", i%1000), "7300442764811122233", "báo cáo", i)
	return body
}

// BenchmarkWebhookIngest measures the webhook handler with a real bbolt file: signature,
// parse, dedup and the group-committed, fsynced inbox write, requests in parallel. The
// full-server comparison with a bare gin handler is bench/ingest (BENCHMARKS.md).
func BenchmarkWebhookIngest(b *testing.B) {
	bot, _ := newIngestOnlyB(b)
	var n atomic.Int64
	b.SetParallelism(16) // 16 × GOMAXPROCS concurrent requests, like many Zalo connections
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := benchEvent(n.Add(1))
			req := httptest.NewRequest(http.MethodPost, "/webhook/zalo", bytes.NewReader(body))
			req.Header.Set(zalo.SignatureHeader, signed(body))
			w := httptest.NewRecorder()
			bot.Handler().ServeHTTP(w, req)
			if w.Code != 200 {
				b.Errorf("status %d: %s", w.Code, w.Body)
			}
		}
	})
}

// newIngestOnlyB is a Bot whose ingest committer runs (no worker, no sender) on a real
// bbolt file.
func newIngestOnlyB(tb testing.TB) (*Bot, *store.DB) {
	tb.Helper()
	db, err := store.Open(filepath.Join(tb.TempDir(), "c.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	b, err := New(Options{DB: db, Log: zerolog.Nop(), AppID: testAppID, OAID: testOAID, OASecret: testSecret,
		APIBase: "http://127.0.0.1:1", OAuthBase: "http://127.0.0.1:1"})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.ingest.Run(ctx); close(done) }()
	tb.Cleanup(func() { cancel(); <-done })
	return b, db
}

// BenchmarkParseEvent measures decoding one event and deriving its dedup key and user.
func BenchmarkParseEvent(b *testing.B) {
	body := benchEvent(1)
	b.ReportAllocs()
	for b.Loop() {
		ev, err := ParseEvent(body)
		if err != nil {
			b.Fatal(err)
		}
		_ = ev.DedupKey()
		_ = ev.User()
	}
}

// BenchmarkVerify measures the webhook signature check.
func BenchmarkVerify(b *testing.B) {
	body := benchEvent(1)
	sig := signed(body)
	for b.Loop() {
		if !zalo.Verify(testAppID, testSecret, body, sig) {
			b.Fatal("bad signature")
		}
	}
}
