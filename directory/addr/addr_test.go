package addr

import (
	"testing"

	"golang.org/x/text/unicode/norm"
)

func TestFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Đặng Thùy Trâm", "dang thuy tram"},
		{"ĐƯỜNG LÂM", "duong lam"},
		{"Ủy ban nhân dân tỉnh Khánh Hòa", "uy ban nhan dan tinh khanh hoa"},
		{norm.NFD.String("Khánh Hòa"), "khanh hoa"}, // combining marks
		{"Phường Bắc Nha Trang", "phuong bac nha trang"},
		{"Sở KH&CN", "so kh&cn"},
		{"Ðoàn Ngọc Hải", "doan ngoc hai"}, // Eth mistyped for Đ
		{"Nguyễn Thị Ánh Tuyết", "nguyen thi anh tuyet"},
		{"Hoàng Ưng Quỳnh", "hoang ung quynh"},
		{"abc 123", "abc 123"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Fold(tt.in); got != tt.want {
			t.Errorf("Fold(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSlug(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Phường Nha Trang", "phuongnhatrang"},
		{"Sở KH&CN", "sokhcn"},
		{"  Tu Bông ", "tubong"},
		{"Y-Moan", "ymoan"},
	}
	for _, tt := range tests {
		if got := Slug(tt.in); got != tt.want {
			t.Errorf("Slug(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPerson(t *testing.T) {
	tests := []struct{ name, agency, want string }{
		{"Nguyễn Ngọc Thành", "skhcn", "thanhnn.skhcn"}, // the example of QĐ 162/2025
		{"Trần Thị Mai", "snv", "maitt.snv"},
		{"Lê Văn Đức", "syt", "duclv.syt"},
		{"Đặng Thùy Trâm", "syt", "tramdt.syt"},
		{"Phạm Nhật Vượng", "stc", "vuongpn.stc"},
		{"Nguyễn Thị Ánh Tuyết", "sgddt", "tuyetnta.sgddt"},
		{"Hà Anh Tuấn", "sxd", "tuanha.sxd"},
		{"Lê Lợi", "vpubnd", "loil.vpubnd"},
		{"Ông Ích Khiêm", "nhatrang", "khiemoi.nhatrang"},
		{"Đỗ Đức Đạt", "dailanh", "datdd.dailanh"},
		{"Thành", "skhcn", "thanh.skhcn"},
		{"  nguyễn   ngọc  THÀNH ", "SKHCN", "thanhnn.skhcn"},
		{norm.NFD.String("Nguyễn Ngọc Thành"), "skhcn", "thanhnn.skhcn"},
		{"Nguyễn Ngọc Thành", "", "thanhnn"},
		{"", "skhcn", "canbo.skhcn"},
	}
	for _, tt := range tests {
		if got := Person(tt.name, tt.agency); got != tt.want {
			t.Errorf("Person(%q, %q) = %q, want %q", tt.name, tt.agency, got, tt.want)
		}
	}
}

func TestUnitAbbr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Phường Nha Trang", "nhatrang"},
		{"Phường Bắc Nha Trang", "bacnhatrang"},
		{"Xã Đại Lãnh", "dailanh"},
		{"Đặc khu Trường Sa", "truongsa"},
		{"Xã Bác Ái Đông", "bacaidong"},
		{"Đặc khu Phú Quốc", "phuquoc"},
		{"Xã", "xa"}, // a bare prefix is kept rather than giving ""
		{"Trường Sa", "truongsa"},
	}
	for _, tt := range tests {
		if got := UnitAbbr(tt.in); got != tt.want {
			t.Errorf("UnitAbbr(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestInitials(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Sở Khoa học và Công nghệ", "skhcn"},
		{"Sở Giáo dục và Đào tạo", "sgddt"},
		{"Sở Nội vụ", "snv"},
		{"Sở Tài chính", "stc"},
		{"Sở Y tế", "syt"},
		{"Sở Xây dựng", "sxd"},
		{"Văn phòng UBND", "vpubnd"},
	}
	for _, tt := range tests {
		if got := Initials(tt.in); got != tt.want {
			t.Errorf("Initials(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAllocatorDuplicates(t *testing.T) {
	a := NewAllocator("postmaster", "quantri")
	steps := []struct{ name, agency, want string }{
		{"Nguyễn Ngọc Thành", "skhcn", "thanhnn.skhcn"},
		{"Nguyễn Ngọc Thành", "skhcn", "thanhnn2.skhcn"},
		{"Nguyễn Như Thành", "skhcn", "thanhnn3.skhcn"}, // same initials, other name
		{"Nguyễn Ngọc Thành", "snv", "thanhnn.snv"},     // other agency: no clash
		{"Ngô Nhật Thành", "skhcn", "thanhnn4.skhcn"},
	}
	for _, s := range steps {
		if got := a.Person(s.name, s.agency); got != s.want {
			t.Errorf("Person(%q, %q) = %q, want %q", s.name, s.agency, got, s.want)
		}
	}
	if got := a.Unit("Quantri"); got != "quantri2" {
		t.Errorf("Unit(quantri) with quantri reserved = %q", got)
	}
	if got, got2 := a.Unit("vanlang"), a.Unit("vănlăng"); got != "vanlang" || got2 != "vanlang2" {
		t.Errorf("Unit collisions = %q, %q", got, got2)
	}
	if got := a.SubUnit("Văn phòng", "skhcn"); got != "vanphong.skhcn" {
		t.Errorf("SubUnit = %q", got)
	}
	if a.Reserve("THANHNN.skhcn") {
		t.Error("Reserve of an allocated local part (other case) reported free")
	}
	if !a.Taken("thanhnn2.skhcn") || a.Taken("thanhnn5.skhcn") {
		t.Error("Taken is wrong")
	}
}

func TestAllocateDeterministic(t *testing.T) {
	taken := map[string]bool{"maitt.snv": true, "maitt2.snv": true}
	for range 3 {
		if got := Allocate("maitt", "snv", func(l string) bool { return taken[l] }); got != "maitt3.snv" {
			t.Fatalf("Allocate = %q, want maitt3.snv", got)
		}
	}
	if got := Allocate("nhatrang", "", func(l string) bool { return l == "nhatrang" }); got != "nhatrang2" {
		t.Fatalf("Allocate unit = %q", got)
	}
}

func TestVariant(t *testing.T) {
	if Variant("thanhnn", 0) != "thanhnn" || Variant("thanhnn", 1) != "thanhnn" || Variant("thanhnn", 12) != "thanhnn12" {
		t.Fatal("Variant")
	}
}
