package bot

import (
	"cmp"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"clubbot/club"
	"clubbot/store"
)

// monthStatus is the current month's reporting picture for a province (all when empty).
type monthStatus struct {
	Clubs    []club.Club
	Reported map[string]bool
}

func monthOf(now time.Time) (first, next string) {
	y, m, _ := now.Date()
	f := time.Date(y, m, 1, 0, 0, 0, 0, now.Location())
	return f.Format("2006-01-02"), f.AddDate(0, 1, 0).Format("2006-01-02")
}

// status reads a province's clubs and which of them have a report whose meeting date lies
// in this month.
func status(tx *store.Tx, province string, now time.Time) (monthStatus, error) {
	st := monthStatus{Reported: map[string]bool{}}
	var err error
	if st.Clubs, err = tx.Clubs(province); err != nil {
		return st, err
	}
	first, next := monthOf(now)
	// A meeting of this month is reported on or after its date (the flow refuses future
	// dates), so only reports confirmed since the month began are read, not years of them;
	// a day's margin covers a clock set back.
	start, _ := time.ParseInLocation("2006-01-02", first, now.Location())
	err = tx.ReportsRawSince(start.AddDate(0, 0, -1), func(raw []byte) error {
		var r struct {
			ClubCode    string `json:"club"`
			Province    string `json:"province"`
			MeetingDate string `json:"meeting_date"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("decode report: %w", err)
		}
		if (province == "" || r.Province == province) && r.MeetingDate >= first && r.MeetingDate < next {
			st.Reported[r.ClubCode] = true
		}
		return nil
	})
	return st, err
}

func (cv *Conversations) provinceLabel(code string) string {
	if code == "" {
		return "Toàn quốc"
	}
	return cv.Provinces.Name(code)
}

// summary answers an officer's "tổng hợp" with the weekly digest of their province (an
// admin without a province: the national one) for the week so far (issue 6). It is built
// inside the worker's transaction from the store, so it includes the report confirmed a
// moment ago. The chart is not sent here (it needs an upload outside the transaction).
func (cv *Conversations) summary(tx *store.Tx, u *club.User, out *outbuf, now time.Time) error {
	scope, ok := officerScope(cv.Provinces, *u)
	if !ok {
		// A province nobody knows: its (empty) digest, never the national one.
		scope = cmp.Or(u.Province, "?")
	}
	r, err := digestNow(tx, cv.Provinces, cv.Loc, scope, now, cv.Buttons)
	if err != nil {
		return err
	}
	out.msgs = append(out.msgs, r.officer...)
	if r.footer != nil {
		out.msgs = append(out.msgs, *r.footer)
	}
	return nil
}

// maxListed bounds the clubs named in one message: a phone screen, not a spreadsheet.
const maxListed = 30

// missing answers "chưa báo cáo": the province's clubs with no report this month.
func (cv *Conversations) missing(tx *store.Tx, u *club.User, out *outbuf, now time.Time) error {
	st, err := status(tx, u.Province, now)
	if err != nil {
		return err
	}
	var names []string
	for _, c := range st.Clubs {
		if !st.Reported[c.Code] {
			names = append(names, c.Name+" ("+c.Commune+")")
		}
	}
	sort.Strings(names)
	missing := len(names)
	if len(names) > maxListed {
		names = append(names[:maxListed], "…")
	}
	out.text(cv.Messages.Render("not_reported", map[string]any{"Province": cv.provinceLabel(u.Province),
		"Month": now.Format("01/2006"), "Clubs": names, "Total": len(st.Clubs), "Missing": missing}))
	return nil
}

// pending answers "chờ duyệt": people whose phone matched no list, for the officer's
// province (an admin also sees those who named no province), so someone adds them.
func (cv *Conversations) pending(tx *store.Tx, u *club.User, out *outbuf) error {
	users, err := tx.Users()
	if err != nil {
		return err
	}
	var lines []string
	for _, p := range users {
		if !p.Pending() || (p.PendingProvince != u.Province && !(u.Province == "" && u.Role == club.RoleAdmin)) {
			continue
		}
		where := cv.Provinces.Name(p.PendingProvince)
		if p.PendingProvince == "" {
			where = "chưa rõ tỉnh"
		}
		lines = append(lines, fmt.Sprintf("%s · %s · %s · từ %s", orDash(p.Name), p.Phone, where, p.PendingSince.In(cv.Loc).Format("02/01")))
	}
	sort.Strings(lines)
	if len(lines) > maxListed {
		lines = append(lines[:maxListed], "…")
	}
	out.text(cv.Messages.Render("pending_list", map[string]any{"Province": cv.provinceLabel(u.Province), "Lines": lines}))
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
