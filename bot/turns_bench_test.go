package bot

import (
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"clubbot/club"
	"clubbot/store"
)

// BenchmarkWorkerTurns measures the worker's share of a conversation turn: events already
// in the inbox are processed in groups of maxTurnGroup, each in one transaction (read the
// event, the user and the session, run the engine, store the session, the report and the
// replies, mark the event processed, commit). One op is one turn. The whole path, webhook
// included, is bench/turns (BENCHMARKS.md, "Conversation turns").
func BenchmarkWorkerTurns(b *testing.B) {
	bot, db := newFlowsBot(b, "")
	const users = 512
	now := time.Now()
	var clubs []club.Club
	for i := range users {
		clubs = append(clubs, club.Club{Code: fmt.Sprintf("C%04d", i), Name: fmt.Sprintf("CLB %d", i), Province: "ha-noi",
			Commune: "X", ChairName: "A", ChairPhone: fmt.Sprintf("09%08d", i)})
	}
	if _, _, err := db.UpsertClubs(clubs, now); err != nil {
		b.Fatal(err)
	}
	db.Update(func(tx *store.Tx) error {
		for i := range users {
			tx.PutUser(club.User{ID: fmt.Sprintf("u%04d", i), Role: club.RoleChair, ClubCode: clubs[i].Code, Province: "ha-noi",
				Active: true, Following: true, LastInbound: now})
		}
		return nil
	})
	script := []string{"báo cáo", "có", "hôm qua", "khoảng 35 người", "đúng", "20", "bỏ qua", "suc khoe, van nghe", "abc",
		"25", "quay lại", "25", "0", "Cần thêm máy đo huyết áp", "đồng ý", "cảm ơn"}
	w := NewWorker(db, bot.conv.Handle, zerolog.Nop(), bot.m, time.Now, nil)
	seq := 0
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		b.StopTimer()
		var evs []store.InboxEvent
		for turn := 0; turn < len(script) && len(evs) < b.N-done; turn++ {
			for u := 0; u < users && len(evs) < b.N-done; u++ {
				seq++
				e := textEventRec(fmt.Sprintf("u%04d", u), script[turn], seq)
				evs = append(evs, e)
			}
		}
		app, err := db.AppendInbox(evs)
		if err != nil {
			b.Fatal(err)
		}
		for i := range evs {
			evs[i].Seq = app[i].Seq
		}
		b.StartTimer()
		for len(evs) > 0 {
			n := min(len(evs), maxTurnGroup)
			if err := w.process(evs[:n]); err != nil {
				b.Fatal(err)
			}
			done += n
			evs = evs[n:]
		}
	}
}

func textEventRec(uid, text string, n int) store.InboxEvent {
	e := flowsTextEvent(uid, text, n)
	e.UserID, e.Key, e.ReceivedAt = uid, fmt.Sprintf("user_send_text|m%d", n), time.Now()
	return e
}
