package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"clubbot/bot"
	"clubbot/bot/zalo"
	"clubbot/club"
	"clubbot/internal/testkit"
	"clubbot/store"
	"clubbot/zalosim"
)

// The weekly digest end to end: chairs of a province formed from three former ones report
// through the webhook of the simulated Zalo; the server restarts after the Monday slot and
// its scheduler sends the missed digest; an officer inside the interaction window and the
// province's Zalo group receive text and chart; an officer outside it gets the digest held
// and delivered when they next write. The bot and the sim share one injected clock, so the
// 7-day window is crossed without waiting (startEnv's serveConfig runs on the real clock).

const digestToken = "digest-admin-token-e2e"

// digestEnv is a clubbot server (bot.New + Serve on a real bbolt file) and a simulated
// Zalo, with the clock in the test's hands.
type digestEnv struct {
	t      *testing.T
	clock  *testkit.Clock
	sim    *zalosim.Sim
	db     *store.DB
	loc    *time.Location
	simURL string
	base   string
	stop   func()
	logs   *testkit.Buffer
}

var digestClubsCSV = `code,name,province,commune,village,chair_name,chair_phone,members,founded_on
NB-001,CLB Liên thế hệ thôn Yên Thổ,Ninh Bình,Xã Gia Viễn,Thôn Yên Thổ,Đinh Văn Một,0931000001,55,2018-04-10
HNA-101,CLB Liên thế hệ tổ dân phố Lam Hạ,Hà Nam,Phường Phủ Lý,Tổ 3,Trần Thị Hai,0931000002,60,2020-03-15
ND-201,CLB Liên thế hệ xóm Hải Đông,Nam Định,Xã Hải Hậu,Xóm 4,Vũ Văn Ba,0931000003,50,2017-09-09
ND-202,CLB Liên thế hệ thôn Trực Nội,Nam Dinh,Xã Hải Hậu,Thôn Nội,Lê Thị Bốn,0931000004,48,2019-01-01
`

var digestOfficersCSV = `name,phone,province,role
Phạm Văn An,0932000001,Ninh Bình,officer
Ngô Thị Bình,0932000002,Nam Định,officer
`

