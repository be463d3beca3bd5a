package ascii

import (
	"strings"
	"testing"
)

func TestIs(t *testing.T) {
	long := strings.Repeat("Cong van so 123/UBND-VP. ", 10)
	for _, c := range []struct {
		s    string
		want bool
	}{
		{"", true},
		{"abc", true},
		{long, true},
		{long + "é", false},
		{"é" + long, false},
		{long[:17] + "\x80" + long[17:], false},
		{"1234567\xff", false},
		{"12345678\xff", false},
		{"\x7f\x00\x01", true},
	} {
		if got := Is([]byte(c.s)); got != c.want {
			t.Errorf("Is(%q) = %v, want %v", c.s, got, c.want)
		}
		if got := IsString(c.s); got != c.want {
			t.Errorf("IsString(%q) = %v, want %v", c.s, got, c.want)
		}
	}
}
