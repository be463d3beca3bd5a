package secretguard

import (
	"math"
	"strings"
	"testing"
)

// unfiltered is g without the letter-count shortcut: every line is
// normalised and compared, as before the shortcut existed.
func unfiltered(g *Guard) *Guard {
	u := *g
	u.maxLetters = math.MaxInt
	return &u
}

// The shortcut must never change a verdict: stamps framed by any amount
// of decoration, the "Độ mật" field with long punctuation, the configured
// marking, near misses one letter too long, and ordinary text.
func TestLetterShortcutKeepsVerdicts(t *testing.T) {
	g := New(Config{Markings: []string{"Mật - chỉ lưu hành nội bộ ban chỉ đạo"}})
	u := unfiltered(g)
	var lines []string
	for _, stamp := range []string{"MẬT", "Tối mật", "T U Y Ệ T  M Ậ T", "TOI MAT", "tuyet mat",
		"Mật - chỉ lưu hành nội bộ ban chỉ đạo", "MẬT - CHỈ LƯU HÀNH NỘI BỘ BAN CHỈ ĐẠO", "Tối mậtt", "TOI MATX"} {
		for _, frame := range []string{"%s", "* %s *", "[%s]", "«%s»", "━━ %s ━━", "Độ mật: %s", "ĐỘ MẬT ::::::::::::::::::: %s",
			"Do mat - %s", "Độ mật:%s.", "1. %s", "%s 2025"} {
			lines = append(lines, strings.Replace(frame, "%s", stamp, 1))
		}
	}
	lines = append(lines, "Cong van so 123/UBND-VP ve viec trien khai he thong thu dien tu cong vu.",
		"Đề nghị các đồng chí giữ bí mật thông tin.", "Độ mật: Thường", "", "   ", "\u0345MẬT", "ᄀ\u1161 MẬT")
	for _, l := range lines {
		lv1, ok1 := g.Line(l)
		lv2, ok2 := u.Line(l)
		if lv1 != lv2 || ok1 != ok2 {
			t.Errorf("%q: with shortcut (%q, %v), without (%q, %v)", l, lv1, ok1, lv2, ok2)
		}
	}
	// The shortcut does skip ordinary lines (what it is for).
	if n := letters("Cong van so 123/UBND-VP ve viec trien khai he thong thu dien tu cong vu.", g.maxLetters); n <= g.maxLetters {
		t.Errorf("an ordinary line has %d letters, within the %d a stamp may have", n, g.maxLetters)
	}
}

func BenchmarkTextOrdinary(b *testing.B) {
	g := New(Config{})
	text := strings.Repeat("Cong van so 123/UBND-VP ve viec trien khai he thong thu dien tu cong vu.\r\n", 140)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if g.Text("body", text) != nil {
			b.Fatal("ordinary text matched")
		}
	}
}

// Text splits at every line break it knows, ASCII or Unicode.
func TestTextLineBreaks(t *testing.T) {
	g := New(Config{})
	for _, sep := range []string{"\n", "\r\n", "\r", "\f", "\v", "\u2028", "\u2029"} {
		text := "Kính gửi các đơn vị," + sep + "TỐI MẬT" + sep + "Nội dung ở dưới."
		if m := g.Text("body", text); m == nil || m.Level != "TỐI MẬT" {
			t.Errorf("separator %q: got %#v, want TỐI MẬT", sep, m)
		}
	}
	// U+2027 and other E2 80 xx characters do not break lines.
	if m := g.Text("body", "Kế hoạch\u2027TỐI MẬT"); m != nil {
		t.Errorf("U+2027 taken as a line break: %#v", m)
	}
}
