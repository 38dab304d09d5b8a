package bot

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"clubbot/internal/testkit"
	"clubbot/store"
)

func testImage() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for i := range 16 {
		img.Set(i, i, color.RGBA{R: 200, A: 255})
	}
	return img
}

// pngBytes is a small real PNG.
func pngBytes(t testing.TB) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, testImage()); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func jpegBytes(t testing.TB) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, testImage(), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// webpBytes starts like a WebP file (RIFF....WEBPVP8), which is what the type check reads.
func webpBytes() []byte {
	return append([]byte("RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00"), make([]byte, 24)...)
}

func writeTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// photoServer serves the photos of the tests on 127.0.0.1, as Zalo's CDN would.
func photoServer(t *testing.T) *httptest.Server {
	t.Helper()
	pngB, jpgB := pngBytes(t), jpegBytes(t)
	var flaky atomic.Int32
	big := append(append([]byte(nil), jpgB...), make([]byte, 11<<20)...)
	mux := http.NewServeMux()
	serve := func(path, ctype string, body []byte) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ctype)
			w.Write(body)
		})
	}
	serve("/a.png", "image/png", pngB)
	serve("/b.webp", "image/webp", webpBytes())
	serve("/c.jpg", "application/octet-stream", jpgB)
	serve("/big.jpg", "image/jpeg", big)
	serve("/page", "text/html; charset=utf-8", []byte("<html><body>not a photo</body></html>"))
	serve("/fake.png", "image/png", []byte("hello, this is text pretending to be a png"))
	mux.HandleFunc("/chunked-big.jpg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(jpgB)
		w.(http.Flusher).Flush() // no Content-Length: the cap must hold while reading
		for range 11 {
			w.Write(make([]byte, 1<<20))
		}
	})
	mux.HandleFunc("/flaky.png", func(w http.ResponseWriter, r *http.Request) {
		if flaky.Add(1) == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write(pngB)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestMediaFetch: photos are copied into the data folder when they are JPEG, PNG or WebP
// and at most 10 MB; anything else is refused for good, a server error is retried.
func TestMediaFetch(t *testing.T) {
	srv := photoServer(t)
	db, err := store.Open(filepath.Join(t.TempDir(), "data", "clubbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	clk := testkit.NewClock(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC))
	m := NewMetrics()
	f := NewMediaFetcher(db, zerolog.Nop(), m, clk.Now, MediaConfig{Poll: 5 * time.Millisecond, HTTP: loopbackClient(),
		BackoffBase: time.Second})
	tests := []struct {
		path     string
		status   string
		ctype    string
		err      string
		attempts int
	}{
		{"/a.png", store.MediaDone, "image/png", "", 1},
		{"/b.webp", store.MediaDone, "image/webp", "", 1},
		{"/c.jpg", store.MediaDone, "image/jpeg", "", 1},
		{"/flaky.png", store.MediaDone, "image/png", "", 2},
		{"/big.jpg", store.MediaFailed, "", "over the limit", 1},
		{"/chunked-big.jpg", store.MediaFailed, "", "over the limit", 1},
		{"/page", store.MediaFailed, "", "not a photo", 1},
		{"/fake.png", store.MediaFailed, "", "not a JPEG, PNG or WebP", 1},
		{"/gone", store.MediaFailed, "", "http 404", 1},
	}
	err = db.Update(func(tx *store.Tx) error {
		for _, tt := range tests {
			if _, err := tx.QueueMedia(store.Media{URL: srv.URL + tt.path, UserID: "u1", CreatedAt: clk.Now()}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pend, _ := db.PendingMedia(100)
		if len(pend) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still pending: %+v", pend)
		}
		for _, p := range pend {
			if p.NextAttempt.After(clk.Now()) {
				clk.Set(p.NextAttempt)
				f.Wake()
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	for _, tt := range tests {
		got, ok, err := db.Media(srv.URL + tt.path)
		if err != nil || !ok {
			t.Fatalf("%s: no record (%v)", tt.path, err)
		}
		if got.Status != tt.status || got.Attempts != tt.attempts || !strings.Contains(got.LastError, tt.err) {
			t.Errorf("%s: %s after %d attempts (%q); want %s after %d (%q)", tt.path, got.Status, got.Attempts,
				got.LastError, tt.status, tt.attempts, tt.err)
		}
		if tt.status != store.MediaDone {
			continue
		}
		if got.ContentType != tt.ctype {
			t.Errorf("%s: type %s, want %s", tt.path, got.ContentType, tt.ctype)
		}
		data, err := os.ReadFile(filepath.Join(filepath.Dir(db.Path()), got.Path))
		if err != nil || int64(len(data)) != got.Size || strings.HasPrefix(got.Path, "..") {
			t.Errorf("%s: local copy %s: %v (%d bytes, recorded %d)", tt.path, got.Path, err, len(data), got.Size)
		}
	}
	// Nothing half-written is left behind, and only the four photos are kept.
	var files []string
	filepath.WalkDir(filepath.Join(filepath.Dir(db.Path()), "media"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, filepath.Base(p))
		}
		return nil
	})
	if len(files) != 4 {
		t.Errorf("media folder holds %v, want the 4 photos only", files)
	}
	// The counter follows the record's commit: wait for it.
	for i := 0; metric(t, m.Registry, "clubbot_media_downloads_total", "outcome", "done") != 4; i++ {
		if i > 2000 {
			t.Fatalf("downloads{done} = %v, want 4", metric(t, m.Registry, "clubbot_media_downloads_total", "outcome", "done"))
		}
		time.Sleep(time.Millisecond)
	}
}

// TestConversationPhotoIsKept: a photo a chairperson sends during the report is recorded
// by the worker and copied by the downloader; its local path is found by its link.
func TestConversationPhotoIsKept(t *testing.T) {
	srv := photoServer(t)
	e := startEnvT(t, nil)
	id := e.chair()
	e.say(id, "báo cáo", 1)
	url := srv.URL + "/a.png"
	before := len(e.sim.Outbound(id))
	if d, err := e.sim.SendImage(id, url, "ảnh buổi họp"); err != nil || d.Status != 200 {
		t.Fatalf("image: %d %v", d.Status, err)
	}
	e.waitOut(id, before+1)
	var m store.Media
	e.eventually("the photo download", func() bool {
		m, _, _ = e.db.Media(url)
		return m.Status == store.MediaDone
	})
	paths, err := e.db.MediaPaths([]string{url})
	if err != nil || paths[url] == "" || paths[url] != m.Path {
		t.Fatalf("MediaPaths = %v, %v", paths, err)
	}
	if m.UserID != id || m.SourceSeq == 0 {
		t.Errorf("record = %+v, want the user and the event", m)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(e.db.Path()), m.Path)); err != nil {
		t.Error(err)
	}
}
