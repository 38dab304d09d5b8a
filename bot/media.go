package bot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"clubbot/store"
)

// MediaConfig tunes the photo downloader. Zero values get the defaults named on each field.
type MediaConfig struct {
	// Dir is where copies are written (default: "media" in the store's folder).
	Dir string
	// MaxBytes caps one photo (default 10 MB): a phone photo is 1–5 MB; anything larger
	// is not a photo of a meeting and must not fill the disk.
	MaxBytes int64
	// Timeout bounds one download (default 60 s, generous for a slow rural link to the
	// CDN, short enough not to hang on a stuck server).
	Timeout time.Duration
	// BackoffBase and BackoffMax space retries of a failed download (defaults 5 s and 10
	// min); MaxAttempts gives up (default 10, about half an hour in all).
	BackoffBase, BackoffMax time.Duration
	MaxAttempts             int
	// Poll is the longest wait between looks at the pending list (default 30 s).
	Poll time.Duration
	// HTTP is the client (default: one with Timeout).
	HTTP *http.Client
}

func (c *MediaConfig) defaults(db *store.DB) {
	if c.Dir == "" {
		c.Dir = filepath.Join(filepath.Dir(db.Path()), "media")
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 10 << 20
	}
	if c.Timeout <= 0 {
		c.Timeout = 60 * time.Second
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = 5 * time.Second
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = 10 * time.Minute
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 10
	}
	if c.Poll <= 0 {
		c.Poll = 30 * time.Second
	}
	if c.HTTP == nil {
		c.HTTP = &http.Client{Timeout: c.Timeout}
	}
}

