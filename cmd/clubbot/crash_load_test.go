package main

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"clubbot/store"
	"clubbot/zalosim"
)

// TestCrashUnderLoad is the ingest's proof (ARCHITECTURE rules 1 and 2): 50 users send 20
// signed messages each, all users at once; the server is killed with SIGKILL in the middle
// of the load. Zalo delivers again what was not acknowledged (API.md §2.2), to the
// restarted server. Then the counts must hold: every event acknowledged with 200 is in the
// inbox exactly once and processed (pending 0, recorded = distinct events), each user's
// events were processed once each and in the order they were sent (each produced its two
// replies, in order), and every reply was sent. The only duplicates allowed are sends in
// flight at the kill (the outbox's documented resend case), at most one per send worker.
func TestCrashUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a real process under load")
	}
	const (
		users      = 50
		perUser    = 20
		repliesPer = 2 // an unlinked user's text gets the greeting and the phone card
		sendWorker = 4 // the sender's default concurrency: the most sends in flight at a kill
	)
	start := time.Now()
	bin := clubbotBinary(t)
	sim, env, base, dbPath := procSetup(t)

	p := startProc(t, bin, env)
	waitHealthy(t, base)
	ids := make([]string, users)
	for i := range ids {
		ids[i] = sim.AddUser(zalosim.User{Name: fmt.Sprintf("Chủ nhiệm %d", i)}).ID
	}

	// Phase 1: the load, and a SIGKILL once 40% of it is acknowledged.
	type event struct {
		body  []byte
		msgID string
		acked bool
	}
	events := make([][]event, users)
	var acked atomic.Int64
	var wg sync.WaitGroup
	for i, id := range ids {
		events[i] = make([]event, perUser)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One user's messages go one after another, like a person typing.
			for k := range perUser {
				d, err := sim.SendText(id, fmt.Sprintf("tin nhắn %02d", k))
				ok := err == nil && d.Status == 200
				events[i][k] = event{body: d.Event, msgID: d.MsgID, acked: ok}
				if ok {
					acked.Add(1)
				}
			}
		}()
	}
	killAt := int64(users * perUser * 2 / 5)
	deadline := time.Now().Add(20 * time.Second)
	for acked.Load() < killAt {
		if time.Now().After(deadline) {
			t.Fatalf("only %d events acknowledged in 20 s\n%s", acked.Load(), tail(p.logs.String()))
		}
		time.Sleep(time.Millisecond)
	}
	p.kill(t)
	wg.Wait()
	ackedBeforeKill := acked.Load()
	if ackedBeforeKill >= users*perUser {
		t.Fatalf("all %d events were acknowledged before the kill: the kill came too late to prove anything", ackedBeforeKill)
	}

	// Phase 2: restart; Zalo delivers again what was not acknowledged, in each user's
	// order, and (as a retry may) a few that were.
	p2 := startProc(t, bin, env)
	waitHealthy(t, base)
	var redelivered atomic.Int64
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k, ev := range events[i] {
				if ev.acked && k != 0 {
					continue
				}
				status, err := sim.Deliver(ev.body, true)
				if err != nil || status != 200 {
					t.Errorf("redelivery of user %d event %d: %d %v", i, k, status, err)
					return
				}
				if !ev.acked {
					redelivered.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	// Every recorded event processed: the inbox backlog is empty. (The replies go out at
	// the sender's rate limit; they need not all be sent for the counts below.)
	deadline = time.Now().Add(20 * time.Second)
	for metricValue(t, base, "clubbot_inbox_pending") != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("inbox backlog not processed in 20 s\n%s", tail(p2.logs.String()))
		}
		time.Sleep(5 * time.Millisecond)
	}
	p2.stop(t)

	// The counts.
	db := openChecked(t, dbPath)
	total, pending, err := db.InboxStats()
	if err != nil {
		t.Fatal(err)
	}
	if total != users*perUser || pending != 0 {
		t.Errorf("inbox: %d recorded, %d pending; want %d (every acknowledged event, once), 0", total, pending, users*perUser)
	}
	byUser := map[string][]store.OutboxItem{}
	recorded := map[string]bool{} // Zalo message ids of the items recorded as sent
	sent, bad := 0, 0
	db.Outbox(func(it store.OutboxItem) bool {
		byUser[it.UserID] = append(byUser[it.UserID], it)
		switch it.Status {
		case store.OutSent:
			sent++
			recorded[it.ZaloMsgID] = true
		case store.OutQueued:
		default:
			bad++
		}
		return true
	})
	if bad != 0 {
		t.Errorf("%d replies held or failed", bad)
	}
	// Each send Zalo accepted is an item recorded as sent, except a send whose outcome
	// the kill cut off: that item was sent again after the restart.
	dups, zaloSent := 0, 0
	for _, id := range ids {
		for _, e := range sim.Outbound(id) {
			zaloSent++
			if !recorded[e.MsgID] {
				dups++
			}
		}
	}
	if zaloSent-dups != sent {
		t.Errorf("Zalo accepted %d sends, %d of them recorded; the outbox records %d sent", zaloSent, zaloSent-dups, sent)
	}
	for i, id := range ids {
		items := byUser[id]
		if len(items) != perUser*repliesPer {
			t.Errorf("user %d: %d replies recorded, want %d (each event processed exactly once)", i, len(items), perUser*repliesPer)
			continue
		}
		// Replies in outbox order answer the user's messages in the order they were sent.
		for k := range perUser {
			for r := range repliesPer {
				if got := items[k*repliesPer+r].SourceMsgID; got != events[i][k].msgID {
					t.Fatalf("user %d: reply %d answers %s, want message %d (%s): events out of order or twice",
						i, k*repliesPer+r, got, k, events[i][k].msgID)
				}
			}
		}
	}
	if dups > sendWorker {
		t.Errorf("%d duplicate sends; only the sends in flight at the kill (≤ %d) may be repeated", dups, sendWorker)
	}
	t.Logf("acknowledged before the kill: %d of %d; delivered again after restart: %d; recorded: %d, pending: %d; "+
		"processed once each: yes; replies sent: %d of %d; duplicate sends: %d; took %v",
		ackedBeforeKill, users*perUser, redelivered.Load(), total, pending, sent, users*perUser*repliesPer, dups,
		time.Since(start).Round(time.Millisecond))
}

// metricValue reads one unlabelled series from the server's /metrics (-1 if absent).
func metricValue(t *testing.T, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	return -1
}
