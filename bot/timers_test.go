package bot

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"clubbot/club"
	"clubbot/flows"
	"clubbot/store"
)

var timerNow = time.Date(2026, 11, 25, 9, 0, 0, 0, time.FixedZone("ICT", 7*3600))

// startedSession is a meeting report started at `at`, answered up to the attendance.
func startedSession(t *testing.T, b *Bot, at time.Time) flows.Session {
	t.Helper()
	f, rev, err := b.flows.Current(ReportFlow)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := flows.Start(f, rev, map[string]string{"club": "Hoa Sen"}, at)
	for _, in := range []string{"có", "hôm qua"} {
		s, _, _ = flows.Advance(f, s, flows.Input{Text: in}, at)
	}
	return s
}

// flowsOutbox returns every outbox item of kind for user uid.
func flowsOutbox(t *testing.T, db *store.DB, uid, kind string) []store.OutboxItem {
	t.Helper()
	var out []store.OutboxItem
	if err := db.Outbox(func(it store.OutboxItem) bool {
		if it.UserID == uid && (kind == "" || it.Kind == kind) {
			out = append(out, it)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func flowsSession(t *testing.T, db *store.DB, uid string) (s flows.Session, ok bool) {
	t.Helper()
	if err := db.View(func(tx *store.Tx) (err error) {
		s, ok, err = tx.Session(uid)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return s, ok
}

func TestTimersNudgeOnceExpireAndForget(t *testing.T) {
	b, db := newFlowsBot(t, "")
	b.conv.Buttons = true
	now := timerNow
	idle := startedSession(t, b, now.Add(-31*time.Minute))
	fresh := startedSession(t, b, now.Add(-29*time.Minute))
	old := startedSession(t, b, now.Add(-24*time.Hour))
	gone := startedSession(t, b, now.Add(-40*24*time.Hour))
	gone.Status, gone.Step = flows.StatusExpired, ""
	recent := startedSession(t, b, now.Add(-2*24*time.Hour))
	recent.Status, recent.Step = flows.StatusExpired, ""
	users := []struct {
		id   string
		last time.Time
		foll bool
		s    flows.Session
	}{
		{"in-window", now.Add(-31 * time.Minute), true, idle},
		{"out-of-window", now.Add(-8 * 24 * time.Hour), true, idle}, // e.g. an old session kept by a long nudge_after
		{"unfollowed", now.Add(-31 * time.Minute), false, idle},
		{"fresh", now.Add(-29 * time.Minute), true, fresh},
		{"day-old", now.Add(-24 * time.Hour), true, old},
		{"expired-long-ago", now.Add(-40 * 24 * time.Hour), true, gone},
		{"expired-recently", now.Add(-2 * 24 * time.Hour), true, recent},
	}
	err := db.Update(func(tx *store.Tx) error {
		for _, u := range users {
			if err := tx.PutUser(club.User{ID: u.id, Role: club.RoleChair, Active: true, Following: u.foll, LastInbound: u.last}); err != nil {
				return err
			}
			if err := tx.PutSession(u.id, u.s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	woken := 0
	tm := &Timers{DB: db, Flows: b.flows, Conv: b.conv, Now: func() time.Time { return now }, Log: zerolog.Nop(),
		Metrics: b.m, Wake: func() { woken++ }}
	got, err := tm.RunOnce(now)
	if err != nil {
		t.Fatal(err)
	}
	if want := (TimerCounts{Nudged: 1, Quiet: 2, Expired: 1, Deleted: 1}); got != want || woken != 1 {
		t.Fatalf("first pass: %+v (woken %d), want %+v (woken 1)", got, woken, want)
	}
	nudges := flowsOutbox(t, db, "in-window", "nudge")
	if len(nudges) != 1 || !nudges[0].Proactive || nudges[0].Status != store.OutQueued {
		t.Fatalf("nudges of in-window: %+v", nudges)
	}
	var m OutMessage
	if err := json.Unmarshal(nudges[0].Message, &m); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "báo cáo của CLB Hoa Sen còn dở") || !strings.Contains(m.Text, "2/8 câu") ||
		!strings.Contains(m.Text, "1. Tiếp tục") || len(m.Buttons) != 3 || m.Buttons[0].Payload != flows.PayloadContinue {
		t.Errorf("nudge = %q %+v", m.Text, m.Buttons)
	}
	for _, uid := range []string{"out-of-window", "unfollowed", "fresh", "day-old"} {
		if n := len(flowsOutbox(t, db, uid, "")); n != 0 {
			t.Errorf("%s: %d messages queued, want none", uid, n)
		}
	}
	if s, _ := flowsSession(t, db, "in-window"); !s.Offering || !s.NudgedAt.Equal(now) || s.Status != flows.StatusActive {
		t.Errorf("in-window session: offering %v nudged %v status %q", s.Offering, s.NudgedAt, s.Status)
	}
	if s, _ := flowsSession(t, db, "out-of-window"); s.Offering || !s.NudgedAt.Equal(now) {
		t.Errorf("out-of-window session: offering %v nudged %v; want recorded, not offering", s.Offering, s.NudgedAt)
	}
	if s, _ := flowsSession(t, db, "fresh"); !s.NudgedAt.IsZero() {
		t.Errorf("fresh session nudged")
	}
	if s, _ := flowsSession(t, db, "day-old"); s.Status != flows.StatusExpired || s.Step != "" {
		t.Errorf("day-old session: %q at %q, want expired", s.Status, s.Step)
	}
	if _, ok := flowsSession(t, db, "expired-long-ago"); ok {
		t.Errorf("a conversation expired more than a week ago is still stored")
	}
	if _, ok := flowsSession(t, db, "expired-recently"); !ok {
		t.Errorf("a recently expired conversation was deleted")
	}

	// One nudge only: a minute later (when only "fresh" reaches 30 idle minutes), and after
	// a restart (a new Timers on the same store), nothing more is queued for the same idle spell.
	for i, n := range []time.Time{now.Add(time.Minute), now.Add(3 * time.Hour)} {
		tm2 := &Timers{DB: db, Flows: b.flows, Conv: b.conv, Now: func() time.Time { return n }, Log: zerolog.Nop(), Metrics: b.m}
		got, err := tm2.RunOnce(n)
		if want := 1 - i; err != nil || got.Nudged != want {
			t.Errorf("pass %d: %+v %v; want %d nudge", i+2, got, err, want)
		}
	}
	for uid, want := range map[string]int{"in-window": 1, "fresh": 1, "out-of-window": 0} {
		if n := len(flowsOutbox(t, db, uid, "nudge")); n != want {
			t.Errorf("%s: %d nudges queued in all, want %d", uid, n, want)
		}
	}
}

// TestTimersRunEveryMinute runs the timer goroutine on synctest's fake clock: the nudge
// goes out within a minute of the 30 idle minutes, once, and the loop stops with its ctx.
func TestTimersRunEveryMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, db := newFlowsBot(t, "")
		start := time.Now()
		s := startedSession(t, b, start)
		if err := db.Update(func(tx *store.Tx) error {
			if err := tx.PutUser(club.User{ID: "u1", Role: club.RoleChair, Active: true, Following: true, LastInbound: start}); err != nil {
				return err
			}
			return tx.PutSession("u1", s)
		}); err != nil {
			t.Fatal(err)
		}
		tm := &Timers{DB: db, Flows: b.flows, Conv: b.conv, Now: time.Now, Log: zerolog.Nop(), Metrics: b.m}
		ctx, cancel := contextWithCancel()
		done := make(chan struct{})
		go func() { tm.Run(ctx); close(done) }()

		time.Sleep(29*time.Minute + 30*time.Second)
		synctest.Wait()
		if n := len(flowsOutbox(t, db, "u1", "nudge")); n != 0 {
			t.Fatalf("%d nudges before 30 idle minutes", n)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		nudges := flowsOutbox(t, db, "u1", "nudge")
		if len(nudges) != 1 {
			t.Fatalf("%d nudges a minute after 30 idle minutes, want 1", len(nudges))
		}
		if late := nudges[0].CreatedAt.Sub(start); late < 30*time.Minute || late > 31*time.Minute {
			t.Errorf("nudge queued %s after the last answer", late)
		}
		time.Sleep(5 * time.Hour)
		synctest.Wait()
		if n := len(flowsOutbox(t, db, "u1", "nudge")); n != 1 {
			t.Errorf("%d nudges after 5 more hours, want 1", n)
		}
		time.Sleep(19 * time.Hour)
		synctest.Wait()
		if s, _ := flowsSession(t, db, "u1"); s.Status != flows.StatusExpired {
			t.Errorf("status after 24h30 = %q, want expired", s.Status)
		}
		cancel()
		<-done
	})
}

// flowsTextEvent is a user_send_text event from uid, in the fixture's shape.
func flowsTextEvent(uid, text string, n int) store.InboxEvent {
	raw := fmt.Sprintf(`{"app_id":"1027192766115822600","sender":{"id":%q},"user_id_by_app":"1","recipient":{"id":"2910835123456789012"},`+
		`"event_name":"user_send_text","message":{"text":%q,"msg_id":"m%d"},"timestamp":"1751100041636"}`, uid, text, n)
	return store.InboxEvent{Seq: uint64(n), Raw: []byte(raw), EventName: "user_send_text"}
}

// flowsHandle runs one message through Conversations.Handle and returns the replies' text.
func flowsHandle(t *testing.T, b *Bot, db *store.DB, uid, text string, now time.Time) string {
	t.Helper()
	before := len(flowsOutbox(t, db, uid, "reply"))
	if err := db.Update(func(tx *store.Tx) error { return b.conv.Handle(tx, flowsTextEvent(uid, text, before+1), now) }); err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, it := range flowsOutbox(t, db, uid, "reply")[before:] {
		var m OutMessage
		json.Unmarshal(it.Message, &m)
		texts = append(texts, m.Text)
	}
	return strings.Join(texts, "\n---\n")
}

// TestResumeAndExpiredMessages drives Conversations.Handle: "báo cáo" during a report gets
// the offer; a message to an expired report (closed by the timer, or past its expiry and
// not yet seen by the timer) gets a short answer and ends it; "báo cáo" then starts anew.
func TestResumeAndExpiredMessages(t *testing.T) {
	b, db := newFlowsBot(t, "")
	if _, _, err := db.UpsertClubs([]club.Club{{Code: "HS", Name: "CLB Hoa Sen", Province: "ha-noi", Commune: "X",
		ChairName: "An", ChairPhone: "0900000001"}}, timerNow); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *store.Tx) error {
		return tx.PutUser(club.User{ID: "u1", Role: club.RoleChair, ClubCode: "HS", Province: "ha-noi", Active: true, Following: true})
	}); err != nil {
		t.Fatal(err)
	}
	now := timerNow
	step := func(text string, d time.Duration) string {
		now = now.Add(d)
		return flowsHandle(t, b, db, "u1", text, now)
	}
	mustHave := func(got string, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if !strings.Contains(got, w) {
				t.Fatalf("reply lacks %q:\n%s", w, got)
			}
		}
	}
	mustHave(step("báo cáo", 0), "đã họp chưa")
	mustHave(step("có", time.Minute), "họp ngày nào")
	mustHave(step("bao cao", time.Minute), "Bác đang làm dở báo cáo", "1/8 câu", "1. Tiếp tục", "2. Làm lại từ đầu")
	mustHave(step("1", time.Minute), "làm tiếp", "họp ngày nào")
	mustHave(step("báo cáo", time.Minute), "1/8 câu")
	mustHave(step("2", time.Minute), "làm lại từ đầu", "đã họp chưa")
	mustHave(step("có", time.Minute), "họp ngày nào")

	// Past its expiry before the timer ran: closed now, with the short answer.
	mustHave(step("hôm qua", 25*time.Hour), "đã để quá lâu nên đã đóng lại", "nhắn “báo cáo” để làm lại")
	if _, ok := flowsSession(t, db, "u1"); ok {
		t.Fatal("the expired conversation is still stored after the user was told")
	}
	// A new report; the timer closes it; "báo cáo" starts a fresh one without the notice.
	mustHave(step("báo cáo", time.Minute), "đã họp chưa")
	now = now.Add(24 * time.Hour)
	tm := &Timers{DB: db, Flows: b.flows, Conv: b.conv, Now: func() time.Time { return now }, Log: zerolog.Nop(), Metrics: b.m}
	if c, err := tm.RunOnce(now); err != nil || c.Expired != 1 {
		t.Fatalf("timer: %+v %v", c, err)
	}
	got := step("báo cáo", time.Minute)
	mustHave(got, "đã họp chưa")
	if strings.Contains(got, "đóng lại") {
		t.Errorf("a new report after an expired one repeats the expiry notice:\n%s", got)
	}
	if s, ok := flowsSession(t, db, "u1"); !ok || s.Status != flows.StatusActive || s.Step != "meeting_held" {
		t.Errorf("session after báo cáo: %+v %v", s, ok)
	}
}
