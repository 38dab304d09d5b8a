// Package club holds clubbot's domain: provinces, clubs, officers, the Zalo users linked to
// them and meeting reports. It imports no I/O package; the store persists these types.
package club

import (
	"slices"
	"time"

	"clubbot/flows"
)

// Roles a linked Zalo user can have.
const (
	RoleChair   = "chair"
	RoleBoard   = "board" // another member of the club's board, allowed to report for it
	RoleOfficer = "officer"
	RoleAdmin   = "admin"
)

// Club is one Intergenerational Self-Help Club, keyed by its code.
type Club struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	Province   string `json:"province"` // code of one of the 34 units
	Commune    string `json:"commune"`
	Village    string `json:"village,omitempty"`
	ChairName  string `json:"chair_name"`
	ChairPhone string `json:"chair_phone"` // normalised, see NormalizePhone
	// BoardPhones are the other board members allowed to report for the club (normalised).
	BoardPhones []string  `json:"board_phones,omitempty"`
	Members     int       `json:"members,omitempty"`
	FoundedOn   string    `json:"founded_on,omitempty"` // YYYY-MM-DD
	UpdatedAt   time.Time `json:"updated_at"`
}

// Phones returns the chairperson's phone and the board members' phones.
func (c Club) Phones() []string {
	return append([]string{c.ChairPhone}, c.BoardPhones...)
}

// Equal reports whether two club records say the same thing (UpdatedAt aside).
func (c Club) Equal(o Club) bool {
	return c.Code == o.Code && c.Name == o.Name && c.Province == o.Province && c.Commune == o.Commune &&
		c.Village == o.Village && c.ChairName == o.ChairName && c.ChairPhone == o.ChairPhone &&
		c.Members == o.Members && c.FoundedOn == o.FoundedOn && slices.Equal(c.BoardPhones, o.BoardPhones)
}

// CanReport reports whether a linked user may give the club's reports.
func (u User) CanReport() bool { return u.Linked() && (u.Role == RoleChair || u.Role == RoleBoard) }

// Officer is a province officer or an admin of the Association, keyed by phone.
type Officer struct {
	Name     string `json:"name"`
	Phone    string `json:"phone"`
	Province string `json:"province,omitempty"` // empty for a national admin
	Role     string `json:"role"`               // RoleOfficer or RoleAdmin
}

// User is a Zalo user who has written to or followed the OA, keyed by the OA-scoped id
// (API.md §1: replies go to that id, never to user_id_by_app).
type User struct {
	ID          string    `json:"id"`
	IDByApp     string    `json:"id_by_app,omitempty"`
	Name        string    `json:"name,omitempty"`
	Phone       string    `json:"phone,omitempty"`
	Role        string    `json:"role,omitempty"` // empty until linked
	ClubCode    string    `json:"club,omitempty"`
	Province    string    `json:"province,omitempty"`
	Following   bool      `json:"following"`
	Active      bool      `json:"active"` // the link is active; unfollow clears it, history stays
	LinkedAt    time.Time `json:"linked_at,omitzero"`
	LastInbound time.Time `json:"last_inbound,omitzero"` // the interaction window starts here
	FirstSeen   time.Time `json:"first_seen,omitzero"`
	FailedLinks int       `json:"failed_links,omitempty"`
	// A person whose phone matched no club or officer is pending: listed for the officers of
	// the province they name (PendingProvince), or for the admins until they name one.
	AwaitProvince   bool      `json:"await_province,omitempty"`
	PendingProvince string    `json:"pending_province,omitempty"`
	PendingSince    time.Time `json:"pending_since,omitzero"`
}

// Pending reports whether the person asked to be linked and no list had their phone.
func (u User) Pending() bool { return !u.Linked() && u.Phone != "" && u.FailedLinks > 0 }

// Linked reports whether the user is an active chair, officer or admin.
func (u User) Linked() bool { return u.Active && u.Role != "" }

// Report is one confirmed meeting report. Answers are keyed by the flow's stable step names,
// so exports keep their columns across template revisions.
type Report struct {
	ID           uint64                  `json:"id"`
	ClubCode     string                  `json:"club"`
	Province     string                  `json:"province"`
	Commune      string                  `json:"commune,omitempty"`
	FlowID       string                  `json:"flow_id"`
	FlowRevision int                     `json:"flow_revision"`
	MeetingDate  string                  `json:"meeting_date,omitempty"` // YYYY-MM-DD; empty when no meeting was held
	Held         bool                    `json:"held"`
	Answers      map[string]flows.Answer `json:"answers"`
	ReporterID   string                  `json:"reporter_id"`
	CreatedAt    time.Time               `json:"created_at"`
	// Revision counts corrections ("sửa báo cáo"): 1 for the report as first given. Earlier
	// revisions are kept by the store.
	Revision    int       `json:"revision,omitempty"`
	CorrectedAt time.Time `json:"corrected_at,omitzero"`
	CorrectedBy string    `json:"corrected_by,omitempty"`
}
