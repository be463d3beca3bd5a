package secretguard

import (
	"strings"
	"testing"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Real-looking text an official writes, with the verdict a reader would
// give: a classification stamp, or ordinary words that merely contain
// "mật".
func TestGuardTable(t *testing.T) {
	g := New(Config{Markings: []string{"Mật - chỉ lưu hành nội bộ ban chỉ đạo"}})
	tests := []struct {
		where string // "body", "subject" or "header"
		text  string
		level string // "" = must pass
	}{
		// Ordinary words and sentences: must pass.
		{"body", "Đề nghị các đồng chí giữ bí mật thông tin về danh sách dự kiến khen thưởng đến khi có quyết định.", ""},
		{"body", "Mật khẩu đăng nhập hệ thống thư điện tử phải có ít nhất 9 ký tự.", ""},
		{"body", "Mật độ dân số của phường Nha Trang năm 2024 là 1.850 người/km².", ""},
		{"body", "Buổi gặp mặt thân mật nhân dịp kỷ niệm ngày thành lập ngành sẽ tổ chức lúc 15 giờ.", ""},
		{"body", "Hợp tác xã nuôi ong xã Ninh Tây đạt sản lượng 12 tấn mật ong trong quý II.", ""},
		{"body", "Công tác bảo mật thông tin trên môi trường mạng cần được tăng cường.", ""},
		{"body", "BẢO MẬT THÔNG TIN", ""},
		{"body", "BÍ MẬT", ""},
		{"body", "Mật khẩu", ""},
		{"body", "MẬT KHẨU MỚI CỦA ĐỒNG CHÍ", ""},
		{"body", "Mật thư", ""},
		{"body", "Độ mật: Thường", ""},
		{"body", "Độ khẩn: Hỏa tốc", ""},
		{"body", "Thân mật,", ""},
		{"body", "Mật ong rừng Khánh Sơn", ""},
		{"body", "Ông Nguyễn Văn Mật, Chủ tịch UBND xã", ""},
		{"body", "Tôi đã mất mật khẩu, đề nghị cấp lại.", ""},
		{"body", "Mắt kính", ""},
		{"body", "MẤT", ""},
		{"body", "Trời tối mát", ""},
		{"body", "TỐI MẤT", ""},
		{"body", "Quy chế bảo vệ bí mật nhà nước của Sở Y tế (Quyết định số 45/QĐ-SYT)", ""},
		{"body", "Tài liệu này không chứa thông tin mật theo Luật Bảo vệ bí mật nhà nước năm 2018.", ""},
		{"body", "Hồ sơ mật độ xây dựng khu đô thị mới Cam Ranh", ""},
		{"subject", "Mật khẩu mới cho hộp thư công vụ", ""},
		{"subject", "Re: Giữ bí mật kết quả thi tuyển công chức", ""},
		{"subject", "Thư mời gặp mặt thân mật - Ngày Thầy thuốc Việt Nam", ""},
		{"subject", "Báo cáo mật độ giao thông tuyến Quốc lộ 1A", ""},
		{"subject", "[Khẩn] Kế hoạch phòng chống bão số 3", ""},
		{"subject", "Fwd: Sản phẩm mật ong OCOP tỉnh Khánh Hòa", ""},
		{"header", "Unclassified", ""},

		// Stamps: must be caught.
		{"body", "MẬT", "MẬT"},
		{"body", "TỐI MẬT", "TỐI MẬT"},
		{"body", "TUYỆT MẬT", "TUYỆT MẬT"},
		{"body", "  * TỐI MẬT *  ", "TỐI MẬT"},
		{"body", "[TUYỆT MẬT]", "TUYỆT MẬT"},
		{"body", "Tối mật", "TỐI MẬT"},
		{"body", "T Ố I   M Ậ T", "TỐI MẬT"},
		{"body", "TỐI\u00a0\u00a0MẬT", "TỐI MẬT"},
		{"body", norm.NFD.String("TUYỆT MẬT"), "TUYỆT MẬT"},
		{"body", "TOI MAT", "TỐI MẬT"},
		{"body", "Tuyet mat", "TUYỆT MẬT"},
		{"body", "Độ mật: Tối mật", "TỐI MẬT"},
		{"body", "ĐỘ MẬT: MẬT", "MẬT"},
		{"body", "Do mat: TUYET MAT", "TUYỆT MẬT"},
		{"body", "┌────────┐\n│  MẬT   │\n└────────┘", "MẬT"},
		{"body", "Kính gửi: Ban Chỉ đạo\nMẬT - CHỈ LƯU HÀNH NỘI BỘ BAN CHỈ ĐẠO\nNội dung", "Mật - chỉ lưu hành nội bộ ban chỉ đạo"},
		{"subject", "[MẬT] Kế hoạch bảo vệ Đại hội Đảng bộ tỉnh", "MẬT"},
		{"subject", "TỐI MẬT: Phương án tác chiến phòng thủ khu vực", "TỐI MẬT"},
		{"subject", "(Tuyệt mật) Danh sách nhân sự dự kiến", "TUYỆT MẬT"},
		{"subject", "Báo cáo tình hình an ninh quý III - MẬT", "MẬT"},
		{"subject", "Re: Fwd: TỐI MẬT", "TỐI MẬT"},
		{"header", "TỐI MẬT", "TỐI MẬT"},
		{"header", "policy=vn-state-secret; level=TUYỆT MẬT", "TUYỆT MẬT"},
	}
	pass, caught := 0, 0
	for _, tc := range tests {
		var m *Match
		switch tc.where {
		case "body":
			m = g.Text("body", tc.text)
		case "subject":
			m = g.Subject(tc.text)
		case "header":
			m = g.Header("X-Classification", tc.text)
		}
		got := ""
		if m != nil {
			got = m.Level
		}
		if got != tc.level {
			t.Errorf("%s %q: got %q, want %q", tc.where, tc.text, got, tc.level)
		}
		if tc.level == "" {
			pass++
		} else {
			caught++
			if m != nil && (m.Where == "" || m.Line == "") {
				t.Errorf("%q: match without where or line: %#v", tc.text, m)
			}
		}
	}
	if pass < 20 || caught < 20 {
		t.Fatalf("table has %d passing and %d stamped sentences; want at least 20 of each", pass, caught)
	}
}

func TestLongLineIgnored(t *testing.T) {
	g := New(Config{})
	if m := g.Text("body", strings.Repeat("x", 5000)+"\nMẬT"); m == nil {
		t.Fatal("stamp after a long line missed")
	}
	if _, ok := g.Line(strings.Repeat(" ", 200) + "MẬT"); ok {
		t.Fatal("over-long line examined")
	}
}

func FuzzLine(f *testing.F) {
	for _, s := range []string{"MẬT", "Độ mật: Tối mật", "T Ố I M Ậ T", "bí mật", "[MẬT] x", "\xff\xfe"} {
		f.Add(s)
	}
	g := New(Config{Markings: []string{"Mật nội bộ"}})
	u := unfiltered(g)
	f.Fuzz(func(t *testing.T, s string) {
		lv, ok := g.Line(s)
		if lv2, ok2 := u.Line(s); lv != lv2 || ok != ok2 {
			t.Fatalf("%q: letter shortcut changed the verdict: (%q, %v), without (%q, %v)", s, lv, ok, lv2, ok2)
		}
		g.Subject(s)
		g.Header("X", s)
		if m := g.Text("body", s); m != nil && m.Level == "" {
			t.Fatal("match without level")
		}
	})
}

// Line's first test rejects a line by the letters it has before
// composing; that is sound only while NFC never adds a letter or digit
// and merges at most three into one. Checked for every code point alone
// and for every canonical decomposition recomposed.
func TestComposingNeverAddsLetters(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		for _, s := range []string{string(r), norm.NFD.String(string(r))} {
			before, after := letters(s, 1<<20), letters(norm.NFC.String(s), 1<<20)
			if after > before || 3*after < before {
				t.Fatalf("%U: %q has %d letters, %d once composed", r, s, before, after)
			}
		}
	}
	// A stamp written decomposed, framed and spaced out is still found.
	g := New(Config{})
	line := norm.NFD.String("*** T U Y Ệ T   M Ậ T ***")
	if lv, ok := g.Line(line); !ok || lv != "TUYỆT MẬT" {
		t.Fatalf("decomposed stamp: %q, %v", lv, ok)
	}
}
