package bot

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"clubbot/bot/zalo"
	"clubbot/store"
	"clubbot/zalosim"
)

// TestOutboxTokenExpiredMidRun: the access token expires while several users are being
// answered at once. Every call rejected with -220 refreshes and retries once; the single
// use refresh token is used exactly once (one refresh for all of them), the new pair is
// on disk, and every reply arrives exactly once.
func TestOutboxTokenExpiredMidRun(t *testing.T) {
	e := startEnvT(t, nil)
	var ids []string
	for i := range 6 {
		ids = append(ids, e.user("Người "+string(rune('A'+i)), ""))
	}
	e.sim.ExpireAccessToken()
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if d, err := e.sim.SendText(id, "xin chào"); err != nil || d.Status != 200 {
				t.Errorf("send: %d %v", d.Status, err)
			}
		}()
	}
	wg.Wait()
	for _, id := range ids {
		e.waitOut(id, 4) // greeting + card on follow, and again for the text
	}
	if got := e.sim.Stats().Refreshes; got != 1 {
		t.Errorf("token refreshes at Zalo = %d, want exactly 1 (single-use refresh token)", got)
	}
	e.wantMetric(1, "clubbot_token_refresh_total", "outcome", "ok")
	access, refresh := e.sim.Tokens()
	stored, ok, err := e.db.LoadTokens(context.Background())
	if err != nil || !ok || stored.Access != access || stored.Refresh != refresh {
		t.Errorf("stored tokens do not match the pair Zalo issued (ok=%v, err=%v)", ok, err)
	}
	if n := len(e.calls(zalosim.PathMessageCS, "")); n < 24+1 {
		t.Errorf("only %d send calls: the expired token was never hit", n)
	}
	for _, id := range ids {
		if got := len(e.sim.Outbound(id)); got != 4 {
			t.Errorf("user %s got %d messages, want exactly 4", id, got)
		}
	}
	e.eventually("every outcome recorded", func() bool { q, _, _ := e.db.OutboxCounts(); return q == 0 })
	for _, it := range e.items("") {
		if it.Status != store.OutSent {
			t.Errorf("item %d: status %s (%s), want sent", it.ID, it.Status, it.LastError)
		}
	}
}

// TestOutboxRetries covers the retryable errors of API.md §10 against the simulated Zalo:
// each failing send is retried after a backoff (1 s, 2 s, ...) on the injected clock, one
// user's later messages wait for the earlier one, and the outcome is recorded with its code.
func TestOutboxRetries(t *testing.T) {
	tests := []struct {
		name       string
		code       int // injected error code on /message/cs
		n          int // how many calls fail
		wantStatus string
		wantCalls  int    // calls for the first message (the greeting)
		label      string // metrics label of the failure
		retried    float64
		failed     float64
	}{
		{"rate limited -32 twice", -32, 2, store.OutSent, 3, "-32", 2, 0},
		{"send failed -200 once: retried once", -200, 1, store.OutSent, 2, "-200", 1, 0},
		{"send failed -200 twice: alert", -200, 2, store.OutFailed, 2, "-200", 1, 1},
		{"unknown code: alert, no retry", -999, 1, store.OutFailed, 1, "-999", 0, 1},
		{"OA deleted -204: alert", -204, 1, store.OutFailed, 1, "-204", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startEnvT(t, nil)
			id := e.sim.AddUser(zalosim.User{Name: "Bà Lan"}).ID
			e.sim.FailNext(zalosim.PathMessageCS, tt.code, tt.n)
			if _, err := e.sim.Follow(id); err != nil {
				t.Fatal(err)
			}
			var greeting store.OutboxItem
			e.eventually("the greeting's outcome", func() bool {
				its := e.items(id)
				if len(its) < 2 {
					return false
				}
				greeting = its[0]
				if greeting.Status == store.OutQueued && !greeting.InFlight && greeting.NextAttempt.After(e.clock.Now()) {
					e.clock.Set(greeting.NextAttempt) // jump to the retry
				}
				return greeting.Status != store.OutQueued
			})
			if greeting.Status != tt.wantStatus {
				t.Fatalf("greeting status %s (code %d, %s), want %s", greeting.Status, greeting.LastCode, greeting.LastError, tt.wantStatus)
			}
			calls := e.calls(zalosim.PathMessageCS, id)
			if tt.wantStatus == store.OutFailed && greeting.LastCode != tt.code {
				t.Errorf("recorded code %d, want %d", greeting.LastCode, tt.code)
			}
			// The card waits for the greeting: it is sent after it, whatever the outcome.
			out := e.waitOut(id, map[bool]int{true: 2, false: 1}[tt.wantStatus == store.OutSent])
			if last := out[len(out)-1]; last.Kind != "request_user_info" {
				t.Errorf("last message is %s, want the card after the greeting", last.Kind)
			}
			first := 0
			for i, c := range calls {
				if strings.Contains(c.Request, "request_user_info") {
					break
				}
				first = i + 1
			}
			if first != tt.wantCalls {
				t.Errorf("calls for the greeting before the card = %d, want %d", first, tt.wantCalls)
			}
			// Backoff: each retry comes at least 1 s, then 2 s, after the failure before it.
			for i := 1; i < first; i++ {
				if gap, min := calls[i].At.Sub(calls[i-1].At), time.Second<<(i-1); gap < min {
					t.Errorf("retry %d came %v after the failure, want ≥ %v", i, gap, min)
				}
			}
			e.wantMetric(tt.retried, "clubbot_outbox_retried_total", "code", tt.label)
			e.wantMetric(tt.failed, "clubbot_outbox_failed_total", "code", tt.label)
		})
	}
}

