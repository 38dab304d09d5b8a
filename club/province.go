package club

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"strings"

	"clubbot/flows"
)

//go:embed data/provinces.csv
var provincesCSV string

// Province is one of the 34 provincial units in force since 1 July 2025, with the former
// provinces it was formed from (club records and people still use those names).
type Province struct {
	Code   string   `json:"code"`
	Name   string   `json:"name"`
	Kind   string   `json:"kind"` // "tinh" or "thanh-pho"
	Former []string `json:"former"`
}

// Provinces is the list of provincial units with a lookup by code, name or former name.
type Provinces struct {
	list  []Province
	index map[string]int // folded code, name, short name and former names → position
}

// LoadProvinces parses the embedded provinces.csv (shared/domain/provinces.csv).
func LoadProvinces() (*Provinces, error) {
	rows, err := csv.NewReader(strings.NewReader(provincesCSV)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read provinces.csv: %w", err)
	}
	p := &Provinces{index: map[string]int{}}
	for i, r := range rows {
		if i == 0 {
			continue
		}
		if len(r) != 4 {
			return nil, fmt.Errorf("provinces.csv line %d: want 4 fields, got %d", i+1, len(r))
		}
		pr := Province{Code: r[0], Name: r[1], Kind: r[2], Former: strings.Split(r[3], "|")}
		p.list = append(p.list, pr)
		n := len(p.list) - 1
		keys := []string{pr.Code, strings.ReplaceAll(pr.Code, "-", " "), pr.Name,
			strings.TrimPrefix(pr.Name, "Thành phố "), "tinh " + pr.Name, "tp " + strings.TrimPrefix(pr.Name, "Thành phố ")}
		keys = append(keys, pr.Former...)
		for _, k := range keys {
			p.index[flows.Fold(k)] = n
		}
	}
	return p, nil
}

// MustLoadProvinces is LoadProvinces for an embedded file known to be valid.
func MustLoadProvinces() *Provinces {
	p, err := LoadProvinces()
	if err != nil {
		panic(err)
	}
	return p
}

// All returns the 34 units in file order.
func (p *Provinces) All() []Province { return append([]Province(nil), p.list...) }

// Lookup finds a unit by code, current name or pre-2025 name, ignoring case and
// diacritics ("Ha Giang" → tuyen-quang).
func (p *Provinces) Lookup(s string) (Province, bool) {
	k := flows.Fold(s)
	k = strings.TrimPrefix(k, "thanh pho ")
	if i, ok := p.index[k]; ok {
		return p.list[i], true
	}
	if i, ok := p.index[flows.Fold(s)]; ok {
		return p.list[i], true
	}
	return Province{}, false
}

// Name returns the display name of a province code, or the code itself if unknown.
func (p *Provinces) Name(code string) string {
	if pr, ok := p.Lookup(code); ok {
		return pr.Name
	}
	return code
}
