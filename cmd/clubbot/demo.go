package main

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/gin-gonic/gin"

	"clubbot/club"
	"clubbot/store"
	"clubbot/zalosim"
)

//go:embed demodata/*.csv
var demoData embed.FS

// Demo users of the simulated Zalo: the three chairpersons and the officer of the sample
// data, and one person who is in no list (to see the "not found" answer).
var demoUsers = []zalosim.User{
	{Name: "Nguyễn Văn An", Phone: "0912345678"},
	{Name: "Trần Thị Bình", Phone: "84913222333"},
	{Name: "Lò Văn Chiến", Phone: "0915444555"},
	{Name: "Đỗ Văn Dũng (phó chủ nhiệm)", Phone: "0977111222"},
	{Name: "Phạm Thu Hà (cán bộ Hội)", Phone: "0987654321"},
	{Name: "Người lạ", Phone: "0900000001"},
}

// demo runs the bot and a simulated Zalo OA on one port, with sample clubs and officers.
func demo(ctx context.Context, args, env []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (port 0 picks a free one)")
	dataDir := fs.String("data", "", "folder for the demo store (default: a new temporary folder)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		// The default port may be taken on a developer machine: take any free one.
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return fmt.Errorf("demo: listen: %w", err)
		}
	}
	base := "http://" + ln.Addr().String()
	if *dataDir == "" {
		if *dataDir, err = os.MkdirTemp("", "clubbot-demo-"); err != nil {
			return err
		}
		defer os.RemoveAll(*dataDir)
	}
	cfg := defaultConfig()
	if err := applyEnv(&cfg, env); err != nil {
		return err
	}
	cfg.HTTP.Addr = ln.Addr().String()
	cfg.Store.Path = filepath.Join(*dataDir, "clubbot.db")
	cfg.Zalo.AppID = "1027192766115822600"
	cfg.Zalo.OAID = "2910835123456789012"
	cfg.Zalo.OASecretKey = randHex(16)
	cfg.Zalo.AppSecret = randHex(16)
	cfg.Zalo.AccessToken = randHex(24)
	cfg.Zalo.RefreshToken = randHex(24)
	cfg.Zalo.APIBase = base + "/zalo"
	cfg.Zalo.OAuthBase = base + "/zalo"
	cfg.Zalo.QuickReplies = true
	cfg.HTTP.PublicURL = base
	if cfg.Admin.APIToken == "" {
		cfg.Admin.APIToken = randHex(8) // printed below, for the console
	}
	if cfg.Log.Format == "json" && os.Getenv("CLUBBOT_LOG_FORMAT") == "" {
		cfg.Log.Format = "console"
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	if err := seedDemo(cfg.Store.Path, time.Now()); err != nil {
		return err
	}
	sim := zalosim.New(zalosim.Config{AppID: cfg.Zalo.AppID, OAID: cfg.Zalo.OAID, OASecretKey: cfg.Zalo.OASecretKey,
		AppSecret: cfg.Zalo.AppSecret, AccessToken: cfg.Zalo.AccessToken, RefreshToken: cfg.Zalo.RefreshToken,
		WebhookURL: base + "/webhook/zalo"})
	for _, u := range demoUsers {
		sim.AddUser(u)
	}
	hooks := &serveHooks{listener: ln, mount: func(r *gin.Engine) { mountSim(r, sim) }, onStarted: func(string) {
		fmt.Fprintf(stdout, "\nclubbot demo is running.\n  Web chat (simulated Zalo): %s/sim/\n  Admin console: %s/admin/  (token: %s)\n  Data: %s\n  Stop with Ctrl+C.\n\n",
			base, base, cfg.Admin.APIToken, *dataDir)
	}}
	return serveConfig(ctx, cfg, stdout, hooks)
}

// mountSim serves the simulated Zalo API under /zalo and its web chat under /sim.
func mountSim(r *gin.Engine, sim *zalosim.Sim) {
	api := http.StripPrefix("/zalo", sim.APIHandler())
	ui := http.StripPrefix("/sim", sim.UIHandler())
	r.Any("/zalo/*path", gin.WrapH(api))
	r.GET("/sim", func(c *gin.Context) { c.Redirect(http.StatusFound, "/sim/") })
	r.Any("/sim/*path", gin.WrapH(ui))
	r.GET("/", func(c *gin.Context) { c.Redirect(http.StatusFound, "/sim/") })
}

// seedDemo imports the sample clubs and officers through the same parser as the admin import.
func seedDemo(path string, now time.Time) error {
	provinces, err := club.LoadProvinces()
	if err != nil {
		return err
	}
	cf, _ := demoData.Open("demodata/clubs.csv")
	defer cf.Close()
	clubs, err := club.ParseClubs(cf, provinces)
	if err != nil {
		return fmt.Errorf("demo clubs: %w", err)
	}
	of, _ := demoData.Open("demodata/officers.csv")
	defer of.Close()
	officers, err := club.ParseOfficers(of, provinces)
	if err != nil {
		return fmt.Errorf("demo officers: %w", err)
	}
	db, err := store.Open(path)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, _, err := db.UpsertClubs(clubs, now); err != nil {
		return err
	}
	_, _, err = db.UpsertOfficers(officers)
	return err
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
