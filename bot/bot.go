package bot

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"clubbot/bot/zalo"
	"clubbot/club"
	"clubbot/store"
	"clubbot/templates"
)

// Options are what cmd wires into a Bot.
type Options struct {
	DB         *store.DB
	Redis      *redis.Client // nil in embedded mode
	Log        zerolog.Logger
	Now        func() time.Time
	Loc        *time.Location
	PublicURL  string
	AppID      string
	OAID       string
	OASecret   string
	AppSecret  string
	APIBase    string
	OAuthBase  string
	Bootstrap  zalo.Tokens
	AdminToken string
	// TrustedProxies are the proxy addresses (IPs or CIDRs) whose X-Forwarded-For is believed.
	TrustedProxies []string
	Buttons        bool
	HTTPClient     *http.Client
	// Mount adds routes (the demo mounts the simulated Zalo on the same port).
	Mount func(r *gin.Engine)
	// ReminderDay is the day of the month of the chairpersons' reminder (0: off) and
	// ReminderAt its time of day in Loc.
	ReminderDay int
	ReminderAt  time.Duration
	// Sender and Media tune the outbox sender and the photo downloader (zero: defaults).
	Sender SenderConfig
	Media  MediaConfig
	// IngestOnly runs only the HTTP side and the inbox committer: events are received,
	// committed and acknowledged, and left pending for the next full start. The ingest
	// benchmark uses it to measure the webhook path apart from the worker's turns.
	IngestOnly bool
	// DigestSchedule is digest.schedule ("MON 07:00", in Loc); empty: DefaultDigestSchedule.
	DigestSchedule string
}

// Bot is the running product: HTTP surface, ingest, worker and sender around one store.
type Bot struct {
	o       Options
	m       *Metrics
	engine  *gin.Engine
	ingest  *Ingest
	worker  *Worker
	sender  *Sender
	media   *MediaFetcher
	tokens  *zalo.TokenManager
	client  *zalo.Client
	flows   *FlowSet
	conv    *Conversations
	digest  *Digester
	started time.Time
	// jobs are background loops started by Serve and stopped with the worker.
	jobs []func(ctx context.Context)
}

