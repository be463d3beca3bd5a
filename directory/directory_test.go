package directory

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

func TestNormalizeAddress(t *testing.T) {
	tests := []struct{ in, want string }{
		{" ThanhNN.SKHCN@KhanhHoa.Gov.VN\t", "thanhnn.skhcn@khanhhoa.gov.vn"},
		{"quantri@khanhhoa.gov.vn", "quantri@khanhhoa.gov.vn"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := NormalizeAddress(tt.in); got != tt.want {
			t.Errorf("NormalizeAddress(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCheckAddress(t *testing.T) {
	good := []string{"thanhnn.skhcn@khanhhoa.gov.vn", "thanhnn2.skhcn@khanhhoa.gov.vn", "a@b.vn", "van-thu+so@x-y.gov.vn"}
	bad := []string{"", "thanhnn", "@khanhhoa.gov.vn", "thanhnn@", "a@b@c.vn", "a..b@c.vn", ".a@c.vn", "a.@c.vn",
		"a b@c.vn", "thành@c.vn", "a@localhost", "a@-x.vn", "a@x..vn", strings.Repeat("a", 65) + "@c.vn", "<a@c.vn>"}
	for _, s := range good {
		if err := CheckAddress(s); err != nil {
			t.Errorf("CheckAddress(%q): %v", s, err)
		}
	}
	for _, s := range bad {
		if CheckAddress(s) == nil {
			t.Errorf("CheckAddress(%q) accepted", s)
		}
	}
	if Domain("a@Khanhhoa.gov.vn") != "Khanhhoa.gov.vn" || Domain("nodomain") != "" {
		t.Error("Domain")
	}
}

func TestCheckPassword(t *testing.T) {
	thanh := &Account{Address: "thanhnn.skhcn@khanhhoa.gov.vn", DisplayName: "Nguyễn Ngọc Thành"}
	tests := []struct {
		pw string
		a  *Account
		ok bool
	}{
		{"Khanh-Hoa#2025a", thanh, true},
		{"Kh@nh9ab", nil, false},       // 8 characters
		{"Kh@nh9abc", nil, true},       // 9
		{"khanh-hoa#2025", nil, false}, // no upper case
		{"KHANH-HOA#2025", nil, false}, // no lower case
		{"Khanh-Hoa#abcd", nil, false}, // no digit
		{"KhanhHoa2025ab", nil, false}, // no special
		{"Mật-khẩu-Đẹp9", nil, true},   // Vietnamese letters count
		{"Thanhnn#2025", thanh, false}, // contains the account name
		{"X#1NguyenNgocThanh", thanh, false},
		{norm.NFD.String("X#1Nguyễnngọcthành"), thanh, false}, // with diacritics, any case
		{"Ab1#\x00defgh", nil, false},                         // control character
	}
	for _, tt := range tests {
		err := CheckPassword(tt.pw, tt.a)
		if (err == nil) != tt.ok {
			t.Errorf("CheckPassword(%q) = %v, want ok=%v", tt.pw, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrWeakPassword) {
			t.Errorf("CheckPassword(%q) = %v, not ErrWeakPassword", tt.pw, err)
		}
	}
}

func TestValid(t *testing.T) {
	if !ValidRole(RoleClerk) || ValidRole("boss") || !ValidState(StateRetired) || ValidState("") ||
		!ValidUnitKind(UnitCommune) || ValidUnitKind("huyen") {
		t.Error("Valid* wrong")
	}
}
