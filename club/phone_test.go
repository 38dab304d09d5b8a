package club

import "testing"

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"0912345678", "0912345678", true},
		{"+84 912 345 678", "0912345678", true},
		{"84912345678", "0912345678", true},
		{"0912.345.678", "0912345678", true},
		{" 0912-345-678 ", "0912345678", true},
		{"(+84) 912345678", "0912345678", true},
		{"0912+345678", "", false},
		{"02438123456", "02438123456", true},
		{"912345678", "", false},
		{"09123", "", false},
		{"0912345678x", "", false},
		{"", "", false},
		{"abc", "", false},
	}
	for _, tt := range tests {
		got, ok := NormalizePhone(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestMaskPhone(t *testing.T) {
	if got := MaskPhone("0912345678"); got != "0912***678" {
		t.Errorf("MaskPhone = %q", got)
	}
}
