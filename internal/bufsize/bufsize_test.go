package bufsize

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestSizes(t *testing.T) {
	msg := strings.Repeat("x", 1000)
	for _, c := range []struct {
		name string
		r    io.Reader
		want int
	}{
		{"bytes.Reader", bytes.NewReader([]byte(msg)), 1001},
		{"strings.Reader", strings.NewReader(msg), 1001},
		{"SectionReader", io.NewSectionReader(strings.NewReader(msg), 0, 1000), 1001},
		{"larger than max", strings.NewReader(msg + msg), 1024},
		{"unknown length", io.LimitReader(strings.NewReader(msg), 1000), 1024},
	} {
		if got := Reader(c.r, 1024).Size(); got != c.want {
			t.Errorf("%s: buffer %d, want %d", c.name, got, c.want)
		}
	}
	// Whatever the buffer, the reader reads everything, line by line.
	br := Bytes([]byte("a\r\nbb\r\n\r\nbody"))
	var lines []string
	for {
		line, err := br.ReadString('\n')
		lines = append(lines, line)
		if err != nil {
			break
		}
	}
	if got := strings.Join(lines, "|"); got != "a\r\n|bb\r\n|\r\n|body" {
		t.Errorf("lines %q", got)
	}
}