// TestOutboxZaloDown: Zalo answers 503 to everything for a minute (the injected clock
// crosses it; nothing sleeps). The first message is retried with a doubling backoff and
// not given up; the user's second message waits behind it; both arrive once Zalo is back,
// in order, once each. Down for longer than RetryFor, the message fails for good with the
// failure recorded.
func TestOutboxZaloDown(t *testing.T) {
	tests := []struct {
		name     string
		retryFor time.Duration
		down     time.Duration
		want     string
		attempts int
	}{
		{"down for a minute", time.Hour, time.Minute, store.OutSent, 7},                   // t=0,1,3,7,15,31 fail; 63 succeeds
		{"down past the retry budget", 20 * time.Second, time.Minute, store.OutFailed, 6}, // t=31 ≥ 20 s: give up
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startEnvT(t, func(o *Options) { o.Sender.RetryFor = tt.retryFor })
			id := e.sim.AddUser(zalosim.User{Name: "Ông Bảy"}).ID
			start := e.clock.Now()
			e.sim.SetDown(true)
			if _, err := e.sim.Follow(id); err != nil {
				t.Fatal(err)
			}
			var first store.OutboxItem
			e.eventually("the outage to pass", func() bool {
				its := e.items(id)
				if len(its) < 2 {
					return false
				}
				first = its[0]
				if first.Status != store.OutQueued {
					return true
				}
				if first.InFlight || !first.NextAttempt.After(e.clock.Now()) {
					return false
				}
				if first.NextAttempt.Sub(start) >= tt.down {
					e.sim.SetDown(false)
				}
				e.clock.Set(first.NextAttempt)
				return false
			})
			if first.Status != tt.want || first.Attempts != tt.attempts {
				t.Fatalf("first message: %s after %d attempts (%s); want %s after %d", first.Status, first.Attempts,
					first.LastError, tt.want, tt.attempts)
			}
			if tt.want == store.OutFailed {
				if !strings.Contains(first.LastError, "503") {
					t.Errorf("last error %q does not record the 503", first.LastError)
				}
				e.wantMetric(1, "clubbot_outbox_failed_total", "code", "http_5xx")
				return
			}
			out := e.waitOut(id, 2)
			if out[0].Kind != "text" || out[1].Kind != "request_user_info" || len(e.sim.Outbound(id)) != 2 {
				t.Errorf("sends = %s, %s (%d in all); want greeting then card, once each", out[0].Kind, out[1].Kind, len(e.sim.Outbound(id)))
			}
			e.wantMetric(6, "clubbot_outbox_retried_total", "code", "http_5xx")
			if gap := first.SentAt.Sub(start); gap < time.Minute || gap > 2*time.Minute {
				t.Errorf("delivered %v after the outage began, want just after a minute", gap)
			}
		})
	}
}

