package bot

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"clubbot/club"
	"clubbot/flows"
	"clubbot/store"
)

// correctionWindow is how long a chairperson may correct a report through Zalo (issue 5:
// within 30 days); later corrections go through an officer, so monthly figures settle.
const correctionWindow = 30 * 24 * time.Hour

// varCorrect is the session variable naming the report a conversation corrects.
const varCorrect = "correct_report"

// startCorrection answers "sửa báo cáo": the club's last report opens at its summary.
func (cv *Conversations) startCorrection(tx *store.Tx, u *club.User, c club.Club, out *outbuf, now time.Time) error {
	last, err := tx.ClubReports(u.ClubCode, 1)
	if err != nil {
		return err
	}
	if len(last) == 0 {
		out.text(cv.Messages.Render("correct_none", nil))
		return nil
	}
	r := last[0]
	date := displayDate(r.MeetingDate)
	if now.Sub(r.CreatedAt) > correctionWindow {
		out.text(cv.Messages.Render("correct_too_old", map[string]any{"ID": r.ID, "Date": date, "Days": 30}))
		return nil
	}
	f, rev, err := cv.Flows.Current(r.FlowID)
	if err != nil {
		return err
	}
	vars := map[string]string{"club": shortClubName(c.Name), "name": u.Name, varCorrect: strconv.FormatUint(r.ID, 10)}
	s, replies := flows.StartWith(f, rev, vars, r.Answers, now)
	out.text(cv.Messages.Render("correct_intro", map[string]any{"ID": r.ID, "Date": date}))
	out.replies(replies, cv.Buttons)
	return tx.PutSession(u.ID, s)
}

// reviseReport stores a confirmed correction as the next revision of the report.
func (cv *Conversations) reviseReport(tx *store.Tx, u *club.User, s flows.Session, now time.Time) (club.Report, error) {
	id, err := strconv.ParseUint(s.Vars[varCorrect], 10, 64)
	if err != nil {
		return club.Report{}, fmt.Errorf("correction of report %q: %w", s.Vars[varCorrect], err)
	}
	old, ok, err := tx.Report(id)
	if err != nil || !ok {
		return club.Report{}, fmt.Errorf("correction of report %d: not found (%v)", id, err)
	}
	r := reportFrom(old, s)
	r.CorrectedAt, r.CorrectedBy = now, u.ID
	return tx.ReviseReport(r)
}

// reportFrom fills a report's answer-derived fields from a finished session.
func reportFrom(r club.Report, s flows.Session) club.Report {
	r.FlowID, r.FlowRevision, r.Answers, r.Held = s.FlowID, s.Revision, s.Answers, true
	if a, ok := s.Answers["meeting_held"]; ok && a.Bool != nil {
		r.Held = *a.Bool
	}
	if a, ok := s.Answers["meeting_date"]; ok && a.Date != "" {
		r.MeetingDate = a.Date
	}
	return r
}

// reportLine is one report in a list: number, meeting date, attendance, areas.
func reportLine(r club.Report) string {
	var parts []string
	parts = append(parts, fmt.Sprintf("Số %d", r.ID))
	if !r.Held {
		parts = append(parts, "tháng "+monthLabel(r.MeetingDate)+": không họp")
		return strings.Join(parts, " · ")
	}
	parts = append(parts, "họp "+displayDate(r.MeetingDate))
	if a, ok := r.Answers["attendance_total"]; ok && a.Number != nil {
		parts = append(parts, fmt.Sprintf("%d người", *a.Number))
	}
	if a, ok := r.Answers["areas_active"]; ok {
		parts = append(parts, fmt.Sprintf("%d/8 mảng", len(a.Choices)))
	}
	if r.Revision > 1 {
		parts = append(parts, "đã sửa")
	}
	return strings.Join(parts, " · ")
}

// viewReports answers "xem báo cáo": the last three reports and the run of months with a meeting.
func (cv *Conversations) viewReports(tx *store.Tx, c club.Club, out *outbuf, now time.Time) error {
	all, err := tx.ClubReports(c.Code, 0)
	if err != nil {
		return err
	}
	if len(all) == 0 {
		out.text(cv.Messages.Render("reports_none", nil))
		return nil
	}
	var lines []string
	for i, r := range all {
		if i == 3 {
			break
		}
		lines = append(lines, reportLine(r))
	}
	streak, since := meetingStreak(all, now)
	out.text(cv.Messages.Render("reports_view", map[string]any{"Club": c.Name, "Lines": lines, "Streak": streak, "Since": since}))
	return nil
}

// meetingStreak counts consecutive calendar months, ending this month (or last month, when
// this month's meeting is still to come), with a held meeting; since is the first of them.
func meetingStreak(reports []club.Report, now time.Time) (int, string) {
	held := map[string]bool{}
	for _, r := range reports {
		if r.Held && len(r.MeetingDate) >= 7 {
			held[r.MeetingDate[:7]] = true
		}
	}
	m := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, now.Location())
	if !held[m.Format("2006-01")] {
		m = m.AddDate(0, -1, 0)
	}
	n, since := 0, ""
	for held[m.Format("2006-01")] {
		n++
		since = m.Format("01/2006")
		m = m.AddDate(0, -1, 0)
	}
	return n, since
}

// viewClub answers an officer's "clb <mã>": the club's last reports, in their province only.
func (cv *Conversations) viewClub(tx *store.Tx, u *club.User, code string, out *outbuf) error {
	code = strings.ToUpper(strings.TrimSpace(code))
	c, ok, err := tx.Club(code)
	if err != nil {
		return err
	}
	if !ok {
		out.text(cv.Messages.Render("club_unknown", map[string]string{"Code": code}))
		return nil
	}
	if u.Province != "" && c.Province != u.Province {
		out.text(cv.Messages.Render("club_other_province", map[string]string{"Code": code}))
		return nil
	}
	rs, err := tx.ClubReports(c.Code, 3)
	if err != nil {
		return err
	}
	var lines []string
	for _, r := range rs {
		lines = append(lines, reportLine(r))
	}
	linked := false
	if uid, ok, _ := tx.ClubChairUser(c.Code); ok && uid != "" {
		linked = true
	}
	out.text(cv.Messages.Render("club_view", map[string]any{"Club": c.Name, "Commune": c.Commune, "Chair": c.ChairName,
		"Linked": linked, "Lines": lines}))
	return nil
}

func displayDate(iso string) string {
	if t, err := time.Parse("2006-01-02", iso); err == nil {
		return t.Format("02/01/2006")
	}
	return iso
}

func monthLabel(iso string) string {
	if t, err := time.Parse("2006-01-02", iso); err == nil {
		return t.Format("01/2006")
	}
	return iso
}

// shortClubName drops a leading "CLB": templates write "CLB {{.club}}".
func shortClubName(name string) string {
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(name, "CLB "), "Câu lạc bộ "))
}
