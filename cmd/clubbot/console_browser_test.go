package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"clubbot/zalosim"
)

// TestAdminConsoleInBrowser logs in to /admin/ in headless Chromium, imports a CSV with a
// bad row (the line and field are shown, nothing written), imports a good one, saves a
// broken flow (the line is shown), saves a fixed one (a new revision) and previews a digest.
func TestAdminConsoleInBrowser(t *testing.T) {
	chrome := needChromium(t)
	e := startEnvWith(t, func(c *Config) { c.Admin.APIToken = "console-secret" })
	dir := t.TempDir()
	badCSV := filepath.Join(dir, "bad.csv")
	goodCSV := filepath.Join(dir, "good.csv")
	os.WriteFile(badCSV, []byte("code,name,province,commune,village,chair_name,chair_phone,members,founded_on\n"+
		"NA-9,CLB Mới,Nghệ An,Xã Mới,,Hồ Văn E,0912,40,\n"), 0o600)
	os.WriteFile(goodCSV, []byte("code,name,province,commune,village,chair_name,chair_phone,members,founded_on\n"+
		"NA-9,CLB Mới,Nghệ An,Xã Mới,,Hồ Văn E,0966555444,40,\n"), 0o600)

	bctx := newBrowser(t, chrome)
	waitIn := waitTextIn
	tab := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Click(chromedp.CSS(`nav button[data-tab="` + name + `"]`))
	}
	err := chromedp.Do(bctx,
		chromedp.Navigate(e.base+"/admin/"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SetValue(chromedp.CSS("#token"), "wrong"),
		chromedp.Click(chromedp.CSS("#login-form button")),
		waitIn("#login-msg", "không đúng"),
		chromedp.SetValue(chromedp.CSS("#token"), "console-secret"),
		chromedp.Click(chromedp.CSS("#login-form button")),
		chromedp.WaitVisible(chromedp.CSS("#app nav")),

		chromedp.SetUploadFiles(chromedp.CSS("#clubs-file"), []string{badCSV}),
		chromedp.Click(chromedp.CSS("#clubs-import")),
		waitIn("#clubs-result", "chưa ghi gì"),
		waitIn("#clubs-result", "chair_phone"),
		chromedp.SetUploadFiles(chromedp.CSS("#clubs-file"), []string{goodCSV}),
		chromedp.Click(chromedp.CSS("#clubs-import")),
		waitIn("#clubs-result", "1 mới"),
		chromedp.SetValue(chromedp.CSS("#clubs-province"), "nghe-an"),
		chromedp.Click(chromedp.CSS("#clubs-load")),
		waitIn("#clubs-list", "CLB Mới"),

		tab("flows"),
		waitIn("#flow-revisions", "Dùng lại bản này"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#flow-yaml').value = document.querySelector('#flow-yaml').value.replace('type: yesno', 'type: yesnoo')`),
		chromedp.Click(chromedp.CSS("#flow-save")),
		waitIn("#flow-result", "chưa lưu"),
		waitIn("#flow-result", "yesnoo"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#flow-yaml').value = document.querySelector('#flow-yaml').value.replace('type: yesnoo', 'type: yesno').replace('Tháng này CLB đã họp chưa ạ?', 'Tháng này CLB có họp không ạ?')`),
		chromedp.Click(chromedp.CSS("#flow-save")),
		waitIn("#flow-result", "Đã lưu bản 2"),

		tab("digests"),
		chromedp.SetValue(chromedp.CSS("#dig-province"), "ha-noi"),
		chromedp.Click(chromedp.CSS("#dig-preview")),
		waitIn("#dig-result", "Hà Nội"),
	)
	if err != nil {
		t.Fatalf("console: %v\nlogs:\n%s", err, tail(e.logs.String()))
	}
	if dir := os.Getenv("CLUBBOT_SCREENSHOTS"); dir != "" {
		shot, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
		if err == nil {
			os.WriteFile(filepath.Join(dir, "console.png"), shot, 0o644)
		}
	}
	// The saved revision is live: a new conversation asks the new wording.
	u := e.sim.AddUser(zalosim.User{Name: "An", Phone: "0912345678"}).ID
	e.say(u, "0912345678", 1)
	if got := texts(e.say(u, "bao cao", 1)); !strings.Contains(got, "có họp không") {
		t.Errorf("new conversation after the console edit: %s", got)
	}
}
