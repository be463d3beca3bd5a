package bufsize

import (
	"bufio"
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

func TestPoolLendsAndTakesBack(t *testing.T) {
	p := NewPool(64)
	msg := strings.Repeat("line of text\r\n", 20)
	for i := 0; i < 3; i++ {
		br := p.Get(strings.NewReader(msg))
		var got strings.Builder
		if _, err := io.Copy(&got, br); err != nil {
			t.Fatal(err)
		}
		if got.String() != msg {
			t.Fatalf("pass %d read %q", i, got.String())
		}
		p.Put(br)
	}
	// A caller's own bufio.Reader is never taken into the pool.
	own := bufio.NewReaderSize(strings.NewReader("abc"), 64)
	br := p.Get(own)
	if br == own {
		t.Fatal("Get returned the caller's reader")
	}
	p.Put(br)
	// A nil pool lends a new reader and Put ignores it.
	var none *Pool
	br = none.Get(strings.NewReader("x"))
	if b, _ := br.ReadByte(); b != 'x' {
		t.Fatal("nil pool reader")
	}
	none.Put(br)
}
