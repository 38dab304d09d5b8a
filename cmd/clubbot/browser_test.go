package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"clubbot/internal/testkit"
)

func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestDemoInBrowser runs the demo command and completes a report in its web chat in
// headless Chromium, as a person would: pick the chairperson, follow, share the phone with
// the card's button, type the answers, tap a quick-reply button, confirm.
func TestDemoInBrowser(t *testing.T) {
	chrome := needChromium(t)
	ctx, cancel := context.WithCancel(context.Background())
	logs := &testkit.Buffer{}
	done := make(chan error, 1)
	// Port 0: the demo prints the address it got, as it does for a person.
	go func() { done <- demo(ctx, []string{"--addr", "127.0.0.1:0"}, nil, logs) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo: %v", err)
		}
	}()
	base := ""
	for deadline := time.Now().Add(15 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, rest, ok := strings.Cut(logs.String(), "Web chat (simulated Zalo): "); ok {
			base, _, _ = strings.Cut(rest, "/sim/")
		}
	}
	if base == "" {
		t.Fatalf("the demo printed no web chat URL:\n%s", logs.String())
	}
	waitHealthy(t, base)

	bctx := newBrowser(t, chrome)

	// waitText waits until the chat shows s.
	waitText := func(s string) chromedp.Action[chromedp.Void] { return waitTextIn("#messages", s) }
	say := func(text, expect string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.SetValue(chromedp.CSS("#text"), text),
			chromedp.Click(chromedp.CSS("#send")),
			waitText(expect),
		)
	}
	err := chromedp.Do(bctx,
		chromedp.Navigate(base+"/sim/"),
		chromedp.WaitVisible(chromedp.CSS(".user[data-id]")),
		chromedp.Click(chromedp.CSS(".user[data-id]")),
		chromedp.Click(chromedp.CSS("#follow")),
		chromedp.WaitVisible(chromedp.CSS("button.share-info")),
		chromedp.Click(chromedp.CSS("button.share-info")),
		waitText("chủ nhiệm CLB Liên thế hệ thôn Đông"),
		say("báo cáo", "đã họp chưa"),
		// tap the quick-reply button "Có" (the OA sends buttons in the demo)
		chromedp.Click(chromedp.Search(`//button[contains(@class,"qr")][normalize-space()="Có"]`)),
		waitText("họp ngày nào"),
		say("32/13", "Không có ngày 32/13"),
		say("hom qua", "bao nhiêu người dự"),
		say("42 người", "nữ"),
		say("bỏ qua", "60 tuổi"),
		say("bo qua", "mảng hoạt động"),
		say("2 6 7", "đo huyết áp"),
		say("30", "thành viên mới"),
		say("1", "khó khăn"),
		say("Cần thêm máy đo huyết áp", "xem lại báo cáo"),
		say("dong y", "Đã lưu báo cáo số 1"),
	)
	if err != nil {
		t.Fatalf("browser: %v\nlogs:\n%s", err, tail(logs.String()))
	}
	if dir := os.Getenv("CLUBBOT_SCREENSHOTS"); dir != "" {
		shot, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		_ = os.WriteFile(filepath.Join(dir, "demo-chat.png"), shot, 0o644)
	}
	if !strings.Contains(logs.String(), "report stored") {
		t.Error("the demo's log does not show the stored report")
	}
}

// needChromium returns the browser's path, or skips the test where there is none (.ci/run
// installs it, so CI always runs these tests).
func needChromium(t *testing.T) string {
	chrome := chromiumPath()
	if chrome == "" {
		t.Skip("no Chromium on this machine (.ci/run installs it)")
	}
	return chrome
}

// newBrowser starts headless Chromium with the flags this closed network needs (no
// background networking) and returns its context, closed when the test ends.
func newBrowser(t *testing.T, chrome string) context.Context {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 900))
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	bctx, tcancel := context.WithTimeout(bctx, 60*time.Second)
	t.Cleanup(func() { tcancel(); bcancel(); acancel() })
	return bctx
}

// waitTextIn waits until the element sel shows s.
func waitTextIn(sel, s string) chromedp.Action[chromedp.Void] {
	poll := chromedp.Poll[bool](`(document.querySelector('`+sel+`')||{innerText:''}).innerText.includes(`+jsString(s)+`)`,
		chromedp.WithPollingInterval(50*time.Millisecond))
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := poll(ctx, t)
		return err
	})
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(s) + "'"
}