// TestOutboxWindow: a proactive message to someone outside the 7-day window is held without
// a call (by the bot's own record of their last message), or held when Zalo answers a
// window error; either way it is delivered when the user next writes, after the reply.
func TestOutboxWindow(t *testing.T) {
	tests := []struct {
		name      string
		age       time.Duration // time since the user's last message when the digest is queued
		zaloCode  int           // error Zalo answers to the first try (0: none)
		proactive bool
		wantCall  bool // a send was attempted before the user wrote again
	}{
		{"closed by our record: held without a call", 8 * 24 * time.Hour, 0, true, false},
		{"Zalo says -230 although our record says open", 6 * 24 * time.Hour, -230, true, true},
		{"Zalo says -232 for a reply", time.Hour, -232, false, true},
		{"Zalo says -213 not a follower", time.Hour, -213, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startEnvT(t, nil)
			id := e.user("Cán bộ Hà", "")
			e.clock.Add(tt.age)
			calls := len(e.calls(zalosim.PathMessageCS, id))
			if tt.zaloCode != 0 {
				e.sim.FailNext(zalosim.PathMessageCS, tt.zaloCode, 1)
			}
			prio := store.PriorityBulk
			if !tt.proactive {
				prio = store.PriorityReply
			}
			oid := e.enqueue(store.OutboxItem{UserID: id, Kind: "digest", Priority: prio, Proactive: tt.proactive},
				OutMessage{Message: zalo.Message{Text: "Tổng hợp tuần 47: 12/15 CLB đã báo cáo."}})
			e.eventually("the digest to be held", func() bool { return e.item(oid).Status == store.OutHeld })
			held := e.item(oid)
			wantCode := tt.zaloCode
			if wantCode == 0 {
				wantCode = -230
			}
			if held.LastCode != wantCode {
				t.Errorf("held with code %d, want %d", held.LastCode, wantCode)
			}
			if got := len(e.calls(zalosim.PathMessageCS, id)) > calls; got != tt.wantCall {
				t.Errorf("send attempted before the user wrote = %v, want %v", got, tt.wantCall)
			}
			e.wantMetric(1, "clubbot_outbox_held")
			e.wantMetric(1, "clubbot_outbox_held_total")
			// The user writes: the window opens, the reply goes first, then the digest.
			e.clock.Add(time.Minute)
			// A held bulk message goes after the new replies; a held reply goes first (by age).
			out := e.say(id, "tổng hợp", 3)
			pos := 2
			if !tt.proactive {
				pos = 0
			}
			if out[pos].Text != "Tổng hợp tuần 47: 12/15 CLB đã báo cáo." {
				t.Errorf("message %d after writing = %q, want the held message", pos, out[pos].Text)
			}
			e.eventually("the digest's record", func() bool { return e.item(oid).Status == store.OutSent })
			if it := e.item(oid); it.ZaloMsgID != out[pos].MsgID {
				t.Errorf("digest recorded as zalo id %q; want %q", it.ZaloMsgID, out[pos].MsgID)
			}
			if n := strings.Count(texts(e.sim.Outbound(id)), "Tổng hợp tuần 47"); n != 1 {
				t.Errorf("digest delivered %d times", n)
			}
		})
	}
}

func texts(es []zalosim.Entry) string {
	var b strings.Builder
	for _, e := range es {
		b.WriteString(e.Text + "\n" + e.Subtitle + "\n---\n")
	}
	return b.String()
}

