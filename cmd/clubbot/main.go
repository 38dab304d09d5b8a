// Command clubbot runs the Zalo OA reporting channel of Vietnam's Intergenerational
// Self-Help Clubs: `serve` against the real Zalo API, `demo` with a simulated Zalo and
// sample data, `healthcheck` for containers, `version`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // the calendar is Asia/Ho_Chi_Minh even on a machine without tz data

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"clubbot/bot"
	"clubbot/bot/zalo"
	"clubbot/internal/runtimetune"
	"clubbot/store"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	runtimetune.Apply()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "clubbot:", err)
		os.Exit(1)
	}
}

const usage = `clubbot — the Zalo OA reporting channel of the Intergenerational Self-Help Clubs

Usage:
  clubbot demo [--addr :8080] [--data DIR]   bot + simulated Zalo + sample data on one port
  clubbot serve --config config.yaml         run against the Zalo OA API (zalo.api_base)
  clubbot healthcheck [--url URL]            exit 0 if the server answers /healthz
  clubbot flows validate [dir]               check the flow templates (default templates/flows)
  clubbot flows test [dir]                   run the transcripts in dir/transcripts
  clubbot chat [--flow meeting_report]       talk to the engine in the terminal (stdin)
  clubbot version
`

// run is the testable main: args without the program name.
func run(ctx context.Context, args, env []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], env, stdout, nil)
	case "demo":
		return demo(ctx, args[1:], env, stdout)
	case "healthcheck":
		return healthcheck(args[1:], env)
	case "flows":
		return flowsCmd(args[1:], stdout, stderr)
	case "chat":
		return chat(ctx, args[1:], stdout)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "clubbot", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func newLogger(c Config, w io.Writer) zerolog.Logger {
	lvl, _ := zerolog.ParseLevel(c.Log.Level)
	if c.Log.Format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05"}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

// serveHooks lets demo and tests reach into a serve run: mount extra routes and learn the
// listening address.
type serveHooks struct {
	listener  net.Listener
	mount     func(r *gin.Engine)
	onStarted func(addr string)
}

func serve(ctx context.Context, args, env []string, stdout io.Writer, hooks *serveHooks) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration file (YAML); CLUBBOT_* variables override it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath, env)
	if err != nil {
		return err
	}
	return serveConfig(ctx, cfg, stdout, hooks)
}

func serveConfig(ctx context.Context, cfg Config, stdout io.Writer, hooks *serveHooks) error {
	log := newLogger(cfg, stdout)
	log.Info().Str("version", version).Interface("config", cfg.masked()).Msg("starting")
	loc, _ := time.LoadLocation(cfg.Digest.Timezone)
	db, err := store.Open(cfg.Store.Path)
	if err != nil {
		return err
	}
	defer db.Close()
	var rdb *redis.Client
	if cfg.Redis.URL != "" {
		opt, err := redis.ParseURL(cfg.Redis.URL)
		if err != nil {
			return fmt.Errorf("config: redis.url: %w", err)
		}
		rdb = redis.NewClient(opt)
		defer rdb.Close()
	}
	o := bot.Options{DB: db, Redis: rdb, Log: log, Loc: loc, PublicURL: strings.TrimRight(cfg.HTTP.PublicURL, "/"),
		AppID: cfg.Zalo.AppID, OAID: cfg.Zalo.OAID, OASecret: cfg.Zalo.OASecretKey, AppSecret: cfg.Zalo.AppSecret,
		APIBase: strings.TrimRight(cfg.Zalo.APIBase, "/"), OAuthBase: strings.TrimRight(cfg.Zalo.OAuthBase, "/"),
		Bootstrap:  zalo.Tokens{Access: cfg.Zalo.AccessToken, Refresh: cfg.Zalo.RefreshToken},
		AdminToken: cfg.Admin.APIToken, Buttons: cfg.Zalo.QuickReplies, TrustedProxies: cfg.trustedProxies(),
		ReminderDay: cfg.Reminders.DayOfMonth, ReminderAt: cfg.reminderAt(), DigestSchedule: cfg.Digest.Schedule}
	ln := net.Listener(nil)
	if hooks != nil {
		o.Mount = hooks.mount
		ln = hooks.listener
	}
	b, err := bot.New(o)
	if err != nil {
		return err
	}
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.HTTP.Addr); err != nil {
			return fmt.Errorf("listen %s: %w", cfg.HTTP.Addr, err)
		}
	}
	if hooks != nil && hooks.onStarted != nil {
		hooks.onStarted(ln.Addr().String())
	}
	return b.Serve(ctx, ln)
}

func healthcheck(args, env []string) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	addr := ":8080"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "CLUBBOT_HTTP_ADDR="); ok && v != "" {
			addr = v
		}
	}
	host := addr
	if strings.HasPrefix(host, ":") {
		host = "127.0.0.1" + host
	}
	u := fs.String("url", "http://"+host+"/healthz", "URL to check")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(*u)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d", *u, resp.StatusCode)
	}
	return nil
}
