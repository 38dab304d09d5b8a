package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/rs/zerolog"

	"clubbot/bot/zalo"
	"clubbot/store"
)

// MaxWebhookBody caps a webhook body (CONTRACT.md: 413 over 1 MiB). Real events are a few
// hundred bytes; the cap keeps a misbehaving client from filling memory.
const MaxWebhookBody = 1 << 20

// maxCommitGroup bounds how many events share one bbolt transaction: large enough that a
// burst costs one fsync, small enough that the first request in a group is not kept waiting.
const maxCommitGroup = 512

type commitReq struct {
	ev   store.InboxEvent
	done chan commitRes
}

type commitRes struct {
	app store.Appended
	err error
}

// Ingest receives webhook events, verifies and records them durably, and hands new ones to
// the worker. One committer goroutine drains a channel so concurrent requests share one
// transaction and one fsync (ARCHITECTURE rule 1).
type Ingest struct {
	appID, oaSecret, oaID string
	db                    *store.DB
	log                   zerolog.Logger
	m                     *Metrics
	now                   func() time.Time
	reqs                  chan commitReq
	notify                func([]store.InboxEvent)
	stopped               chan struct{}
}

// CommitGroups returns how many inbox commits the committer has made and how many requests
// they held, from clubbot_inbox_commit_group_size (bench/ingest reports events per commit).
func (b *Bot) CommitGroups() (commits, requests uint64) {
	for _, h := range b.m.gathered("clubbot_inbox_commit_group_size") {
		return h.GetHistogram().GetSampleCount(), uint64(h.GetHistogram().GetSampleSum())
	}
	return 0, 0
}

// NewIngest builds the ingest side; notify is called (from the committer goroutine) with
// every newly recorded event, in sequence order.
func NewIngest(appID, oaSecret, oaID string, db *store.DB, log zerolog.Logger, m *Metrics, now func() time.Time, notify func([]store.InboxEvent)) *Ingest {
	return &Ingest{appID: appID, oaSecret: oaSecret, oaID: oaID, db: db, log: log, m: m, now: now,
		reqs: make(chan commitReq, 4096), notify: notify, stopped: make(chan struct{})}
}

// maxLinger bounds how long the committer waits for more requests before a commit (see
// Run): a small fraction of the 2 s Zalo allows for the answer (API.md §2.2), and about a
// slow fsync, the case where lingering pays.
const maxLinger = 2 * time.Millisecond

// Run commits queued events until ctx is done and the queue is drained. Requests already
// accepted are answered before it returns (graceful shutdown finishes in-flight work).
//
// Group commit with a short linger: each commit takes every request queued, and when the
// last round suggests that more senders are about to come (the requests just answered
// come back with their next event one round trip later), it waits for them a little,
// at most twice the last commit's duration and maxLinger. Without it, under load the
// requests split into two cohorts that alternate, each commit holding half of them and
// each request waiting for almost two commits; with it, one commit holds them all and each
// request waits for about one. It matters when an fsync is slow compared with a round
// trip, and costs nothing at low load (a lone request is committed at once). Twice rather
// than half: when the process is CPU-bound (HTTP on both sides of a loopback benchmark),
// half a commit's time let groups settle at ~11 events and each commit's fixed cost (page
// writes, two fdatasyncs, wake-ups; ~0.2 ms of CPU) was paid 3× as often as with groups
// of ~35, about 15% more CPU a request (BENCHMARKS.md, "Webhook ingest").
func (in *Ingest) Run(ctx context.Context) {
	defer close(in.stopped)
	batch := make([]commitReq, 0, maxCommitGroup)
	expect := 0            // senders seen in the last round: its group plus those queued meanwhile
	var last time.Duration // duration of the last commit
	timer := time.NewTimer(0)
	<-timer.C
	for {
		select {
		case r := <-in.reqs:
			batch = append(batch[:0], r)
			batch = in.drain(batch)
			if linger := min(2*last, maxLinger); len(batch) < expect && linger > 0 {
				timer.Reset(linger)
			wait:
				for len(batch) < expect && len(batch) < maxCommitGroup {
					select {
					case r := <-in.reqs:
						batch = append(batch, r)
					case <-timer.C:
						break wait
					case <-ctx.Done():
						break wait
					}
				}
				if !timer.Stop() {
					select {
					case <-timer.C:
					default:
					}
				}
			}
			start := time.Now()
			in.commit(batch)
			last = time.Since(start)
			expect = min(len(batch)+len(in.reqs), maxCommitGroup)
		case <-ctx.Done():
			for {
				select {
				case r := <-in.reqs:
					in.commit([]commitReq{r})
				default:
					return
				}
			}
		}
	}
}

