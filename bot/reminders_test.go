package bot

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"clubbot/club"
	"clubbot/flows"
	"clubbot/store"
	"clubbot/templates"
)

func TestRemindersOncePerMonthInsideWindow(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	loc, _ := time.LoadLocation("Asia/Ho_Chi_Minh")
	msgs, err := ParseMessages(templates.Messages())
	if err != nil {
		t.Fatal(err)
	}
	clubs := []club.Club{
		{Code: "A", Name: "CLB A", Province: "ha-noi", Commune: "X", ChairName: "An", ChairPhone: "0900000001"},
		{Code: "B", Name: "CLB B", Province: "ha-noi", Commune: "X", ChairName: "Bình", ChairPhone: "0900000002"},
		{Code: "C", Name: "CLB C", Province: "hue", Commune: "Y", ChairName: "Chi", ChairPhone: "0900000003"},
		{Code: "D", Name: "CLB D", Province: "hue", Commune: "Y", ChairName: "Dũng", ChairPhone: "0900000004"},
		{Code: "E", Name: "CLB E", Province: "hue", Commune: "Y", ChairName: "Em", ChairPhone: "0900000005"},
	}
	if _, _, err := db.UpsertClubs(clubs, time.Now()); err != nil {
		t.Fatal(err)
	}
	// 25/11 08:00 in Vietnam is 01:00 UTC: the machine's zone must not matter.
	before := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)
	at := time.Date(2026, 11, 25, 2, 30, 0, 0, time.UTC) // 09:30 ICT
	db.Update(func(tx *store.Tx) error {
		tx.PutUser(club.User{ID: "ua", Role: club.RoleChair, ClubCode: "A", Active: true, Name: "An", LastInbound: at.Add(-2 * 24 * time.Hour)})
		tx.PutUser(club.User{ID: "ub", Role: club.RoleChair, ClubCode: "B", Active: true, LastInbound: at.Add(-8 * 24 * time.Hour)}) // window closed
		tx.PutUser(club.User{ID: "uc", Role: club.RoleChair, ClubCode: "C", Active: true, LastInbound: at.Add(-time.Hour)})          // reported
		tx.PutUser(club.User{ID: "ud", Role: club.RoleChair, ClubCode: "D", Active: false, LastInbound: at.Add(-time.Hour)})         // unfollowed
		// in the middle of a conversation (the report, most likely): no reminder lands in it
		tx.PutUser(club.User{ID: "ue", Role: club.RoleChair, ClubCode: "E", Active: true, LastInbound: at.Add(-10 * time.Minute)})
		tx.PutSession("ue", flows.Session{FlowID: "meeting_report", Step: "date", Status: "active", UpdatedAt: at.Add(-10 * time.Minute)})
		_, err := tx.AddReport(club.Report{ClubCode: "C", Province: "hue", MeetingDate: "2026-11-10", Held: true, CreatedAt: at.AddDate(0, 0, -14)})
		return err
	})
	r := &Reminders{DB: db, Messages: msgs, Loc: loc, Day: 25, At: 9 * time.Hour, Log: zerolog.Nop(), Metrics: NewMetrics()}
	steps := []struct {
		now  time.Time
		want int
	}{
		{before, 0},
		{at, 1},
		{at.Add(time.Hour), 0},          // once
		{at.Add(4 * 24 * time.Hour), 0}, // still November
		{at.AddDate(0, 1, 0), 0},        // 25/12, but ua's window closed meanwhile
	}
	for i, s := range steps {
		got, err := r.RunOnce(s.now)
		if err != nil || got != s.want {
			t.Errorf("step %d (%s): queued %d, %v; want %d", i, s.now.In(loc), got, err, s.want)
		}
	}
	var items []store.OutboxItem
	db.Outbox(func(it store.OutboxItem) bool { items = append(items, it); return true })
	if len(items) != 1 || items[0].UserID != "ua" || items[0].Kind != "reminder" || !items[0].Proactive {
		t.Fatalf("outbox = %+v", items)
	}
	// January: ua wrote recently again, so January's reminder reaches them.
	jan := time.Date(2027, 1, 25, 3, 0, 0, 0, time.UTC)
	db.Update(func(tx *store.Tx) error {
		return tx.PutUser(club.User{ID: "ua", Role: club.RoleChair, ClubCode: "A", Active: true, Name: "An", LastInbound: jan.Add(-time.Hour)})
	})
	if n, err := r.RunOnce(jan); n != 1 || err != nil { // A only: C has not reported, but its chair last wrote in November
		t.Errorf("January: %d queued, %v; want 1", n, err)
	}
	// A new process on the same store does not send November's reminders again.
	r2 := *r
	if n, _ := r2.RunOnce(at.Add(2 * time.Hour)); n != 0 {
		t.Errorf("after restart: %d queued again", n)
	}
	// The last day of a short month stands for day 31.
	r3 := &Reminders{Loc: loc, Day: 31, At: 9 * time.Hour}
	if r3.due(time.Date(2027, 2, 28, 3, 0, 0, 0, time.UTC)) != "reminders/2027-02" {
		t.Error("day 31 did not fall on 28 February")
	}
}
