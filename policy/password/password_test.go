package password

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"congvu/internal/mailerr"
)

func rulesOf(err error) []string {
	var v Violations
	if !errors.As(err, &v) {
		return nil
	}
	var out []string
	for _, x := range v {
		out = append(out, x.Rule)
	}
	return out
}

func TestCheck(t *testing.T) {
	thanh := Subject{Address: "thanhnn.skhcn@khanhhoa.gov.vn", FullName: "Nguyễn Ngọc Thành"}
	tram := Subject{Address: "tramdt.nhatrang@khanhhoa.gov.vn", FullName: "Đặng Thùy Trâm",
		BirthDate: time.Date(1985, 8, 15, 0, 0, 0, 0, time.UTC)}
	an := Subject{Address: "anv.skhcn@khanhhoa.gov.vn", FullName: "Nguyễn Văn An"}
	r := Default()
	for _, tc := range []struct {
		pw   string
		s    Subject
		want []string // violated rules, nil = accepted
	}{
		{"Khanh-Hoa#2025a", thanh, nil},
		{"Kh@nh9ab", Subject{}, []string{"length"}},
		{"Kh@nh9abc", Subject{}, nil},
		{"khanh-hoa#2025", Subject{}, []string{"upper"}},
		{"KHANH-HOA#2025", Subject{}, []string{"lower"}},
		{"Khanh-Hoa#abcd", Subject{}, []string{"digit"}},
		{"KhanhHoa2025ab", Subject{}, []string{"special"}},
		{"abc", Subject{}, []string{"length", "upper", "digit", "special"}},
		// Vietnamese letters count as letters of their case.
		{"Mật-khẩu-Đẹp9", Subject{}, nil},
		{"ĐẶNG-THÙY-9x", Subject{}, nil},
		{"đặng-thùy-9ÿ", Subject{}, []string{"upper"}},
		{"Mật khẩu Đẹp 9", Subject{}, nil}, // the space is a special character
		// Length counts characters, not bytes, in either Unicode form.
		{norm.NFD.String("Ệ-ẫ-ộ-9ab"), Subject{}, nil},
		{"Ệẫ-ộ9ab", Subject{}, []string{"length"}},
		// Account name: whole local part and personal part.
		{"Thanhnn#2025", thanh, []string{"account", "name"}},
		{"Xy#1thanhnn.skhcn", thanh, []string{"account", "name"}},
		// Names, compared without diacritics, case or separators.
		{"X#1NguyenNgocThanh", thanh, []string{"name"}},
		{norm.NFD.String("X#1Nguyễn-ngọc-thành"), thanh, []string{"name"}},
		{"Nguyen.Thanh#99", thanh, []string{"name"}},
		{"Matkhau#Thanh9", thanh, []string{"name"}},
		{"Nguyen#2025abc", thanh, nil}, // a surname alone is allowed
		{"Vanlang#2025x", an, nil},     // a middle name alone is allowed
		{"Bàn#An2025x", an, nil},       // a two-letter given name is not forbidden
		{"Bàn#Anv2025x", an, []string{"account"}},
		{"Tram#1985Xx", tram, []string{"name"}},
		{"Dtt@15081985", tram, []string{"birthdate"}},
		{"Dtt@1985-08-15", tram, []string{"birthdate"}},
		{"Dtt@15/08/85", tram, []string{"birthdate"}},
		{"Dtt@150885x", tram, []string{"birthdate"}},
		{"Dtt@1985aaX", tram, nil}, // the year alone is allowed
		// Control characters and line breaks.
		{"Ab1#\x00defgh", Subject{}, []string{"control"}},
		{"Ab1#\ndefgh", Subject{}, []string{"control"}},
		{"Ab1#\u200bdefgh", Subject{}, []string{"control"}},
		{strings.Repeat("Aa1#", 65), Subject{}, []string{"too-long"}},
	} {
		err := r.Check(tc.pw, tc.s)
		got := rulesOf(err)
		if !slices.Equal(got, tc.want) {
			t.Errorf("Check(%q, %s) = %v (%v), want %v", tc.pw, tc.s.FullName, got, err, tc.want)
			continue
		}
		if err == nil {
			continue
		}
		e := mailerr.As(err)
		if e == nil || !errors.Is(err, ErrWeak) {
			t.Errorf("Check(%q): %T %v is not ErrWeak", tc.pw, err, err)
			continue
		}
		if strings.Contains(e.MessageVI, tc.pw) || strings.Contains(e.Error(), tc.pw) {
			t.Errorf("error for %q shows the password: %v", tc.pw, e)
		}
		if !strings.HasPrefix(e.MessageVI, "Mật khẩu chưa đạt yêu cầu: ") || !strings.HasPrefix(e.Message, "The password does not meet") {
			t.Errorf("messages %q / %q", e.MessageVI, e.Message)
		}
	}
}

func TestCheckListsEverything(t *testing.T) {
	err := Default().Check("thanh", Subject{FullName: "Nguyễn Ngọc Thành"})
	e := mailerr.As(err)
	if e == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"cần ít nhất 9 ký tự (mới có 5)", "thiếu chữ hoa", "thiếu chữ số", "thiếu ký tự đặc biệt", "không được chứa họ tên"} {
		if !strings.Contains(e.MessageVI, want) {
			t.Errorf("MessageVI %q lacks %q", e.MessageVI, want)
		}
	}
	for _, want := range []string{"at least 9 characters", "no upper-case letter", "no digit", "no special character", "full or given name"} {
		if !strings.Contains(e.Message, want) {
			t.Errorf("Message %q lacks %q", e.Message, want)
		}
	}
}

func TestConfigurable(t *testing.T) {
	r := Rules{MinLength: 12, RequireDigit: true}
	if err := r.Check("abcdefghij1", Subject{}); !slices.Equal(rulesOf(err), []string{"length"}) {
		t.Errorf("12 required: %v", err)
	}
	if err := r.Check("abcdefghijk1", Subject{}); err != nil {
		t.Errorf("classes not required: %v", err)
	}
	vi, en := r.Describe()
	if !strings.Contains(vi, "Ít nhất 12 ký tự, gồm chữ số") || !strings.Contains(en, "At least 12 characters with a digit") {
		t.Errorf("Describe: %q / %q", vi, en)
	}
}

func TestExpired(t *testing.T) {
	r := Default()
	now := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		changed time.Time
		want    bool
	}{
		{now.AddDate(0, 0, -179), false},
		{now.AddDate(0, 0, -181), true},
		{time.Time{}, false},
	} {
		if got := r.Expired(tc.changed, now); got != tc.want {
			t.Errorf("Expired(%v) = %v", tc.changed, got)
		}
	}
	r.MaxAgeDays = 0
	if r.Expired(now.AddDate(-5, 0, 0), now) {
		t.Error("max_age_days = 0 must disable expiry")
	}
}