// TestOutboxTemplateRejected: with quick replies on, Zalo refuses the list template
// (-201 from SetButtonsUnsupported, or -233/-240). The same prompt goes out at once as
// plain text with its numbered choices, the refusal is remembered in the store, and later
// prompts are sent as text without trying buttons again.
func TestOutboxTemplateRejected(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*zalosim.Sim)
		code  int
	}{
		{"-201 buttons unsupported", func(s *zalosim.Sim) { s.SetButtonsUnsupported(true) }, -201},
		{"-233 message type not supported", func(s *zalosim.Sim) { s.FailNext(zalosim.PathMessageCS, -233, 1) }, -233},
		{"-240 v2 shut down", func(s *zalosim.Sim) { s.FailNext(zalosim.PathMessageCS, -240, 1) }, -240},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startEnvT(t, func(o *Options) { o.Buttons = true })
			id := e.chair()
			tt.setup(e.sim)
			out := e.say(id, "báo cáo", 1)
			if out[0].Kind != "text" || !strings.Contains(out[0].Text, "1.") {
				t.Fatalf("fallback = %s %q, want plain text with numbered choices", out[0].Kind, out[0].Text)
			}
			var off store.ButtonsOff
			var isOff bool
			e.db.View(func(tx *store.Tx) error { off, isOff = tx.ButtonsUnavailable(); return nil })
			if !isOff || off.Code != tt.code {
				t.Errorf("buttons-unavailable flag = %v (code %d), want set with %d", isOff, off.Code, tt.code)
			}
			lists := func() int {
				n := 0
				for _, c := range e.calls(zalosim.PathMessageCS, id) {
					if strings.Contains(c.Request, `"template_type":"list"`) {
						n++
					}
				}
				return n
			}
			if lists() != 1 {
				t.Fatalf("%d list sends, want the one refused", lists())
			}
			// Later prompts with choices skip buttons: cancel and start again.
			e.say(id, "hủy", 1)
			again := e.say(id, "báo cáo", 1)
			if again[0].Kind != "text" || lists() != 1 {
				t.Errorf("after the refusal: kind %s, %d list sends; want text and no new list", again[0].Kind, lists())
			}
			e.wantMetric(1, "clubbot_outbox_fallback_total", "dropped", "buttons")
		})
	}
}

// TestOutboxButtonsAccepted is the control: with quick replies on and Zalo accepting
// them, the prompt goes as a list template with oa.query.hide buttons.
func TestOutboxButtonsAccepted(t *testing.T) {
	e := startEnvT(t, func(o *Options) { o.Buttons = true })
	id := e.chair()
	out := e.say(id, "báo cáo", 1)
	if out[0].Kind != "list" || len(out[0].Buttons) == 0 || out[0].Buttons[0].Type != "oa.query.hide" {
		t.Fatalf("prompt = %s with %+v, want a list with oa.query.hide buttons", out[0].Kind, out[0].Buttons)
	}
	e.db.View(func(tx *store.Tx) error {
		if _, off := tx.ButtonsUnavailable(); off {
			t.Error("buttons flagged unavailable although Zalo took them")
		}
		return nil
	})
}

// TestOutboxQuote: the answer to a photo quotes it (quote_message_id = the photo's msg_id);
// when Zalo refuses the quote (-201) the same answer goes again without it.
func TestOutboxQuote(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		t.Run(map[bool]string{false: "quoted", true: "quote refused"}[refuse], func(t *testing.T) {
			e := startEnvT(t, nil)
			id := e.user("Bác Tư", "")
			if refuse {
				e.sim.FailNext(zalosim.PathMessageCS, -201, 1)
			}
			d, err := e.sim.SendImage(id, "http://127.0.0.1:1/photo.jpg", "")
			if err != nil || d.Status != 200 {
				t.Fatalf("image: %d %v", d.Status, err)
			}
			out := e.waitOut(id, 3)[2:] // unlinked: one answer asking for the phone
			want := d.MsgID
			if refuse {
				want = ""
			}
			if out[0].QuoteMsgID != want {
				t.Errorf("first answer quotes %q, want %q", out[0].QuoteMsgID, want)
			}
			e.wantMetric(map[bool]float64{false: 0, true: 1}[refuse], "clubbot_outbox_fallback_total", "dropped", "quote")
		})
	}
}

