package store

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"clubbot/club"
	"clubbot/flows"
)

// MustOpen opens a store in a temporary folder, closed and checked when the test ends.
func MustOpen(tb testing.TB) *DB {
	tb.Helper()
	db, err := Open(filepath.Join(tb.TempDir(), "sub", "clubbot.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Check(); err != nil {
			tb.Errorf("bbolt check: %v", err)
		}
		db.Close()
	})
	return db
}

func TestAppendInboxDedup(t *testing.T) {
	db := MustOpen(t)
	now := time.Now()
	got, err := db.AppendInbox([]InboxEvent{
		{Key: "user_send_text|a", UserID: "1", Raw: []byte(`{}`), ReceivedAt: now},
		{Key: "user_send_text|b", UserID: "1", Raw: []byte(`{}`), ReceivedAt: now},
		{Key: "user_send_text|a", UserID: "1", Raw: []byte(`{}`), ReceivedAt: now}, // same group
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Appended{{Seq: 1}, {Seq: 2}, {Seq: 1, Duplicate: true}}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	again, err := db.AppendInbox([]InboxEvent{{Key: "user_send_text|b"}, {Key: "oa_send_text|b"}})
	if err != nil {
		t.Fatal(err)
	}
	if !again[0].Duplicate || again[0].Seq != 2 || again[1].Duplicate || again[1].Seq != 3 {
		t.Errorf("second delivery: got %+v", again)
	}
	pend, err := db.PendingInbox()
	if err != nil {
		t.Fatal(err)
	}
	if len(pend) != 3 || pend[0].Seq != 1 || pend[2].Seq != 3 {
		t.Fatalf("pending = %+v", pend)
	}
	if err := db.Update(func(tx *Tx) error { return tx.MarkProcessed(1) }); err != nil {
		t.Fatal(err)
	}
	total, pending, _ := db.InboxStats()
	if total != 3 || pending != 2 {
		t.Errorf("stats = %d total, %d pending; want 3, 2", total, pending)
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AppendInbox([]InboxEvent{{Key: "k", Raw: []byte(`{"a":1}`)}}); err != nil {
		t.Fatal(err)
	}
	// A second process cannot open the same file: it fails fast instead of hanging.
	start := time.Now()
	if _, err := Open(path); err == nil {
		t.Fatal("second Open succeeded; want a lock timeout")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("second Open took %v", d)
	}
	db.Close()
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pend, _ := db.PendingInbox()
	if len(pend) != 1 || string(pend[0].Raw) != `{"a":1}` {
		t.Errorf("after reopen: %+v", pend)
	}
}

func TestClubsUpsertIdempotent(t *testing.T) {
	db := MustOpen(t)
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	clubs := []club.Club{{Code: "hn-1", Name: "A", Province: "ha-noi", Commune: "X", ChairName: "An", ChairPhone: "0912345678"}}
	c, u, err := db.UpsertClubs(clubs, now)
	if err != nil || c != 1 || u != 0 {
		t.Fatalf("first upsert: %d created, %d updated, %v", c, u, err)
	}
	c, u, err = db.UpsertClubs(clubs, now.Add(time.Hour))
	if err != nil || c != 0 || u != 0 {
		t.Fatalf("same rows again: %d created, %d updated, %v; want 0, 0", c, u, err)
	}
	clubs[0].ChairPhone = "0912000000"
	if c, u, _ = db.UpsertClubs(clubs, now); c != 0 || u != 1 {
		t.Fatalf("changed phone: %d created, %d updated", c, u)
	}
	db.View(func(tx *Tx) error {
		if _, ok, _ := tx.ClubByChairPhone("0912345678"); ok {
			t.Error("old chair phone still linked")
		}
		if got, ok, _ := tx.ClubByChairPhone("0912000000"); !ok || got.Code != "HN-1" {
			t.Errorf("new chair phone → %+v, %v", got, ok)
		}
		return nil
	})
}

func TestReportsAndOutbox(t *testing.T) {
	db := MustOpen(t)
	n := int64(40)
	err := db.Update(func(tx *Tx) error {
		for i := 0; i < 3; i++ {
			if _, err := tx.AddReport(club.Report{ClubCode: "A", Answers: map[string]flows.Answer{"attendance": {Number: &n}}}); err != nil {
				return err
			}
		}
		_, err := tx.AddReport(club.Report{ClubCode: "AB"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *Tx) error {
		rs, err := tx.ClubReports("A", 2)
		if err != nil || len(rs) != 2 || rs[0].ID != 3 || rs[1].ID != 2 {
			t.Errorf("ClubReports(A, 2) = %+v, %v; want ids 3, 2", rs, err)
		}
		if rs[0].Answers["attendance"].Number == nil || *rs[0].Answers["attendance"].Number != 40 {
			t.Errorf("answer lost: %+v", rs[0].Answers)
		}
		return nil
	})
	now := time.Now()
	err = db.Update(func(tx *Tx) error {
		for _, it := range []OutboxItem{
			{UserID: "u1", Message: []byte(`{"Text":"bulk"}`), Priority: PriorityBulk, CreatedAt: now},
			{UserID: "u2", Message: []byte(`{"Text":"reply"}`), Priority: PriorityReply, CreatedAt: now},
			{UserID: "u1", Message: []byte(`{"Text":"held"}`), Priority: PriorityBulk, Status: OutHeld, CreatedAt: now},
		} {
			if _, err := tx.Enqueue(it); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	q, _ := db.Queued(10)
	if len(q) != 2 || q[0].ID != 2 || q[1].ID != 1 {
		t.Fatalf("queue order = %+v; want reply (2) before bulk (1)", q)
	}
	if err := db.UpdateOutbox(2, func(o *OutboxItem) { o.Status = OutSent }); err != nil {
		t.Fatal(err)
	}
	var released int
	db.Update(func(tx *Tx) error { released, err = tx.ReleaseHeld("u1", now); return err })
	q, _ = db.Queued(10)
	if released != 1 || len(q) != 2 || q[0].ID != 1 || q[1].ID != 3 {
		t.Errorf("after release: released %d, queue %+v", released, q)
	}
}

func TestFlowRevisions(t *testing.T) {
	db := MustOpen(t)
	err := db.Update(func(tx *Tx) error {
		for _, y := range []string{"a: 1", "a: 2"} {
			if _, err := tx.AddFlowRevision(FlowRevision{FlowID: "f", YAML: y}); err != nil {
				return err
			}
		}
		_, err := tx.AddFlowRevision(FlowRevision{FlowID: "g", YAML: "b"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := db.CurrentFlows()
	if len(cur) != 2 || cur[0].FlowID != "f" || cur[0].Revision != 2 || cur[0].YAML != "a: 2" || cur[1].Revision != 1 {
		t.Errorf("CurrentFlows = %+v", cur)
	}
}

func TestReviseReportKeepsHistory(t *testing.T) {
	db := MustOpen(t)
	created := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	var id uint64
	db.Update(func(tx *Tx) (err error) {
		id, err = tx.AddReport(club.Report{ClubCode: "A", MeetingDate: "2026-11-20", CreatedAt: created})
		return err
	})
	err := db.Update(func(tx *Tx) error {
		r, err := tx.ReviseReport(club.Report{ID: id, ClubCode: "B", MeetingDate: "2026-11-19", CreatedAt: time.Now()})
		if err != nil {
			return err
		}
		if r.Revision != 2 || r.ClubCode != "A" || !r.CreatedAt.Equal(created) {
			t.Errorf("revised = %+v; want revision 2 of club A, original creation time", r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *Tx) error {
		cur, _, _ := tx.Report(id)
		hist, _ := tx.ReportHistory(id)
		if cur.MeetingDate != "2026-11-19" || len(hist) != 1 || hist[0].MeetingDate != "2026-11-20" || hist[0].Revision != 1 {
			t.Errorf("current %+v, history %+v", cur, hist)
		}
		if _, err := tx.ReviseReport(club.Report{ID: 99}); err == nil {
			t.Error("revising a missing report succeeded")
		}
		return nil
	})
}

func TestInboxRecordRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 28, 7, 0, 0, 123, time.UTC)
	raw := []byte(`{"event_name":"user_send_text","message":{"text":"Báo cáo \u003c ok"}}` + "\n ")
	e := InboxEvent{Seq: 7, Key: "user_send_text|abc", EventName: "user_send_text", UserID: "830939", ReqID: "r1",
		Raw: raw, ReceivedAt: at}
	got, err := decodeInbox(u64(7), encodeInbox(e))
	if err != nil {
		t.Fatal(err)
	}
	if got.Seq != 7 || got.Key != e.Key || got.EventName != e.EventName || got.UserID != e.UserID || got.ReqID != "r1" ||
		string(got.Raw) != string(raw) || !got.ReceivedAt.Equal(at) {
		t.Errorf("round trip: %+v", got)
	}
	if _, err := decodeInbox(u64(7), encodeInbox(e)[:12]); err == nil {
		t.Error("a truncated record decoded")
	}
	legacy, _ := json.Marshal(e)
	if got, err := decodeInbox(u64(7), legacy); err != nil || string(got.Raw) != string(raw) {
		t.Errorf("JSON record: %+v, %v", got, err)
	}
}
