package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"clubbot/bot/zalo"
	"clubbot/club"
	"clubbot/digest"
	"clubbot/flows"
	"clubbot/store"
)

var hcmLoc = func() *time.Location {
	l, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		panic(err)
	}
	return l
}()

// fakeUploader stands for Zalo's image upload.
type fakeUploader struct {
	mu    sync.Mutex
	calls []string
	fail  error
}

func (f *fakeUploader) UploadImage(_ context.Context, name string, data []byte) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return "", f.fail
	}
	f.calls = append(f.calls, name)
	if len(data) < 8 || string(data[1:4]) != "PNG" {
		return "", fmt.Errorf("not a PNG")
	}
	return fmt.Sprintf("att-%d", len(f.calls)), nil
}

// digestFixture is a store with a province's clubs, reports, one linked officer, one
// officer of another province, a national admin and the province's Zalo group.
type digestFixture struct {
	db       *store.DB
	officer  string
	admin    string
	group    string
	uploader *fakeUploader
}

func newDigestFixture(t *testing.T, now time.Time) *digestFixture {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "data", "clubbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Check(); err != nil {
			t.Errorf("bbolt check: %v", err)
		}
		db.Close()
	})
	f := &digestFixture{db: db, officer: "u-officer-nb", admin: "u-admin", group: "g-ninh-binh", uploader: &fakeUploader{}}
	clubs := []club.Club{
		{Code: "NB-001", Name: "CLB Liên thế hệ thôn Yên Thổ", Province: "ninh-binh", Commune: "Xã Gia Viễn", ChairPhone: "0911000001"},
		{Code: "ND-201", Name: "CLB Liên thế hệ xóm Hải Đông", Province: "Nam Định", Commune: "Xã Hải Hậu", ChairPhone: "0911000002"},
		{Code: "HN-001", Name: "CLB Liên thế hệ thôn Đông", Province: "ha-noi", Commune: "Xã Sóc Sơn", ChairPhone: "0911000003"},
	}
	if _, _, err := db.UpsertClubs(clubs, now); err != nil {
		t.Fatal(err)
	}
	n := int64(42)
	err = db.Update(func(tx *store.Tx) error {
		for _, r := range []club.Report{
			{ClubCode: "NB-001", Province: "ninh-binh", MeetingDate: "2025-11-10", Held: true, CreatedAt: time.Date(2025, 11, 10, 20, 0, 0, 0, hcmLoc),
				Answers: map[string]flows.Answer{"attendance_total": {Type: "number", Number: &n},
					"areas_active": {Type: "multi", Choices: []string{"health", "culture"}}}},
			{ClubCode: "ND-201", Province: "Nam Định", MeetingDate: "2025-08-01", Held: true, CreatedAt: time.Date(2025, 8, 1, 20, 0, 0, 0, hcmLoc),
				Answers: map[string]flows.Answer{"attendance_total": {Type: "number", Number: &n}}},
		} {
			if _, err := tx.AddReport(r); err != nil {
				return err
			}
		}
		for _, u := range []club.User{
			{ID: f.officer, Name: "Trần Văn Bình", Role: club.RoleOfficer, Province: "ninh-binh", Active: true, Following: true, LastInbound: now},
			{ID: "u-officer-hn", Name: "Phạm Thu Hà", Role: club.RoleOfficer, Province: "ha-noi", Active: true, Following: true, LastInbound: now},
			{ID: "u-officer-gone", Name: "Đã bỏ theo dõi", Role: club.RoleOfficer, Province: "ninh-binh", Active: false},
			{ID: f.admin, Name: "Quản trị", Role: club.RoleAdmin, Active: true, Following: true, LastInbound: now},
			{ID: "u-chair", Name: "Chủ nhiệm", Role: club.RoleChair, ClubCode: "NB-001", Province: "ninh-binh", Active: true},
		} {
			if err := tx.PutUser(u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetGroupProvince(f.group, "ninh-binh", now); err != nil {
		t.Fatal(err)
	}
	return f
}

// digester builds a Digester on the fixture's store with the given clock.
func (f *digestFixture) digester(t *testing.T, now func() time.Time, spec string) *Digester {
	t.Helper()
	sched, err := digest.ParseSchedule(spec, hcmLoc)
	if err != nil {
		t.Fatal(err)
	}
	return &Digester{db: f.db, upload: f.uploader, log: zerolog.Nop(), now: now, loc: hcmLoc, sched: sched,
		provinces: club.MustLoadProvinces(), tmpl: digestTemplates(), chartDir: filepath.Join(t.TempDir(), "digests")}
}

// log returns a scope's delivery log for a week.
func (f *digestFixture) log(t *testing.T, scope, week string) (store.DigestDelivery, bool) {
	t.Helper()
	var d store.DigestDelivery
	var ok bool
	if err := f.db.View(func(tx *store.Tx) (err error) {
		d, ok, err = tx.DigestDelivery(scope, week)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return d, ok
}

// items returns the digest outbox items, by recipient.
func (f *digestFixture) items(t *testing.T) map[string][]store.OutboxItem {
	t.Helper()
	out := map[string][]store.OutboxItem{}
	if err := f.db.Outbox(func(it store.OutboxItem) bool {
		if it.Kind == "digest" {
			out[it.UserID+it.GroupID] = append(out[it.UserID+it.GroupID], it)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func countItems(m map[string][]store.OutboxItem) int {
	n := 0
	for _, v := range m {
		n += len(v)
	}
	return n
}

// inUTC runs the test with the machine's zone set to UTC, as on a server: the schedule
// must still follow Asia/Ho_Chi_Minh.
func inUTC(t *testing.T) {
	old := time.Local
	time.Local = time.UTC
	t.Cleanup(func() { time.Local = old })
}

// fakeClock starts at base inside a synctest bubble: the bubble's clock moves only when
// every goroutine is blocked, so the scheduler's timers are crossed without waiting.
func fakeClock(base time.Time) func() time.Time {
	start := time.Now()
	return func() time.Time { return base.Add(time.Since(start)) }
}

// sleepUntil advances the bubble's clock to t (local time of the fake clock) and lets the
// scheduler finish what falls due.
func sleepUntil(now func() time.Time, t time.Time) {
	if d := t.Sub(now()); d > 0 {
		time.Sleep(d)
	}
	synctest.Wait()
}

// TestDigestScheduleOnTimeOnce: "MON 07:00" in Asia/Ho_Chi_Minh on a machine in UTC. The
// digest of week 46 goes out at 07:00 on Monday 17 November in Hồ Chí Minh City (00:00
// UTC), not a minute before, not at 07:00 UTC; only once, even across a restart; and
// week 47's a week later.
func TestDigestScheduleOnTimeOnce(t *testing.T) {
	inUTC(t)
	synctest.Test(t, func(t *testing.T) {
		base := time.Date(2025, 11, 17, 6, 0, 0, 0, hcmLoc) // Sunday 23:00 UTC
		now := fakeClock(base)
		f := newDigestFixture(t, base)
		// Week 45 went out last Monday.
		if err := f.db.Update(func(tx *store.Tx) error {
			for _, s := range allScopes(club.MustLoadProvinces()) {
				if err := tx.PutDigestDelivery(store.DigestDelivery{Scope: scopeKey(s), Week: "2025-W45",
					Runs: []store.DigestRun{{At: base.AddDate(0, 0, -7).Add(time.Hour), Trigger: "schedule"}}}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		d := f.digester(t, now, "MON 07:00")
		go d.Run(ctx)

		sleepUntil(now, base.Add(59*time.Minute+59*time.Second))
		if n := countItems(f.items(t)); n != 0 {
			t.Fatalf("%d digest messages queued before 07:00", n)
		}
		sleepUntil(now, time.Date(2025, 11, 17, 7, 0, 0, 0, hcmLoc))
		log, ok := f.log(t, "ninh-binh", "2025-W46")
		if !ok || len(log.Runs) != 1 || log.Runs[0].Trigger != "schedule" {
			t.Fatalf("week 46 log = %+v, %v; want one scheduled run", log, ok)
		}
		if at := log.Runs[0].At; !at.Equal(time.Date(2025, 11, 17, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("sent at %v, want 07:00 in Hồ Chí Minh City (00:00 UTC)", at.UTC())
		}
		items := f.items(t)
		if len(items[f.officer]) < 2 || len(items[f.group]) < 2 || len(items[f.admin]) < 1 {
			t.Fatalf("queued: officer %d, group %d, admin %d items; want text and chart to the officer and group, the national digest to the admin",
				len(items[f.officer]), len(items[f.group]), len(items[f.admin]))
		}
		if len(items["u-officer-gone"]) != 0 || len(items["u-chair"]) != 0 {
			t.Error("an inactive officer or a chair got the digest")
		}
		checkDigestItems(t, items[f.officer], false)
		checkDigestItems(t, items[f.group], true)
		first := countItems(items)

		// The rest of the week, and a restart in the middle of it: nothing more.
		sleepUntil(now, time.Date(2025, 11, 19, 12, 0, 0, 0, hcmLoc))
		cancel()
		synctest.Wait()
		ctx, cancel = context.WithCancel(context.Background())
		defer cancel()
		go f.digester(t, now, "MON 07:00").Run(ctx)
		sleepUntil(now, time.Date(2025, 11, 24, 6, 59, 0, 0, hcmLoc))
		if n := countItems(f.items(t)); n != first {
			t.Fatalf("%d messages queued after the first run and a restart, want %d (once)", n, first)
		}
		if log, _ := f.log(t, "ninh-binh", "2025-W46"); len(log.Runs) != 1 {
			t.Errorf("week 46 delivered %d times", len(log.Runs))
		}
		sleepUntil(now, time.Date(2025, 11, 24, 7, 0, 0, 0, hcmLoc))
		if log, ok := f.log(t, "ninh-binh", "2025-W47"); !ok || log.Runs[0].Trigger != "schedule" {
			t.Errorf("week 47 not sent on Monday 24/11 07:00: %+v", log)
		}
		if n := countItems(f.items(t)); n <= first {
			t.Errorf("nothing queued for week 47")
		}
		cancel()
		synctest.Wait()
	})
}

// checkDigestItems checks one recipient's digest messages: proactive bulk items, each
// under 2,000 characters, the chart as an uploaded image with its file kept for a
// re-upload, and no buttons in a group.
func checkDigestItems(t *testing.T, items []store.OutboxItem, group bool) {
	t.Helper()
	images := 0
	for _, it := range items {
		if it.Priority != store.PriorityBulk || it.Proactive == group || !strings.HasPrefix(it.Ref, "digest:") {
			t.Errorf("item %d: priority %d proactive %v ref %q", it.ID, it.Priority, it.Proactive, it.Ref)
		}
		var m OutMessage
		if err := json.Unmarshal(it.Message, &m); err != nil {
			t.Fatal(err)
		}
		if len([]rune(m.Text)) > zalo.MaxTextRunes {
			t.Errorf("item %d: %d characters", it.ID, len([]rune(m.Text)))
		}
		if group && len(m.Buttons) > 0 {
			t.Errorf("item %d: buttons in a group message", it.ID)
		}
		if m.AttachmentID != "" {
			images++
			if m.ImageFile == "" || m.UploadedAt.IsZero() {
				t.Errorf("chart item without its file or upload time: %+v", m)
			}
		}
	}
	if images != 1 {
		t.Errorf("%d images, want the chart once", images)
	}
	var first OutMessage
	_ = json.Unmarshal(items[0].Message, &first)
	if !strings.Contains(first.Text, "BẢN TIN TUẦN") {
		t.Errorf("first message = %q", first.Text)
	}
}

// TestDigestScheduleLateAfterDowntime: the server was down at Monday 07:00; it comes back
// at 10:30 and sends week 46's digest at once, marked late, and only once across a
// further restart.
func TestDigestScheduleLateAfterDowntime(t *testing.T) {
	inUTC(t)
	synctest.Test(t, func(t *testing.T) {
		base := time.Date(2025, 11, 17, 10, 30, 0, 0, hcmLoc)
		now := fakeClock(base)
		f := newDigestFixture(t, base)
		ctx, cancel := context.WithCancel(context.Background())
		go f.digester(t, now, "MON 07:00").Run(ctx)
		synctest.Wait()
		log, ok := f.log(t, "ninh-binh", "2025-W46")
		if !ok || len(log.Runs) != 1 || log.Runs[0].Trigger != "late" || !log.Runs[0].At.Equal(base) {
			t.Fatalf("week 46 = %+v, %v; want one late run at 10:30", log, ok)
		}
		if _, ok := f.log(t, "ninh-binh", "2025-W45"); ok {
			t.Error("week 45 sent too: only the latest missed digest goes out")
		}
		n := countItems(f.items(t))
		cancel()
		synctest.Wait()
		ctx, cancel = context.WithCancel(context.Background())
		defer cancel()
		go f.digester(t, now, "MON 07:00").Run(ctx)
		sleepUntil(now, base.Add(3*time.Hour))
		if got := countItems(f.items(t)); got != n {
			t.Errorf("%d messages after a restart, want %d", got, n)
		}
		cancel()
		synctest.Wait()
	})
}

// TestDigestScheduleLateWaitsForMorning: back at 22:00, a missed digest waits for 07:00
// the next day (older readers; API.md §5.2), and after two missed slots only the latest
// week goes out.
func TestDigestScheduleLateWaitsForMorning(t *testing.T) {
	inUTC(t)
	synctest.Test(t, func(t *testing.T) {
		base := time.Date(2025, 11, 24, 22, 0, 0, 0, hcmLoc) // down since before 17/11 07:00
		now := fakeClock(base)
		f := newDigestFixture(t, base)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go f.digester(t, now, "MON 07:00").Run(ctx)
		sleepUntil(now, time.Date(2025, 11, 25, 6, 59, 0, 0, hcmLoc))
		if n := countItems(f.items(t)); n != 0 {
			t.Fatalf("%d messages queued at night", n)
		}
		sleepUntil(now, time.Date(2025, 11, 25, 7, 0, 0, 0, hcmLoc))
		log, ok := f.log(t, "ninh-binh", "2025-W47")
		if !ok || log.Runs[0].Trigger != "late" || !log.Runs[0].At.Equal(time.Date(2025, 11, 25, 7, 0, 0, 0, hcmLoc)) {
			t.Fatalf("week 47 = %+v, %v; want a late run at 07:00", log, ok)
		}
		if _, ok := f.log(t, "ninh-binh", "2025-W46"); ok {
			t.Error("week 46 sent as well: only the latest missed week goes out")
		}
		cancel()
		synctest.Wait()
	})
}

// TestDigestDeliverOnceAndForce: a second run of the same week queues nothing and reports
// the statuses; force=1 sends again; a failed upload still sends the text, and the chart
// file for the sender to upload.
func TestDigestDeliverOnceAndForce(t *testing.T) {
	now := time.Date(2025, 11, 18, 9, 0, 0, 0, hcmLoc)
	f := newDigestFixture(t, now)
	d := f.digester(t, func() time.Time { return now }, "MON 07:00")
	w := digest.Week{Year: 2025, Num: 46}
	res, err := d.Deliver(context.Background(), w, []string{"ninh-binh"}, false, "api")
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	if !r.Queued || r.Runs != 1 || r.Province != "ninh-binh" || r.Name != "Ninh Bình" || r.Chart != "uploaded" || len(r.Recipients) != 2 {
		t.Fatalf("first run = %+v", r)
	}
	if rc := r.Recipients[0]; rc.UserID != f.officer || rc.Status != store.OutQueued || rc.Messages < 2 {
		t.Errorf("officer status = %+v", rc)
	}
	if rc := r.Recipients[1]; rc.GroupID != f.group || rc.Role != "group" {
		t.Errorf("group status = %+v", rc)
	}
	n := countItems(f.items(t))

	// The sender holds the officer's messages: the status says so.
	if err := f.db.Update(func(tx *store.Tx) error {
		for _, id := range mustLog(t, f, "ninh-binh", "2025-W46").Runs[0].Recipients[0].Items {
			it, err := tx.OutboxItem(id)
			if err != nil {
				return err
			}
			it.Status = store.OutHeld
			if err := tx.PutOutboxItem(it); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	res, err = d.Deliver(context.Background(), w, []string{"ninh-binh"}, false, "api")
	if err != nil {
		t.Fatal(err)
	}
	if r := res[0]; r.Queued || r.Runs != 1 || r.Note == "" || r.Recipients[0].Status != store.OutHeld {
		t.Errorf("second run = %+v; want nothing queued, the officer held", r)
	}
	if got := countItems(f.items(t)); got != n {
		t.Errorf("second run queued %d messages", got-n)
	}

	f.uploader.fail = fmt.Errorf("zalo down")
	res, err = d.Deliver(context.Background(), w, []string{"ninh-binh"}, true, "api-force")
	if err != nil {
		t.Fatal(err)
	}
	if r := res[0]; !r.Queued || r.Runs != 2 || !strings.HasPrefix(r.Chart, "upload failed") {
		t.Errorf("forced run = %+v", r)
	}
	if got := countItems(f.items(t)); got != 2*n {
		t.Errorf("forced run queued %d messages, want %d", got-n, n)
	}
	last := f.items(t)[f.group]
	var m OutMessage
	_ = json.Unmarshal(last[len(last)-1].Message, &m)
	if m.ImageFile == "" || m.AttachmentID != "" {
		t.Errorf("chart after a failed upload = %+v; want the file for the sender to upload", m)
	}
}

func mustLog(t *testing.T, f *digestFixture, scope, week string) store.DigestDelivery {
	t.Helper()
	d, ok := f.log(t, scope, week)
	if !ok {
		t.Fatalf("no log for %s %s", scope, week)
	}
	return d
}

// TestDigestNationalAndFormerNames: clubs filed under a pre-2025 name count in their new
// province; the national digest goes to admins without a province, never to groups.
func TestDigestNationalAndFormerNames(t *testing.T) {
	now := time.Date(2025, 11, 18, 9, 0, 0, 0, hcmLoc)
	f := newDigestFixture(t, now)
	d := f.digester(t, func() time.Time { return now }, "MON 07:00")
	w := digest.Week{Year: 2025, Num: 46}
	r, err := d.Preview(w, "ninh-binh")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(digestTexts(r.officer), "\n")
	for _, want := range []string{"Ninh Bình gồm các tỉnh cũ", "1/2 CLB đã báo cáo", "CLB Liên thế hệ xóm Hải Đông (Xã Hải Hậu): họp lần cuối 01/08/2025"} {
		if !strings.Contains(text, want) {
			t.Errorf("preview lacks %q:\n%s", want, text)
		}
	}
	res, err := d.Deliver(context.Background(), w, []string{digest.National}, false, "api")
	if err != nil {
		t.Fatal(err)
	}
	if rc := res[0].Recipients; res[0].Province != "national" || len(rc) != 1 || rc[0].UserID != f.admin {
		t.Errorf("national recipients = %+v", rc)
	}
}

// TestOfficerScope: an officer reads their province's digest (a pre-2025 name maps to its
// new province); only an admin without a province reads the national one.
func TestOfficerScope(t *testing.T) {
	p := club.MustLoadProvinces()
	for _, c := range []struct {
		u     club.User
		scope string
		ok    bool
	}{
		{club.User{Role: club.RoleOfficer, Province: "Nam Định"}, "ninh-binh", true},
		{club.User{Role: club.RoleOfficer, Province: "ha-noi"}, "ha-noi", true},
		{club.User{Role: club.RoleAdmin}, digest.National, true},
		{club.User{Role: club.RoleAdmin, Province: "hue"}, "hue", true},
		{club.User{Role: club.RoleOfficer}, "", false},
		{club.User{Role: club.RoleOfficer, Province: "Atlantis"}, "", false},
		{club.User{Role: club.RoleChair, Province: "ha-noi"}, "", false},
	} {
		if scope, ok := officerScope(p, c.u); scope != c.scope || ok != c.ok {
			t.Errorf("officerScope(%s %q) = %q %v, want %q %v", c.u.Role, c.u.Province, scope, ok, c.scope, c.ok)
		}
	}
}
