package store

import (
	"path/filepath"
	"testing"
	"time"

	"clubbot/club"
)

func TestReportsRawSince(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	base := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	// 100 reports, one a day; number 50 is later corrected (it keeps its id and time).
	if err := db.Update(func(tx *Tx) error {
		for i := range 100 {
			if _, err := tx.AddReport(club.Report{ClubCode: "A", MeetingDate: base.AddDate(0, 0, i).Format("2006-01-02"),
				CreatedAt: base.AddDate(0, 0, i), Answers: nil}); err != nil {
				return err
			}
		}
		r, _, err := tx.Report(50)
		if err != nil {
			return err
		}
		r.Answers = nil
		r.CorrectedBy = `text with "created_at":"2099-01-01T00:00:00Z" after the field`
		_, err = tx.ReviseReport(r)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		since time.Time
		want  int // reports read
	}{
		{base.AddDate(-1, 0, 0), 100},
		{base, 100},
		{base.Add(time.Second), 99},
		{base.AddDate(0, 0, 49), 51},
		{base.AddDate(0, 0, 99), 1},
		{base.AddDate(0, 0, 100), 0},
	} {
		n := 0
		if err := db.View(func(tx *Tx) error {
			return tx.ReportsRawSince(c.since, func([]byte) error { n++; return nil })
		}); err != nil {
			t.Fatal(err)
		}
		if n != c.want {
			t.Errorf("since %v: read %d reports, want %d", c.since, n, c.want)
		}
	}
}

func TestDigestDeliveryLog(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	d := DigestDelivery{Scope: "ninh-binh", Week: "2025-W46", Runs: []DigestRun{{At: time.Unix(1e9, 0).UTC(), Trigger: "schedule",
		Recipients: []DigestRecipient{{UserID: "u1", Role: "officer", Items: []uint64{3, 4}}}}}}
	if err := db.Update(func(tx *Tx) error { return tx.PutDigestDelivery(d) }); err != nil {
		t.Fatal(err)
	}
	if err := db.View(func(tx *Tx) error {
		got, ok, err := tx.DigestDelivery("ninh-binh", "2025-W46")
		if err != nil || !ok || len(got.Runs) != 1 || got.Runs[0].Recipients[0].Items[1] != 4 {
			t.Errorf("read back %+v %v %v", got, ok, err)
		}
		if _, ok, _ := tx.DigestDelivery("ninh-binh", "2025-W47"); ok {
			t.Error("a week never delivered is found")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *Tx) error { return tx.PutDigestDelivery(DigestDelivery{Week: "x"}) }); err == nil {
		t.Error("a log without scope was accepted")
	}
}