// mediaTypes are the photo types kept, with their file extension.
var mediaTypes = map[string]string{"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}

// MediaFetcher keeps a copy of the photos users send in a conversation, because Zalo's
// links do not last. The worker records each link in the store's media bucket inside its
// transaction; the fetcher downloads outside any transaction (a download can take seconds
// and must not hold the worker) and records the local path under the same link.
type MediaFetcher struct {
	db   *store.DB
	log  zerolog.Logger
	m    *Metrics
	now  func() time.Time
	cfg  MediaConfig
	wake chan struct{}
}

// NewMediaFetcher builds the downloader.
func NewMediaFetcher(db *store.DB, log zerolog.Logger, m *Metrics, now func() time.Time, cfg MediaConfig) *MediaFetcher {
	cfg.defaults(db)
	return &MediaFetcher{db: db, log: log.With().Str("component", "media").Logger(), m: m, now: now, cfg: cfg,
		wake: make(chan struct{}, 1)}
}

// Wake tells the fetcher that links were recorded.
func (f *MediaFetcher) Wake() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Run downloads pending photos until ctx is done. A download cut short by the stop stays
// pending and is done at the next start.
func (f *MediaFetcher) Run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		next := f.pass(ctx)
		wait := f.cfg.Poll
		if !next.IsZero() {
			wait = min(wait, max(next.Sub(f.now()), 10*time.Millisecond))
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// pass downloads what is due and returns when the next retry falls due (zero if none).
func (f *MediaFetcher) pass(ctx context.Context) time.Time {
	items, err := f.db.PendingMedia(100)
	if err != nil {
		f.log.Error().Err(err).Msg("reading pending photos failed")
		return f.now().Add(5 * time.Second)
	}
	var next time.Time
	for _, m := range items {
		if ctx.Err() != nil {
			return next
		}
		if m.NextAttempt.After(f.now()) {
			next = earliest(next, m.NextAttempt)
			continue
		}
		got, outcome := f.fetch(ctx, m)
		if outcome == "" {
			continue // stopped mid-download: left pending
		}
		if err := f.db.PutMedia(got); err != nil {
			f.log.Error().Err(err).Msg("recording a photo download failed")
			continue
		}
		f.m.Media.WithLabelValues(outcome).Inc()
		log := f.log.With().Str("user", got.UserID).Uint64("seq", got.SourceSeq).Str("host", urlHost(got.URL)).Logger()
		switch outcome {
		case "done":
			log.Info().Str("path", got.Path).Int64("bytes", got.Size).Str("type", got.ContentType).Msg("photo saved")
		case "retry":
			next = earliest(next, got.NextAttempt)
			log.Warn().Str("error", got.LastError).Int("attempt", got.Attempts).Msg("photo download failed; will retry")
		default:
			log.Warn().Str("error", got.LastError).Msg("photo not saved")
		}
	}
	return next
}

func urlHost(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Host
	}
	return ""
}

// errPermanent marks a download failure that a retry cannot fix.
type errPermanent struct{ msg string }

func (e errPermanent) Error() string { return e.msg }

func permanent(format string, a ...any) error { return errPermanent{fmt.Sprintf(format, a...)} }

// fetch makes one download attempt and returns the record's new state and the outcome:
// "done", "retry", "failed", or "" when ctx ended (nothing to record).
func (f *MediaFetcher) fetch(ctx context.Context, m store.Media) (store.Media, string) {
	m.Attempts++
	path, ctype, size, sum, err := f.download(ctx, m)
	now := f.now()
	if err != nil {
		if ctx.Err() != nil {
			return m, ""
		}
		m.LastError = err.Error()
		var perm errPermanent
		if errors.As(err, &perm) || m.Attempts >= f.cfg.MaxAttempts {
			m.Status = store.MediaFailed
			return m, "failed"
		}
		wait := f.cfg.BackoffBase << min(m.Attempts-1, 20)
		m.NextAttempt = now.Add(min(wait, f.cfg.BackoffMax))
		return m, "retry"
	}
	rel := path
	if r, err := filepath.Rel(filepath.Dir(f.db.Path()), path); err == nil {
		rel = r
	}
	m.Status, m.Path, m.ContentType, m.Size, m.SHA256, m.DoneAt, m.LastError = store.MediaDone, rel, ctype, size, sum, now, ""
	return m, "done"
}

// download fetches m.URL into the media folder: http(s) only, status 200, at most
// MaxBytes, a JPEG, PNG or WebP by its first bytes (the declared type must agree or be
// generic). The file is written under a temporary name, synced and renamed, so a crash
// never leaves a partial photo under its final name.
func (f *MediaFetcher) download(ctx context.Context, m store.Media) (path, ctype string, size int64, sum string, err error) {
	u, err := url.Parse(m.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", 0, "", permanent("not an http(s) link")
	}
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.URL, nil)
	if err != nil {
		return "", "", 0, "", permanent("bad link: %v", err)
	}
	resp, err := f.cfg.HTTP.Do(req)
	if err != nil {
		return "", "", 0, "", fmt.Errorf("get photo: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusRequestTimeout:
		return "", "", 0, "", fmt.Errorf("get photo: http %d", resp.StatusCode)
	default:
		return "", "", 0, "", permanent("get photo: http %d", resp.StatusCode)
	}
	declared, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if _, ok := mediaTypes[declared]; !ok && declared != "" && declared != "application/octet-stream" && declared != "binary/octet-stream" {
		return "", "", 0, "", permanent("content type %q is not a photo", declared)
	}
	if resp.ContentLength > f.cfg.MaxBytes {
		return "", "", 0, "", permanent("photo is %d bytes, over the limit of %d", resp.ContentLength, f.cfg.MaxBytes)
	}
	head := make([]byte, 512)
	n, err := io.ReadFull(resp.Body, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", "", 0, "", fmt.Errorf("read photo: %w", err)
	}
	head = head[:n]
	ctype = http.DetectContentType(head)
	ext, ok := mediaTypes[ctype]
	if !ok {
		return "", "", 0, "", permanent("not a JPEG, PNG or WebP photo (looks like %s)", ctype)
	}
	created := m.CreatedAt
	if created.IsZero() {
		created = f.now()
	}
	dir := filepath.Join(f.cfg.Dir, created.UTC().Format("2006"), created.UTC().Format("01"))
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", "", 0, "", fmt.Errorf("create photo folder: %w", err)
	}
	key := sha256.Sum256([]byte(m.URL))
	path = filepath.Join(dir, hex.EncodeToString(key[:16])+ext)
	tmp, err := os.CreateTemp(dir, ".download-*")
	if err != nil {
		return "", "", 0, "", fmt.Errorf("create photo file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	size, err = copyCapped(io.MultiWriter(tmp, h), io.MultiReader(bytes.NewReader(head), resp.Body), f.cfg.MaxBytes)
	if err != nil {
		return "", "", 0, "", err
	}
	if err = tmp.Sync(); err != nil {
		return "", "", 0, "", fmt.Errorf("sync photo: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return "", "", 0, "", fmt.Errorf("close photo: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return "", "", 0, "", fmt.Errorf("save photo: %w", err)
	}
	syncDir(dir)
	return path, ctype, size, hexSum(h), nil
}

// copyCapped copies at most max bytes, failing permanently if there are more.
func copyCapped(w io.Writer, r io.Reader, max int64) (int64, error) {
	n, err := io.Copy(w, io.LimitReader(r, max+1))
	if err != nil {
		return n, fmt.Errorf("read photo: %w", err)
	}
	if n > max {
		return n, permanent("photo is over the limit of %d bytes", max)
	}
	return n, nil
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// syncDir makes a rename durable; failure only weakens durability, so it is ignored.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
