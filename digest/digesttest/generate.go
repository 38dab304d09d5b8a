// Package digesttest generates a country of clubs and meeting reports, deterministically,
// for the digest's tests and benchmarks (ARCHITECTURE.md budget: 20,000 clubs × 24 months).
package digesttest

import (
	"fmt"
	"math/rand/v2"
	"time"

	"clubbot/club"
	"clubbot/flows"
)

// Options say what to generate.
type Options struct {
	Clubs  int       // clubs, spread evenly over the 34 provinces
	Months int       // months of reports, the last one being End's month up to End
	End    time.Time // no report is confirmed after End
	Loc    *time.Location
	Seed   uint64
}

// areaCodes are the 8 activity areas of the report flow (digest.Areas; not imported, so
// that the digest package's own tests can use this one).
var areaCodes = []string{"income", "health", "home-care", "self-help", "rights", "learning", "culture", "resources"}

// Generate calls onClub for every club and onReport for every report, in order. Most clubs
// report every month a few days after the meeting; one in ten skips months; one in twenty
// stopped meeting at some point; three in a hundred never reported. One club in ten is
// filed under a pre-2025 province name, one in forty was founded this year, one report in
// fifty is corrected by a second one. Reports carry the answers of the real flow
// (templates/flows/meeting_report.yaml), so their stored size is realistic.
func Generate(o Options, onClub func(club.Club), onReport func(club.Report)) {
	rng := rand.New(rand.NewPCG(o.Seed, 2025))
	provinces := club.MustLoadProvinces().All()
	y, m, _ := o.End.In(o.Loc).Date()
	first := time.Date(y, m-time.Month(o.Months-1), 1, 0, 0, 0, 0, o.Loc)
	var id uint64
	num := func(n int64) *int64 { return &n }
	type plan struct {
		club    club.Club
		founded time.Time
		kind    int
		stopAt  int
	}
	plans := make([]plan, 0, o.Clubs)
	for i := range o.Clubs {
		p := provinces[i%len(provinces)]
		prov := p.Code
		if rng.IntN(10) == 0 {
			prov = p.Former[rng.IntN(len(p.Former))]
		}
		founded := first.AddDate(0, -rng.IntN(96)-1, rng.IntN(28))
		if rng.IntN(40) == 0 {
			founded = o.End.AddDate(0, -rng.IntN(10), 0)
		}
		c := club.Club{Code: fmt.Sprintf("C%05d", i), Name: fmt.Sprintf("CLB Liên thế hệ số %d", i+1), Province: prov,
			Commune: fmt.Sprintf("Xã %d", i/7%120+1), ChairName: "Chủ nhiệm", ChairPhone: fmt.Sprintf("09%08d", i),
			Members: 40 + rng.IntN(40), FoundedOn: founded.Format("2006-01-02")}
		onClub(c)
		pl := plan{club: c, founded: founded, kind: rng.IntN(100), stopAt: o.Months}
		if pl.kind >= 3 && pl.kind < 8 {
			pl.stopAt = rng.IntN(o.Months) // stopped meeting
		}
		plans = append(plans, pl)
	}
	// Month by month, so that report ids grow with time as in a real store (the digest's
	// scan relies on it); within a month, club by club.
	for mo := range o.Months {
		for i, pl := range plans {
			c := pl.club
			if pl.kind < 3 || mo >= pl.stopAt || (pl.kind < 18 && rng.IntN(3) == 0) {
				continue // never reported, stopped, or skipped this month
			}
			meeting := first.AddDate(0, mo, rng.IntN(28))
			created := meeting.Add(time.Duration(8*60+rng.IntN(10*24*60)) * time.Minute)
			if meeting.Before(pl.founded) || created.After(o.End) {
				continue
			}
			held := rng.IntN(20) != 0
			r := club.Report{ClubCode: c.Code, Province: c.Province, Commune: c.Commune, FlowID: "meeting_report",
				FlowRevision: 1, MeetingDate: meeting.Format("2006-01-02"), Held: held, ReporterID: fmt.Sprintf("u%05d", i),
				CreatedAt: created, Answers: map[string]flows.Answer{"meeting_held": {Type: "yesno", Bool: &held, Display: "Có"}}}
			if held {
				total := int64(30 + rng.IntN(40))
				var areas []string
				for a, code := range areaCodes {
					if rng.IntN(10) < 6+a%3 {
						areas = append(areas, code)
					}
				}
				r.Answers["meeting_date"] = flows.Answer{Type: "date", Date: r.MeetingDate, Display: meeting.Format("02/01/2006")}
				r.Answers["attendance_total"] = flows.Answer{Type: "number", Number: num(total), Display: fmt.Sprintf("%d người", total)}
				r.Answers["attendance_women"] = flows.Answer{Type: "number", Number: num(total * int64(50+rng.IntN(20)) / 100), Display: "người"}
				if rng.IntN(4) != 0 {
					r.Answers["attendance_older"] = flows.Answer{Type: "number", Number: num(total * int64(55+rng.IntN(20)) / 100), Display: "người"}
				} else {
					r.Answers["attendance_older"] = flows.Answer{Type: "number", Skipped: true, Display: "(bỏ qua)"}
				}
				r.Answers["areas_active"] = flows.Answer{Type: "multi", Choices: areas, Display: fmt.Sprint(len(areas), " mảng")}
				r.Answers["members_joined"] = flows.Answer{Type: "number", Number: num(int64(rng.IntN(3))), Display: "người"}
			} else {
				r.Answers["no_meeting_reason"] = flows.Answer{Type: "text", Text: "Trùng ngày mùa", Display: "Trùng ngày mùa"}
			}
			r.Answers["notes"] = flows.Answer{Type: "text", Skipped: true, Display: "(không có)"}
			id++
			r.ID = id
			onReport(r)
			if rng.IntN(50) == 0 {
				id++
				r.ID, r.CreatedAt = id, r.CreatedAt.Add(time.Hour)
				onReport(r)
			}
		}
	}
}
