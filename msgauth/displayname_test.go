package msgauth

import (
	"slices"
	"testing"
)

func TestNameSpoofs(t *testing.T) {
	const own = "hieuhd.ubnd@khanhhoa.gov.vn"
	for name, want := range map[string][]string{
		"Hoàng Đức Hiếu":                            nil,
		"hieuhd.ubnd@khanhhoa.gov.vn":               nil,
		"HIEUHD.UBND@KHANHHOA.GOV.VN":               nil,
		"quantri@khanhhoa.gov.vn":                   {"quantri@khanhhoa.gov.vn"},
		"Ban quản trị (quantri@khanhhoa.gov.vn)":    {"quantri@khanhhoa.gov.vn"},
		"quantri＠khanhhoa.gov.vn":                   {"quantri@khanhhoa.gov.vn"},
		"Chủ tịch chutich@khanhhoa.gov.vn via Hiếu": {"chutich@khanhhoa.gov.vn"},
		"Phòng Tổ chức - Cán bộ, Sở Nội vụ":         nil,
		"email: a@b":                  nil,
		"x@evil.example. <- this one": {"x@evil.example"},
		"hieuhd.ubnd@khanhhoa.gov.vn, giamdoc@khanhhoa.gov.vn": {"giamdoc@khanhhoa.gov.vn"},
	} {
		if got := NameSpoofs(name, own); !slices.Equal(got, want) {
			t.Errorf("NameSpoofs(%q) = %q, want %q", name, got, want)
		}
	}
}

func FuzzNameAddresses(f *testing.F) {
	f.Add("Ban quản trị (quantri@khanhhoa.gov.vn)")
	f.Add("quantri＠khanhhoa.gov.vn")
	f.Fuzz(func(t *testing.T, s string) {
		for _, a := range NameAddresses(s) {
			if len(a) > len(s)*4+4 {
				t.Fatalf("address %q longer than its source", a)
			}
		}
	})
}