func startDigestEnv(t *testing.T, start time.Time) *digestEnv {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		t.Fatal(err)
	}
	e := &digestEnv{t: t, clock: testkit.NewClock(start), loc: loc, logs: &testkit.Buffer{}}
	e.sim = zalosim.New(zalosim.Config{AppID: "1027192766115822600", OAID: "2910835123456789012",
		OASecretKey: "FAKE_OA_SECRET_KEY_123", AppSecret: "app-secret-test",
		AccessToken: "access-token-0", RefreshToken: "refresh-token-0", Now: e.clock.Now})
	simSrv := httptest.NewServer(e.sim.APIHandler())
	t.Cleanup(simSrv.Close)
	e.simURL = simSrv.URL
	db, err := store.Open(filepath.Join(t.TempDir(), "data", "clubbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	e.db = db
	t.Cleanup(func() {
		if t.Failed() {
			for _, l := range strings.Split(e.logs.String(), "\n") {
				if strings.Contains(l, "digest") {
					t.Log(l)
				}
			}
		}
		if err := db.Check(); err != nil {
			t.Errorf("bbolt check: %v", err)
		}
		db.Close()
	})
	provinces := club.MustLoadProvinces()
	clubs, err := club.ParseClubs(strings.NewReader(digestClubsCSV), provinces)
	if err != nil {
		t.Fatal(err)
	}
	officers, err := club.ParseOfficers(strings.NewReader(digestOfficersCSV), provinces)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.UpsertClubs(clubs, start); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.UpsertOfficers(officers); err != nil {
		t.Fatal(err)
	}
	e.start()
	return e
}

func (e *digestEnv) start() {
	e.t.Helper()
	b, err := bot.New(bot.Options{DB: e.db, Log: zerolog.New(e.logs).Level(zerolog.DebugLevel), Now: e.clock.Now, Loc: e.loc,
		AppID: "1027192766115822600", OAID: "2910835123456789012", OASecret: "FAKE_OA_SECRET_KEY_123",
		AppSecret: "app-secret-test", APIBase: e.simURL, OAuthBase: e.simURL,
		Bootstrap:  zalo.Tokens{Access: "access-token-0", Refresh: "refresh-token-0"},
		AdminToken: digestToken, DigestSchedule: "MON 07:00",
		// The rate limiter runs on the injected clock, which stands still between steps.
		Sender: bot.SenderConfig{Poll: 5 * time.Millisecond, Rate: 1000, Burst: 1000, BulkRate: 1000, BulkBurst: 1000}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.base, e.stop = testkit.Serve(e.t, b.Serve)
	e.sim.SetWebhookURL(e.base + "/webhook/zalo")
	waitHealthy(e.t, e.base)
}

// waitScheduled waits until the scheduler has recorded its run of week (all scopes are
// recorded in one transaction), so that the test's clock moves only after it.
func (e *digestEnv) waitScheduled(week string) {
	e.t.Helper()
	digestEventually(e.t, func() bool {
		var ok bool
		_ = e.db.View(func(tx *store.Tx) (err error) {
			_, ok, err = tx.DigestDelivery("national", week)
			return err
		})
		return ok
	}, func() string { return "no run of " + week })
}

func (e *digestEnv) wait(id string, n int) []zalosim.Entry {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	got, err := e.sim.WaitOutbound(ctx, id, n)
	if err != nil {
		e.t.Fatalf("%v\nlogs:\n%s", err, tail(e.logs.String()))
	}
	return got
}

// waitImage waits until id's latest successful send is an image (the digest's chart,
// which comes after its text) and returns the sends from the first onwards.
func (e *digestEnv) waitImage(id string, first int) []zalosim.Entry {
	e.t.Helper()
	for n := first + 1; ; n++ {
		got := e.wait(id, n)
		if got[len(got)-1].Kind == "image" {
			return got[first:]
		}
	}
}

func (e *digestEnv) say(id, text string, n int) []zalosim.Entry {
	e.t.Helper()
	before := len(e.sim.Outbound(id))
	if d, err := e.sim.SendText(id, text); err != nil || d.Status != 200 {
		e.t.Fatalf("send %q: %d %v", text, d.Status, err)
	}
	return e.wait(id, before+n)[before:]
}

// link adds a user who follows the OA and shares their phone through the info card.
func (e *digestEnv) link(name, phone string) string {
	e.t.Helper()
	id := e.sim.AddUser(zalosim.User{Name: name, Phone: phone}).ID
	if d, err := e.sim.Follow(id); err != nil || d.Status != 200 {
		e.t.Fatalf("follow: %d %v", d.Status, err)
	}
	e.wait(id, 2)
	if d, err := e.sim.SubmitInfo(id, name, phone); err != nil || d.Status != 200 {
		e.t.Fatalf("submit info: %d %v", d.Status, err)
	}
	got := e.wait(id, 3)
	if !strings.Contains(got[2].Text, "ghi nhận") && !strings.Contains(got[2].Text, "Cảm ơn") {
		e.t.Fatalf("%s not linked: %q", name, got[2].Text)
	}
	return id
}

// report plays one meeting report, answering each question by what it asks, so the test
// follows the flow template (templates/flows/meeting_report.yaml) rather than its order.
func (e *digestEnv) report(chair, date, people, areas string) {
	e.t.Helper()
	last := e.say(chair, "báo cáo", 1)[0].Text
	for i := 0; i < 25; i++ {
		var answer string
		switch q := strings.ToLower(last); {
		case strings.Contains(q, "đã lưu báo cáo") || strings.Contains(q, "cảm ơn bác"):
			return
		case strings.Contains(q, "xem lại báo cáo"):
			answer = "đồng ý"
		case strings.Contains(q, "đã họp chưa"):
			answer = "có"
		case strings.Contains(q, "họp ngày nào"):
			answer = date
		case strings.Contains(q, "bao nhiêu người dự"):
			answer = people
		case strings.Contains(q, "là nữ"):
			answer = "25"
		case strings.Contains(q, "60 tuổi"):
			answer = "bỏ qua"
		case strings.Contains(q, "mảng hoạt động"):
			answer = areas
		case strings.Contains(q, "thành viên mới"), strings.Contains(q, "vay vốn"):
			answer = "0"
		case strings.Contains(q, "bao nhiêu"):
			answer = "10"
		case strings.Contains(q, "khó khăn"):
			answer = "không"
		default:
			e.t.Fatalf("report: unexpected question %q", last)
		}
		got := e.say(chair, answer, 1)
		last = got[len(got)-1].Text + "\n" + got[len(got)-1].Subtitle
	}
	e.t.Fatalf("report did not finish; last question %q", last)
}

func (e *digestEnv) run(query string) bot.DigestResult {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.base+"/api/v1/digests/run?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+digestToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r bot.DigestResult
	if resp.StatusCode != 200 || json.Unmarshal(body, &r) != nil {
		e.t.Fatalf("run %s: %d %s", query, resp.StatusCode, body)
	}
	return r
}

func statusOf(r bot.DigestResult, id string) string {
	for _, rc := range r.Recipients {
		if rc.UserID == id || rc.GroupID == id {
			return rc.Status
		}
	}
	return "absent"
}

func TestDigestEndToEnd(t *testing.T) {
	// Wednesday 5 November 2025, 09:00 in Hồ Chí Minh City (week 45).
	e := startDigestEnv(t, time.Date(2025, 11, 5, 9, 0, 0, 0, time.FixedZone("ICT", 7*3600)))
	// A new installation sends the digest due now (week 44) at once: nobody is linked yet.
	e.waitScheduled("2025-W44")
	const group = "8561234567890123456"
	e.sim.AddGroup(group, "Hội NCT tỉnh Ninh Bình")
	if err := e.db.SetGroupProvince(group, "ninh-binh", e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	// Officer Bình (filed under Nam Định: now Ninh Bình) writes once, then not for 12 days.
	binh := e.link("Ngô Thị Bình", "0932000002")

	// Thursday 13 November: officer An links; three chairs report, one club stays silent.
	e.clock.Set(time.Date(2025, 11, 13, 10, 0, 0, 0, e.loc))
	an := e.link("Phạm Văn An", "0932000001")
	for _, c := range []struct{ name, phone, date, people, areas string }{
		{"Đinh Văn Một", "0931000001", "10/11", "52", "1 2 3 4 5 6 7 8"},
		{"Trần Thị Hai", "0931000002", "hôm qua", "41", "suc khoe, van nghe"},
		{"Lê Thị Bốn", "0931000004", "hôm nay", "38", "2 7"},
	} {
		chair := e.link(c.name, c.phone)
		e.report(chair, c.date, c.people, c.areas)
	}
	if n := len(digestMust(e.db.AllReports())); n != 3 {
		t.Fatalf("%d reports stored, want 3", n)
	}

	// The server is down over Monday 17 November 07:00 and comes back at 08:00: the
	// scheduler sends week 46's digest late, once.
	e.stop()
	e.clock.Set(time.Date(2025, 11, 17, 8, 0, 0, 0, e.loc))
	e.start()
	e.waitScheduled("2025-W46")

	anGot := e.waitImage(an, 3) // after the 3 messages of linking: the digest text, then the chart
	digestText := texts(anGot)
	for _, want := range []string{"BẢN TIN TUẦN 46/2025 (10/11–16/11)", "Ninh Bình gồm các tỉnh cũ: Ninh Bình, Hà Nam, Nam Định",
		"3/4 CLB đã báo cáo (75%)", "Đủ 8 mảng: 1/4 CLB", "Đông người dự nhất: CLB Liên thế hệ thôn Yên Thổ (Xã Gia Viễn), 52 người",
		"Xã Hải Hậu: 1/2 CLB chưa báo cáo"} {
		if !strings.Contains(digestText, want) {
			t.Errorf("officer's digest lacks %q:\n%s", want, digestText)
		}
	}
	if img := anGot[len(anGot)-1]; img.Kind != "image" || img.URL == "" || !strings.Contains(img.Text, "8 mảng") {
		t.Errorf("last message to the officer = %+v; want the chart image with its caption", img)
	}
	groupGot := e.waitImage(group, 0)
	for _, m := range groupGot {
		if len(m.Buttons) > 0 || m.Kind == "list" {
			t.Errorf("group message with buttons: %+v", m)
		}
	}
	if !strings.Contains(groupGot[0].Text, "BẢN TIN TUẦN 46/2025") || groupGot[len(groupGot)-1].Kind != "image" {
		t.Errorf("group received %s", texts(groupGot))
	}
	if !strings.Contains(texts(groupGot), `xin chủ nhiệm nhắn "báo cáo"`) {
		t.Errorf("group digest lacks its closing line:\n%s", texts(groupGot))
	}

	// Officer Bình is outside the 7-day window: held, shown as pending.
	r := e.run("province=ninh-binh&week=2025-W46")
	if r.Queued || r.Runs != 1 || r.Trigger != "late" {
		t.Errorf("second run = %+v; want nothing new after the scheduled one", r)
	}
	digestEventually(t, func() bool {
		r = e.run("province=Ninh%20Binh&week=2025-W46")
		return statusOf(r, an) == "sent" && statusOf(r, group) == "sent" && statusOf(r, binh) == "held"
	}, func() string { b, _ := json.Marshal(r); return string(b) })
	if n := len(e.sim.Outbound(binh)); n != 3 {
		t.Errorf("officer outside the window received %d messages, want only the 3 of linking", n)
	}

	// Bình writes on Tuesday: the reply, then the held digest and chart.
	e.clock.Set(time.Date(2025, 11, 18, 9, 30, 0, 0, e.loc))
	before := len(e.sim.Outbound(binh))
	if d, err := e.sim.SendText(binh, "xin chào"); err != nil || d.Status != 200 {
		t.Fatalf("send: %d %v", d.Status, err)
	}
	got := e.waitImage(binh, before)
	if all := texts(got); !strings.Contains(all, "BẢN TIN TUẦN 46/2025") || !strings.Contains(got[0].Text, "Anh/chị") {
		t.Errorf("after writing, officer Bình received:\n%s", all)
	}
	digestEventually(t, func() bool { r = e.run("province=ninh-binh&week=2025-W46"); return statusOf(r, binh) == "sent" },
		func() string { b, _ := json.Marshal(r); return string(b) })

	// "tổng hợp" gives the digest of the week so far.
	now := e.say(an, "tổng hợp", 1)
	if !strings.Contains(now[0].Text, "BẢN TIN TUẦN 47/2025") || !strings.Contains(now[0].Text, "Số liệu đến 09:30 ngày 18/11/2025") {
		t.Errorf("tổng hợp = %q", now[0].Text)
	}

	// Nothing was sent twice, and every text was under Zalo's limit.
	e.stop()
	for _, id := range []string{an, binh, group} {
		out := e.sim.Outbound(id)
		if n := strings.Count(texts(out), "BẢN TIN TUẦN 46/2025"); n != 1 {
			t.Errorf("%s received week 46 %d times", id, n)
		}
		for _, m := range out {
			if len([]rune(m.Text)) > 2000 {
				t.Errorf("message of %d characters", len([]rune(m.Text)))
			}
		}
	}
}

func digestMust[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// digestEventually polls cond for up to 10 s (the sender works in the background).
func digestEventually(t *testing.T, cond func() bool, state func() string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out; last state: %s", state())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
