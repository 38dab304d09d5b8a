package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestConfigDefaultsAndEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte("zalo:\n  app_id: \"111\"\n  oa_secret_key: from-file\nhttp:\n  addr: \":9000\"\n"), 0o600)
	cfg, err := loadConfig(path, []string{"CLUBBOT_ZALO_OA_SECRET_KEY=from-env", "CLUBBOT_ZALO_QUICK_REPLIES=true",
		"CLUBBOT_ZALO_API_BASE=http://127.0.0.1:9/zalo", "PATH=/bin"})
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string][2]string{
		"http.addr":          {cfg.HTTP.Addr, ":9000"},
		"zalo.app_id":        {cfg.Zalo.AppID, "111"},
		"zalo.oa_secret_key": {cfg.Zalo.OASecretKey, "from-env"},
		"zalo.api_base":      {cfg.Zalo.APIBase, "http://127.0.0.1:9/zalo"},
		"zalo.oauth_base":    {cfg.Zalo.OAuthBase, "https://oauth.zaloapp.com"},
		"store.path":         {cfg.Store.Path, "data/clubbot.db"},
		"digest.timezone":    {cfg.Digest.Timezone, "Asia/Ho_Chi_Minh"},
		"digest.schedule":    {cfg.Digest.Schedule, "MON 07:00"},
	}
	for k, v := range checks {
		if v[0] != v[1] {
			t.Errorf("%s = %q, want %q", k, v[0], v[1])
		}
	}
	if !cfg.Zalo.QuickReplies {
		t.Error("CLUBBOT_ZALO_QUICK_REPLIES=true not applied")
	}
	if m := cfg.masked(); m["zalo.oa_secret_key"] == "from-env" || !strings.HasPrefix(m["zalo.oa_secret_key"], "fr") {
		t.Errorf("masked secret = %q", m["zalo.oa_secret_key"])
	}
}

// TestConfigNamesEveryBadKey: a bad configuration stops start-up with one line per key.
func TestConfigNamesEveryBadKey(t *testing.T) {
	env := []string{"CLUBBOT_REDIS_URL=http://x", "CLUBBOT_DIGEST_TIMEZONE=Mars/Base", "CLUBBOT_DIGEST_SCHEDULE=someday",
		"CLUBBOT_ZALO_API_BASE=not a url", "CLUBBOT_HTTP_TRUSTED_PROXIES=10.0.0.1,nonsense", "CLUBBOT_LOG_LEVEL=loud"}
	_, err := loadConfig("", env)
	if err == nil {
		t.Fatal("want an error")
	}
	for _, key := range []string{"redis.url", "digest.timezone", "digest.schedule", "zalo.api_base", "zalo.app_id",
		"zalo.oa_secret_key", "http.trusted_proxies", "log.level"} {
		if !strings.Contains(err.Error(), "\n  "+key+": ") {
			t.Errorf("error does not name %s:\n%v", key, err)
		}
	}
	if _, err := loadConfig("", []string{"CLUBBOT_ZALO_APPID=1"}); err == nil || !strings.Contains(err.Error(), "CLUBBOT_ZALO_APPID: unknown") {
		t.Errorf("misspelt variable: %v", err)
	}
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte("zalo:\n  app_idd: 1\n"), 0o600)
	if _, err := loadConfig(path, nil); err == nil || !strings.Contains(err.Error(), "app_idd") {
		t.Errorf("unknown key in file: %v", err)
	}
}

// TestShippedConfigDocumentsEveryKey: config.yaml at the root names every key and parses.
func TestShippedConfigDocumentsEveryKey(t *testing.T) {
	src, err := os.ReadFile("../../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := defaultConfig()
	fields(&cfg, func(key string, _ reflect.Value, _ reflect.StructField) {
		sec, k, _ := strings.Cut(key, ".")
		if !bytes.Contains(src, []byte(sec+":")) || !bytes.Contains(src, []byte("  "+k+":")) {
			t.Errorf("config.yaml does not document %s", key)
		}
	})
	if _, err := loadConfig("../../config.yaml", []string{"CLUBBOT_ZALO_APP_ID=1", "CLUBBOT_ZALO_OA_SECRET_KEY=s"}); err != nil {
		t.Errorf("config.yaml with the two required secrets: %v", err)
	}
}

func TestCommands(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"version"}, nil, &out, &errb); err != nil || !strings.HasPrefix(out.String(), "clubbot ") {
		t.Errorf("version: %q %v", out.String(), err)
	}
	if err := run(context.Background(), []string{"frobnicate"}, nil, &out, &errb); err == nil {
		t.Error("unknown command accepted")
	}
	if err := run(context.Background(), []string{"serve"}, nil, &out, &errb); err == nil || !strings.Contains(err.Error(), "zalo.app_id") {
		t.Errorf("serve without configuration: %v", err)
	}
	if err := run(context.Background(), []string{"healthcheck", "--url", "http://127.0.0.1:1/healthz"}, nil, &out, &errb); err == nil {
		t.Error("healthcheck of a closed port succeeded")
	}
}