// TestOutboxOrderAndPriority: one user's messages go in order even with several send
// workers, and a reply queued behind a backlog of bulk sends goes ahead of them.
func TestOutboxOrderAndPriority(t *testing.T) {
	e := startEnvT(t, func(o *Options) {
		o.Sender.Workers = 4
		o.Sender.BulkRate, o.Sender.BulkBurst = 1, 1 // one bulk send per (fake) second
	})
	id := e.user("Bà Năm", "")
	for i := range 20 {
		e.sim.AddGroup(groupID(i), "Nhóm "+groupID(i))
	}
	for i := range 20 {
		e.enqueue(store.OutboxItem{GroupID: groupID(i), Kind: "digest", Priority: store.PriorityBulk},
			OutMessage{Message: zalo.Message{Text: "Bản tin tuần"}})
	}
	// A reply of five parts to the user: queued after the bulk items.
	var ids []uint64
	for i := range 5 {
		ids = append(ids, e.enqueue(store.OutboxItem{UserID: id, Kind: "reply", Priority: store.PriorityReply},
			OutMessage{Message: zalo.Message{Text: "Phần " + string(rune('1'+i))}}))
	}
	out := e.waitOut(id, 2+5)[2:]
	for i, m := range out {
		if want := "Phần " + string(rune('1'+i)); m.Text != want {
			t.Errorf("message %d = %q, want %q (one user's messages keep their order)", i, m.Text, want)
		}
	}
	sentBulk := 0
	for i := range 20 {
		sentBulk += len(e.sim.Outbound(groupID(i)))
	}
	if sentBulk > 1 {
		t.Errorf("%d bulk sends went before the reply; the fake clock did not move, so at most the burst (1) may", sentBulk)
	}
	// Time moves: the bulk backlog drains at the bulk rate, all of it, once each.
	e.eventually("the bulk backlog", func() bool {
		e.clock.Add(time.Second)
		q, _, _ := e.db.OutboxCounts()
		return q == 0
	})
	for i := range 20 {
		if n := len(e.sim.Outbound(groupID(i))); n != 1 {
			t.Errorf("group %d got %d sends", i, n)
		}
	}
}

func groupID(i int) string { return "g" + strings.Repeat("0", 18) + string(rune('a'+i)) }

// TestOutboxRateLimit measures the token bucket on the real clock: bulk sends never go
// faster than BulkRate (after the burst), while a reply does not wait for them.
func TestOutboxRateLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a second of real time")
	}
	const n, rate = 16, 20.0
	e := startEnvT(t, func(o *Options) {
		o.Now = time.Now
		o.Sender.BulkRate, o.Sender.BulkBurst = rate, 1
	})
	e.sim.SetNow(time.Now)
	id := e.user("Ông Sáu", "")
	for i := range n {
		e.sim.AddGroup(groupID(i), "Nhóm")
	}
	start := time.Now()
	for i := range n {
		e.enqueue(store.OutboxItem{GroupID: groupID(i), Kind: "digest", Priority: store.PriorityBulk},
			OutMessage{Message: zalo.Message{Text: "Bản tin"}})
	}
	time.Sleep(150 * time.Millisecond)
	e.enqueue(store.OutboxItem{UserID: id, Kind: "reply", Priority: store.PriorityReply},
		OutMessage{Message: zalo.Message{Text: "Trả lời ngay"}})
	e.waitOut(id, 3)
	replyAt := time.Since(start)
	e.eventually("all bulk sends", func() bool { q, _, _ := e.db.OutboxCounts(); return q == 0 })
	elapsed := time.Since(start)
	if min := time.Duration(float64(n-1) / rate * float64(time.Second) * 0.95); elapsed < min {
		t.Errorf("%d bulk sends took %v, faster than %v/s allows (%v)", n, elapsed, rate, min)
	}
	if replyAt > elapsed/2 {
		t.Errorf("the reply went out at %v of %v: it waited behind the bulk sends", replyAt, elapsed)
	}
}

