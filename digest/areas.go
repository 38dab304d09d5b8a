package digest

import "math/bits"

// Area is one of the 8 activity areas of a club.
type Area struct {
	Code  string // stored in reports (areas_active choices)
	Label string // short Vietnamese label, as the report flow shows it
}

// Areas are the 8 activity areas in VAE order (ISHC.md §2), with the codes and labels of
// the areas_active step of templates/flows/meeting_report.yaml (a test keeps them equal).
// Reports store the code, never the position.
var Areas = [8]Area{
	{"income", "Thu nhập"},
	{"health", "Sức khỏe"},
	{"home-care", "Chăm sóc tại nhà"},
	{"self-help", "Tự giúp nhau"},
	{"rights", "Quyền lợi"},
	{"learning", "Học tập – truyền thông"},
	{"culture", "Văn hóa – tinh thần"},
	{"resources", "Nguồn lực"},
}

// AreaSet is a set of activity areas, bit i for Areas[i].
type AreaSet uint8

// AllAreas is the set of the 8 areas.
const AllAreas AreaSet = 0xff

// AreaSetOf returns the set of the given codes; unknown codes ("none") are ignored.
func AreaSetOf(codes []string) AreaSet {
	var s AreaSet
	for _, c := range codes {
		for i, a := range Areas {
			if a.Code == c {
				s |= 1 << i
				break
			}
		}
	}
	return s
}

// Has reports whether the set holds area i.
func (s AreaSet) Has(i int) bool { return s&(1<<i) != 0 }

// Len returns the number of areas in the set.
func (s AreaSet) Len() int { return bits.OnesCount8(uint8(s)) }
