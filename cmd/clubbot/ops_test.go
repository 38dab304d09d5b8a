package main

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"clubbot/zalosim"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestOperatorEndpoints checks /healthz, /readyz, /metrics and that no secret or phone
// number reaches the logs of a full conversation.
func TestOperatorEndpoints(t *testing.T) {
	e := startEnv(t)
	if code, _ := get(t, e.base+"/healthz"); code != 200 {
		t.Errorf("healthz = %d", code)
	}
	if code, body := get(t, e.base+"/readyz"); code != 200 || !strings.Contains(body, "ready") {
		t.Errorf("readyz = %d %s", code, body)
	}
	if code, body := get(t, e.base+"/static/card.png"); code != 200 || !strings.HasPrefix(body, "\x89PNG") {
		t.Errorf("card image = %d, %d bytes", code, len(body))
	}
	u := e.sim.AddUser(zalosim.User{Name: "An", Phone: "0912345678"}).ID
	e.say(u, "0912 345 678", 1)
	e.say(u, "bao cao", 1)
	e.say(u, "khong", 1)
	_, metrics := get(t, e.base+"/metrics")
	for _, want := range []string{`clubbot_webhook_received_total{event="user_send_text"} 3`, "clubbot_outbox_sent_total", "go_goroutines"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	e.stop()
	logs := e.logs.String()
	for _, secret := range []string{"FAKE_OA_SECRET_KEY_123", "access-token-0", "refresh-token-0", "app-secret-test", "0912345678", "912345678"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
	if !strings.Contains(logs, `"req_id"`) || !strings.Contains(logs, `"msg_id"`) {
		t.Errorf("logs lack request and message ids")
	}
}

// TestReadyzRedis: with redis.url set, /readyz answers 200 only while Redis answers.
func TestReadyzRedis(t *testing.T) {
	url := os.Getenv("REDIS_TEST_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/15"
	}
	e := startEnvWith(t, func(c *Config) { c.Redis.URL = url })
	if code, body := get(t, e.base+"/readyz"); code != 200 {
		t.Fatalf("readyz with Redis at %s = %d %s (is redis-server running? .ci/run starts it)", url, code, body)
	}
	e.stop()
	e2 := startEnvWith(t, func(c *Config) { c.Redis.URL = "redis://127.0.0.1:1/0" })
	if code, body := get(t, e2.base+"/readyz"); code != 503 || !strings.Contains(body, "redis") {
		t.Errorf("readyz with Redis down = %d %s, want 503 naming redis", code, body)
	}
}