// TestOutboxGroups: text and images to a Zalo group (GMF). Groups never get buttons: a
// message with choices goes as its numbered text, without a refused call first. Images go
// by URL or by upload; an unknown group is a final failure with its code.
func TestOutboxGroups(t *testing.T) {
	e := startEnvT(t, nil)
	e.sim.AddGroup(obGroup, "CLB Hà Nội")
	png := pngBytes(t)
	file := writeTemp(t, "chart.png", png)
	tests := []struct {
		name     string
		group    string
		msg      OutMessage
		want     string // sim entry kind
		wantCode int
	}{
		{"text with choices", obGroup, OutMessage{Message: zalo.Message{Text: "Chọn:\n1. Có\n2. Không",
			Buttons: []zalo.Button{{Title: "Có", Payload: "#yes"}}}}, "text", 0},
		{"image by url", obGroup, OutMessage{Message: zalo.Message{Text: "Biểu đồ", ImageURL: "https://example.org/c.png"}}, "image", 0},
		{"image by upload", obGroup, OutMessage{Message: zalo.Message{Text: "Biểu đồ tháng"}, ImageFile: file}, "image", 0},
		{"unknown group", "ffffffffffffffffffff", OutMessage{Message: zalo.Message{Text: "Xin chào"}}, "", -403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			failures := e.sim.Stats().Failures[zalosim.PathGroupMessage]
			// Queued as is (buttons included) to check the sender's own group rule.
			oid := e.enqueue(store.OutboxItem{GroupID: tt.group, Kind: "digest", Priority: store.PriorityBulk}, tt.msg)
			e.eventually("the group send", func() bool { return e.item(oid).Status != store.OutQueued })
			it := e.item(oid)
			if tt.wantCode != 0 {
				if it.Status != store.OutFailed || it.LastCode != tt.wantCode {
					t.Errorf("status %s code %d, want failed with %d", it.Status, it.LastCode, tt.wantCode)
				}
				return
			}
			if it.Status != store.OutSent {
				t.Fatalf("status %s (%s)", it.Status, it.LastError)
			}
			out := e.sim.Outbound(tt.group)
			last := out[len(out)-1]
			if last.Kind != tt.want || last.MsgID != it.ZaloMsgID || len(last.Buttons) > 0 {
				t.Errorf("group got %s (buttons %v), want %s", last.Kind, last.Buttons, tt.want)
			}
			if got := e.sim.Stats().Failures[zalosim.PathGroupMessage]; got != failures {
				t.Errorf("%d refused group calls; groups must never be tried with buttons", got-failures)
			}
			if tt.msg.ImageFile != "" {
				var m OutMessage
				json.Unmarshal(it.Message, &m)
				data, _, ok := e.sim.Attachment(m.AttachmentID)
				if !ok || string(data) != string(png) {
					t.Errorf("uploaded attachment %q not served by Zalo with the file's bytes", m.AttachmentID)
				}
			}
		})
	}
}

// TestOutboxImageUploadToUser: an image from a local file reaches a user through the upload
// API; a retry reuses the attachment id instead of uploading again, and an expired id
// (-100) is uploaded anew.
func TestOutboxImageUploadToUser(t *testing.T) {
	e := startEnvT(t, nil)
	id := e.user("Bà Mai", "")
	file := writeTemp(t, "a.png", pngBytes(t))
	e.sim.FailNext(zalosim.PathMessageCS, -32, 1)  // retried: reuse the id
	e.sim.FailNext(zalosim.PathMessageCS, -100, 1) // expired: upload again
	oid := e.enqueue(store.OutboxItem{UserID: id, Kind: "reply"}, OutMessage{Message: zalo.Message{Text: "Ảnh"}, ImageFile: file})
	e.eventually("the image", func() bool {
		it := e.item(oid)
		if it.Status == store.OutQueued && !it.InFlight && it.NextAttempt.After(e.clock.Now()) {
			e.clock.Set(it.NextAttempt)
		}
		return it.Status != store.OutQueued
	})
	if it := e.item(oid); it.Status != store.OutSent {
		t.Fatalf("status %s: %s", it.Status, it.LastError)
	}
	if n := len(e.calls(zalosim.PathUploadImage, "")); n != 2 {
		t.Errorf("%d uploads, want 2 (first, and after -100; not after -32)", n)
	}
	if out := e.waitOut(id, 3); out[2].Kind != "image" {
		t.Errorf("sent %s, want image", out[2].Kind)
	}
}

