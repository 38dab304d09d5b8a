package club

import (
	"errors"
	"strings"
	"testing"
)

func TestParseClubs(t *testing.T) {
	p := MustLoadProvinces()
	good := "code,name,province,commune,village,chair_name,chair_phone,members,founded_on,board_phones\n" +
		"HN-1,CLB A,Hà Nội,Xã A,,An,0912345678,50,15/03/2024,0977 111 222; +84 977 333 444\n" +
		"TQ-1,CLB B,ha giang,Xã B,,Bình,0913000000,,,\n"
	clubs, err := ParseClubs(strings.NewReader(good), p)
	if err != nil {
		t.Fatal(err)
	}
	if clubs[0].FoundedOn != "2024-03-15" || strings.Join(clubs[0].BoardPhones, ",") != "0977111222,0977333444" {
		t.Errorf("club 0 = %+v", clubs[0])
	}
	if clubs[1].Province != "tuyen-quang" {
		t.Errorf("Hà Giang (pre-2025) → %q, want tuyen-quang", clubs[1].Province)
	}
	bad := "code,name,province,commune,chair_name,chair_phone,board_phones\n" +
		"A,CLB A,Atlantis,X,An,0912345678,\n" + // line 2: unknown province
		"A,CLB B,hue,X,Bình,12345,\n" + // line 3: duplicate code, bad phone
		"C,CLB C,hue,X,Chi,0913000000,0912345678;abc\n" // line 4: board phone is line 2's chair; bad phone
	_, err = ParseClubs(strings.NewReader(bad), p)
	var ie *ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v", err)
	}
	want := []RowError{{2, "province", ""}, {3, "code", ""}, {3, "chair_phone", ""}, {4, "board_phones", ""}, {4, "board_phones", ""}}
	if len(ie.Errors) != len(want) {
		t.Fatalf("errors = %+v", ie.Errors)
	}
	for i, w := range want {
		if g := ie.Errors[i]; g.Line != w.Line || g.Field != w.Field || g.Message == "" {
			t.Errorf("error %d = %+v, want line %d field %s", i, g, w.Line, w.Field)
		}
	}
}

func TestProvinceLookup(t *testing.T) {
	p := MustLoadProvinces()
	for in, want := range map[string]string{"Hà Nội": "ha-noi", "ha noi": "ha-noi", "TP Hồ Chí Minh": "ho-chi-minh",
		"Bình Dương": "ho-chi-minh", "nam dinh": "ninh-binh", "Thành phố Huế": "hue", "Thừa Thiên Huế": "hue", "dak-lak": "dak-lak"} {
		if got, ok := p.Lookup(in); !ok || got.Code != want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", in, got.Code, ok, want)
		}
	}
	if len(p.All()) != 34 {
		t.Errorf("%d provinces, want 34", len(p.All()))
	}
}
