package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"clubbot/bot/zalo"
	"clubbot/club"
	"clubbot/flows"
	"clubbot/store"
)

// Reminders sends, once a month on a configured day, a reminder to the chairpersons of
// clubs without a report this month. Only chairs inside the 7-day interaction window are
// messaged (API.md §5.2: a monthly reminder usually finds the window closed); the others
// are named in their province's digest. A chair whose conversation with the bot moved in the
// last hour is not reminded: the reminder would land in the middle of it (most likely the
// very report it asks for).
type Reminders struct {
	DB       *store.DB
	Messages *Messages
	Loc      *time.Location
	Day      int           // day of the month; 0 turns reminders off
	At       time.Duration // time of day after midnight in Loc
	Now      func() time.Time
	Log      zerolog.Logger
	Metrics  *Metrics
	Wake     func() // wakes the sender
}

// due returns the month key whose reminders should run at now ("" if none): on or after
// the configured day and time of the current month.
func (r *Reminders) due(now time.Time) string {
	if r.Day <= 0 {
		return ""
	}
	now = now.In(r.Loc)
	y, m, _ := now.Date()
	day := min(r.Day, time.Date(y, m+1, 0, 0, 0, 0, 0, r.Loc).Day()) // "31" means the month's last day
	at := time.Date(y, m, day, 0, 0, 0, 0, r.Loc).Add(r.At)
	if now.Before(at) {
		return ""
	}
	return "reminders/" + now.Format("2006-01")
}

// RunOnce sends this month's reminders if they are due and not yet sent, in one
// transaction with the record that they were sent; it returns how many were queued.
func (r *Reminders) RunOnce(now time.Time) (int, error) {
	key := r.due(now)
	if key == "" {
		return 0, nil
	}
	now = now.In(r.Loc)
	queued := 0
	err := r.DB.Update(func(tx *store.Tx) error {
		queued = 0
		if tx.JobDone(key) {
			return nil
		}
		st, err := status(tx, "", now)
		if err != nil {
			return err
		}
		users, err := tx.Users()
		if err != nil {
			return err
		}
		chairs := map[string]club.User{}
		for _, u := range users {
			if u.Active && u.Role == club.RoleChair {
				chairs[u.ClubCode] = u
			}
		}
		for _, c := range st.Clubs {
			u, ok := chairs[c.Code]
			if st.Reported[c.Code] || !ok || now.Sub(u.LastInbound) > Window {
				continue
			}
			if busy, err := inConversation(tx, u.ID, now); err != nil {
				return err
			} else if busy {
				continue
			}
			text := r.Messages.Render("reminder", map[string]string{"Name": u.Name, "Club": c.Name, "Month": now.Format("01/2006")})
			raw, _ := json.Marshal(zalo.Message{Text: text})
			if _, err := tx.Enqueue(store.OutboxItem{UserID: u.ID, Message: raw, Kind: "reminder",
				Priority: store.PriorityBulk, Proactive: true, CreatedAt: now, Ref: key}); err != nil {
				return err
			}
			queued++
		}
		return tx.MarkJob(key, now)
	})
	if err != nil {
		return 0, fmt.Errorf("reminders %s: %w", key, err)
	}
	if queued > 0 {
		r.Metrics.OutQueued.WithLabelValues("reminder").Add(float64(queued))
		r.Log.Info().Str("job", key).Int("queued", queued).Msg("monthly reminders queued")
		if r.Wake != nil {
			r.Wake()
		}
	}
	return queued, nil
}

// reminderQuiet is how recently a conversation must have moved for a chair to count as
// talking with the bot: a reminder would land in the middle of it.
const reminderQuiet = time.Hour

// inConversation reports whether user id is in a conversation that moved in the last
// reminderQuiet (most likely the very report the reminder asks for).
func inConversation(tx *store.Tx, id string, now time.Time) (bool, error) {
	s, ok, err := tx.Session(id)
	if err != nil || !ok {
		return false, err
	}
	return s.Status == flows.StatusActive && now.Sub(s.UpdatedAt) < reminderQuiet, nil
}

// Run checks every minute; a month missed while the server was down runs when it starts.
func (r *Reminders) Run(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if _, err := r.RunOnce(r.Now()); err != nil {
			r.Log.Error().Err(err).Msg("reminders")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