// TestOutboxResendAfterCrash: an item marked in flight when the process died is sent
// again at start (counted as a possible duplicate); an item recorded as sent is never sent
// again.
func TestOutboxResendAfterCrash(t *testing.T) {
	e := startEnvT(t, nil)
	id := e.user("Ông Ba", "")
	e.stop()
	now := e.clock.Now()
	var inflight, sent uint64
	e.db.Update(func(tx *store.Tx) error {
		raw, _ := json.Marshal(OutMessage{Message: zalo.Message{Text: "đang gửi dở"}})
		inflight, _ = tx.Enqueue(store.OutboxItem{UserID: id, Kind: "reply", Message: raw, InFlight: true, Attempts: 1, CreatedAt: now})
		raw, _ = json.Marshal(OutMessage{Message: zalo.Message{Text: "đã gửi"}})
		sent, _ = tx.Enqueue(store.OutboxItem{UserID: id, Kind: "reply", Message: raw, Status: store.OutSent, ZaloMsgID: "x", CreatedAt: now})
		return nil
	})
	o := e.bot.o
	e.start(o)
	e.eventually("the resend", func() bool { return e.item(inflight).Status == store.OutSent })
	e.wantMetric(1, "clubbot_outbox_resent_after_crash_total")
	e.stop()
	if strings.Contains(texts(e.sim.Outbound(id)), "đã gửi") {
		t.Error("an item recorded as sent was sent again")
	}
	if it := e.item(inflight); it.Attempts != 2 || it.InFlight {
		t.Errorf("resent item: attempts %d, in flight %v; want 2, false", it.Attempts, it.InFlight)
	}
	_ = sent
}

// TestOutboxReceipts: a delivery and a read receipt name the message id the send
// returned; the outbox item records them.
func TestOutboxReceipts(t *testing.T) {
	e := startEnvT(t, nil)
	id := e.user("Bà Bảy", "")
	// A receipt names a message id the bot has recorded: wait for the records (Zalo
	// answers the send before the bot writes it down).
	e.eventually("the sends recorded", func() bool { q, _, _ := e.db.OutboxCounts(); return q == 0 })
	out := e.sim.Outbound(id)
	if _, err := e.sim.Received(id, out[0].MsgID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.Seen(id, out[0].MsgID, out[1].MsgID); err != nil {
		t.Fatal(err)
	}
	e.eventually("the receipts", func() bool {
		its := e.items(id)
		return !its[0].SeenAt.IsZero() && !its[1].SeenAt.IsZero() && !its[0].DeliveredAt.IsZero()
	})
}

// TestGroupMessageQueue: a message to a group is queued bulk, without buttons or quote.
func TestGroupMessageQueue(t *testing.T) {
	e := startEnvT(t, nil)
	e.stop()
	var ids []uint64
	e.db.Update(func(tx *store.Tx) error {
		var err error
		ids, err = EnqueueMessage(tx, store.OutboxItem{GroupID: obGroup, Kind: "digest", Priority: store.PriorityBulk,
			CreatedAt: e.clock.Now()}, OutMessage{Message: zalo.Message{Text: "Chọn\n1. Có",
			Buttons: []zalo.Button{{Title: "Có", Payload: "#y"}}, QuoteMsgID: "q"}}, nil)
		return err
	})
	it := e.item(ids[0])
	var m OutMessage
	if err := json.Unmarshal(it.Message, &m); err != nil {
		t.Fatal(err)
	}
	if it.GroupID != obGroup || it.Priority != store.PriorityBulk || len(m.Buttons) > 0 || m.QuoteMsgID != "" || m.Text != "Chọn\n1. Có" {
		t.Errorf("queued %+v with %+v", it, m)
	}
}