// archiveEvery is how often ArchiveKeys moves older dedup keys out of memory.
const archiveEvery = time.Hour

// ArchiveKeys moves the dedup keys of events older than store.DedupRecent from memory to the
// store, at start and then hourly, until ctx is done (store/dedup.go).
func (in *Ingest) ArchiveKeys(ctx context.Context) {
	tick := time.NewTicker(archiveEvery)
	defer tick.Stop()
	for {
		total := 0
		for {
			n, err := in.db.ArchiveDedup(in.now().Add(-store.DedupRecent))
			total += n
			if err != nil {
				in.log.Error().Err(err).Msg("archiving inbox dedup keys failed; they stay in memory")
			}
			if err != nil || n < store.MaxArchive || ctx.Err() != nil {
				break
			}
		}
		if total > 0 {
			in.log.Info().Int("keys", total).Msg("inbox dedup keys archived")
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// drain adds every request already queued to batch, up to maxCommitGroup.
func (in *Ingest) drain(batch []commitReq) []commitReq {
	for len(batch) < maxCommitGroup {
		select {
		case r := <-in.reqs:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

func (in *Ingest) commit(batch []commitReq) {
	evs := make([]store.InboxEvent, len(batch))
	for i, r := range batch {
		evs[i] = r.ev
	}
	res, err := in.db.AppendInbox(evs)
	in.m.CommitGroup.Observe(float64(len(batch)))
	var fresh []store.InboxEvent
	for i, r := range batch {
		if err != nil {
			r.done <- commitRes{err: err}
			continue
		}
		r.done <- commitRes{app: res[i]}
		if !res[i].Duplicate {
			e := evs[i]
			e.Seq = res[i].Seq
			fresh = append(fresh, e)
		}
	}
	if len(fresh) > 0 && in.notify != nil {
		in.notify(fresh)
	}
}

// donePool recycles the channels on which the committer answers: a channel goes back only
// once its one answer has been received.
var donePool = sync.Pool{New: func() any { return make(chan commitRes, 1) }}

// record queues one event for the committer and waits for the durable outcome.
func (in *Ingest) record(ctx context.Context, ev store.InboxEvent) (store.Appended, error) {
	done := donePool.Get().(chan commitRes)
	select {
	case in.reqs <- commitReq{ev: ev, done: done}:
	case <-in.stopped:
		donePool.Put(done)
		return store.Appended{}, errors.New("ingest stopped")
	case <-ctx.Done():
		donePool.Put(done)
		return store.Appended{}, ctx.Err()
	}
	// Once queued, the committer answers; only if it stopped in between is the event unrecorded.
	select {
	case r := <-done:
		donePool.Put(done) // empty again: the committer sends once
		return r.app, r.err
	case <-in.stopped:
		select {
		case r := <-done:
			return r.app, r.err
		default:
			return store.Appended{}, errors.New("ingest stopped")
		}
	}
}

// Handle is the gin handler of POST /webhook/zalo (CONTRACT.md): size cap → signature →
// parse → dedup → durable inbox → 200.
func (in *Ingest) Handle(c *gin.Context) {
	// No child logger per request: each line adds the request id itself (a child logger
	// costs an allocation and a copy on every event, logged or not).
	log := &in.log
	reqID := c.GetString(ctxReqID)
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, MaxWebhookBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			in.m.Rejected.WithLabelValues("too_large").Inc()
			c.JSON(http.StatusRequestEntityTooLarge, gin.H{"error": "body over 1 MiB"})
			return
		}
		in.m.Rejected.WithLabelValues("read").Inc()
		c.JSON(http.StatusBadRequest, gin.H{"error": "cannot read body"})
		return
	}
	sig := c.GetHeader(zalo.SignatureHeader)
	// Zalo's URL-save probe: an unsigned {} gets 200 and records nothing (API.md §2.1).
	if sig == "" && bytes.Equal(bytes.TrimSpace(body), []byte("{}")) {
		in.m.Rejected.WithLabelValues("probe").Inc()
		c.JSON(http.StatusOK, gin.H{"ok": true})
		return
	}
	// One decoding serves the signature (its timestamp field) and the event; the MAC is
	// still computed over the raw bytes (API.md §3).
	var ev Event
	if err := decodeEvent(body, &ev); err != nil {
		if !json.Valid(body) {
			in.m.Rejected.WithLabelValues("not_json").Inc()
			c.JSON(http.StatusBadRequest, gin.H{"error": "body is not JSON"})
			return
		}
		ev = Event{} // JSON of another shape: no timestamp, so the signature check fails
	}
	if !zalo.VerifyTimestamp(in.appID, in.oaSecret, body, string(ev.Timestamp), sig) {
		reason := "bad_signature"
		if sig == "" {
			reason = "no_signature"
		}
		in.m.Rejected.WithLabelValues(reason).Inc()
		log.Warn().Str("reason", reason).Msg("webhook rejected")
		c.JSON(http.StatusUnauthorized, gin.H{"error": "invalid signature"})
		return
	}
	if ev.EventName == "" {
		in.m.Rejected.WithLabelValues("bad_event").Inc()
		c.JSON(http.StatusBadRequest, gin.H{"error": "parse event: no event_name"})
		return
	}
	if in.oaID != "" {
		if oa := ev.OA(); oa != "" && oa != in.oaID {
			log.Warn().Str(ctxReqID, reqID).Str("event", ev.EventName).Msg("event for another OA id")
		}
	}
	in.m.received(ev.EventName).Inc()
	rec := store.InboxEvent{Key: ev.DedupKey(), EventName: ev.EventName, UserID: ev.User(), Raw: body,
		ReceivedAt: in.now(), ReqID: reqID, Parsed: &ev}
	app, err := in.record(c.Request.Context(), rec)
	if err != nil {
		in.m.Rejected.WithLabelValues("store").Inc()
		log.Error().Str(ctxReqID, reqID).Err(err).Msg("webhook event not recorded")
		// Not recorded: a non-200 makes Zalo deliver it again.
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "not recorded, retry"})
		return
	}
	l := log.Info().Str(ctxReqID, reqID).Str("event", ev.EventName).Str("msg_id", ev.Message.MsgID).Uint64("seq", app.Seq)
	if app.Duplicate {
		in.m.Duplicates.Inc()
		l.Bool("duplicate", true).Msg("webhook duplicate")
		c.JSON(http.StatusOK, gin.H{"ok": true, "duplicate": true})
		return
	}
	l.Msg("webhook recorded")
	// The common answer is written as prepared bytes: rendering a map per request is a
	// measurable share of the webhook's CPU (BENCHMARKS.md, "Webhook ingest").
	c.Writer.Header()["Content-Type"] = jsonContentType
	c.Status(http.StatusOK)
	_, _ = c.Writer.Write(okBody)
}

var (
	okBody = []byte(`{"ok":true}`)
	// jsonContentType is shared by every answer (net/http only reads it): gin's c.Data
	// would build the slice again for each request.
	jsonContentType = []string{"application/json; charset=utf-8"}
)

// OA returns the OA id the event names (API.md §2.4), or "".
func (e *Event) OA() string {
	switch {
	case e.OAID != "":
		return e.OAID
	case len(e.EventName) > 5 && e.EventName[:5] == "user_" && e.EventName != "user_received_message" && e.EventName != "user_seen_message":
		return e.Recipient.ID
	}
	return e.Sender.ID
}

// metricEventName keeps the label set bounded: unknown names are counted as "other".
func metricEventName(n string) string {
	switch n {
	case "user_send_text", "user_send_image", "user_send_file", "user_send_location", "user_send_link",
		"user_send_sticker", "user_send_audio", "user_send_video", "user_send_gif", "user_send_business_card",
		"follow", "unfollow", "user_submit_info", "user_click_chatnow", "user_received_message",
		"user_seen_message", "user_reacted_message", "oa_send_text", "oa_send_image", "oa_send_list",
		"oa_send_file", "oa_send_template":
		return n
	}
	return "other"
}