// New wires a Bot.
func New(o Options) (*Bot, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Loc == nil {
		o.Loc = time.UTC
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	b := &Bot{o: o, m: NewMetrics(), started: o.Now()}
	msgs, err := ParseMessages(templates.Messages())
	if err != nil {
		return nil, err
	}
	provinces, err := club.LoadProvinces()
	if err != nil {
		return nil, err
	}
	if b.flows, err = LoadFlows(o.DB, o.Now()); err != nil {
		return nil, err
	}
	b.tokens = zalo.NewTokenManager(zalo.TokenManagerConfig{OAuthBase: o.OAuthBase, AppID: o.AppID, AppSecret: o.AppSecret,
		Bootstrap: o.Bootstrap, Store: o.DB, HTTP: o.HTTPClient, Now: o.Now, Log: o.Log,
		OnRefresh: func(outcome string) { b.m.Refreshes.WithLabelValues(outcome).Inc() }})
	b.client = zalo.New(zalo.Config{APIBase: o.APIBase, Tokens: b.tokens, HTTP: o.HTTPClient, Log: o.Log})
	cardImage := ""
	if o.PublicURL != "" {
		cardImage = o.PublicURL + "/static/card.png"
	}
	b.conv = &Conversations{Flows: b.flows, Messages: msgs, Provinces: provinces, Loc: o.Loc, Buttons: o.Buttons,
		CardImage: cardImage, Log: o.Log, Metrics: b.m}
	if err := o.DB.MigrateOutbox(); err != nil {
		return nil, err
	}
	if o.Sender.Loc == nil {
		o.Sender.Loc = o.Loc
	}
	b.sender = NewSender(o.DB, b.client, o.Log, b.m, o.Now, o.Sender)
	b.media = NewMediaFetcher(o.DB, o.Log, b.m, o.Now, o.Media)
	b.registerOutboxGauges()
	b.worker = NewWorker(o.DB, b.conv.Handle, o.Log, b.m, o.Now, func() { b.sender.Wake(); b.media.Wake() })
	notify := b.worker.Enqueue
	if o.IngestOnly {
		notify = nil // no worker runs: handing it events would only grow its queue
	}
	b.ingest = NewIngest(o.AppID, o.OASecret, o.OAID, o.DB, o.Log, b.m, o.Now, notify)
	rem := &Reminders{DB: o.DB, Messages: msgs, Loc: o.Loc, Day: o.ReminderDay, At: o.ReminderAt, Now: o.Now,
		Log: o.Log, Metrics: b.m, Wake: b.sender.Wake}
	b.jobs = append(b.jobs, rem.Run)
	b.jobs = append(b.jobs, b.newTimers().Run) // conversation nudges and expiry (timers.go)
	b.jobs = append(b.jobs, b.ingest.ArchiveKeys)
	if b.digest, err = newDigester(b); err != nil {
		return nil, err
	}
	b.jobs = append(b.jobs, b.digest.Run)
	b.engine = b.routes()
	return b, nil
}

// Metrics exposes the bot's metrics (tests read them).
func (b *Bot) Metrics() *Metrics { return b.m }

// Handler is the bot's HTTP handler.
func (b *Bot) Handler() http.Handler { return b.engine }

func (b *Bot) routes() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	// No proxy is trusted unless configured: client IPs come from the connection.
	// The list was validated in cmd, so an error here cannot happen.
	_ = r.SetTrustedProxies(b.o.TrustedProxies)
	r.Use(requestID(), recovery(b.o.Log), accessLog(b.o.Log))
	r.POST("/webhook/zalo", b.ingest.Handle)
	// Zalo's console has no GET handshake; a stray GET gets 200 and nothing else (API.md §2.1).
	r.GET("/webhook/zalo", func(c *gin.Context) { c.Status(http.StatusOK) })
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", b.ready)
	r.GET("/static/card.png", serveCard)
	r.GET("/admin", func(c *gin.Context) { c.Redirect(http.StatusFound, "/admin/") })
	r.GET("/admin/", serveConsole)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(b.m.Registry, promhttp.HandlerOpts{})))
	b.groupRoutes(r)
	b.mountAdmin(r)
	b.mountFlowsAdmin(r)
	b.digestRoutes(r)
	if b.o.Mount != nil {
		b.o.Mount(r)
	}
	return r
}

func (b *Bot) ready(c *gin.Context) {
	if err := b.o.DB.Ping(); err != nil {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "not ready", "reason": "store: " + err.Error()})
		return
	}
	if b.o.Redis != nil {
		ctx, cancel := context.WithTimeout(c.Request.Context(), time.Second)
		defer cancel()
		if err := b.o.Redis.Ping(ctx).Err(); err != nil {
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "not ready", "reason": "redis: " + err.Error()})
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

// Serve runs the bot on ln until ctx is done, then shuts down in order: stop accepting and
// finish in-flight requests (each acknowledged event is committed), drain the committer,
// let the worker finish the event in hand, let the sender finish the send in hand.
func (b *Bot) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler: b.engine,
		// Zalo expects an answer within 2 s; the limits below only stop slow or stuck clients.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      60 * time.Second, // exports stream large files
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	ingestCtx, stopIngest := context.WithCancel(context.WithoutCancel(ctx))
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	var workerErr error
	wg.Add(1)
	go func() { defer wg.Done(); b.ingest.Run(ingestCtx) }()
	if !b.o.IngestOnly {
		wg.Add(3)
		go func() { defer wg.Done(); workerErr = b.worker.Run(workCtx) }()
		go func() { defer wg.Done(); b.sender.Run(workCtx) }()
		go func() { defer wg.Done(); b.media.Run(workCtx) }()
		// Scheduled jobs (reminders, digests, conversation timers) stop with the worker.
		for _, job := range b.jobs {
			wg.Add(1)
			go func() { defer wg.Done(); job(workCtx) }()
		}
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	b.o.Log.Info().Str("addr", ln.Addr().String()).Msg("clubbot listening")

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		b.o.Log.Warn().Err(err).Msg("http shutdown")
	}
	stopIngest()
	<-b.ingest.stopped
	stopWork()
	wg.Wait()
	b.o.Log.Info().Msg("clubbot stopped")
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", serveErr)
	}
	return workerErr
}
