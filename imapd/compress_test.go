package imapd

import (
	"bufio"
	"compress/flate"
	"crypto/tls"
	"strings"
	"testing"
	"time"
)

// RFC 4978: after COMPRESS DEFLATE both directions are deflated; every
// response arrives without waiting for more (sync flush), IDLE works,
// and a second COMPRESS is refused with COMPRESSIONACTIVE.
func TestCompressDeflate(t *testing.T) {
	e := newEnv(t)
	e.deliver(userAddr, simpleMsg("Nén", strings.Repeat("nội dung nén được ", 200), time.Now()))
	conn, err := tls.Dial("tcp", e.implicit, e.tlsConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	readLine := func(r *bufio.Reader) string {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v (%q)", err, l)
		}
		return strings.TrimRight(l, "\r\n")
	}
	readLine(br)
	conn.Write([]byte(`a LOGIN "` + userAddr + `" "` + userPass + "\"\r\n"))
	for !strings.HasPrefix(readLine(br), "a ") {
	}
	conn.Write([]byte("b COMPRESS DEFLATE\r\n"))
	if l := readLine(br); !strings.HasPrefix(l, "b OK") {
		t.Fatalf("COMPRESS: %q", l)
	}
	zr := bufio.NewReader(flate.NewReader(br))
	zw, _ := flate.NewWriter(conn, flate.BestSpeed)
	send := func(s string) {
		zw.Write([]byte(s + "\r\n"))
		zw.Flush()
	}
	cmd := func(tag, c string) (lines []string) {
		send(tag + " " + c)
		for {
			l := readLine(zr)
			lines = append(lines, l)
			if strings.HasPrefix(l, tag+" ") {
				return lines
			}
		}
	}
	if l := cmd("c", "SELECT INBOX"); !strings.HasPrefix(l[len(l)-1], "c OK") {
		t.Fatalf("SELECT over DEFLATE: %q", l)
	}
	if l := cmd("d", "FETCH 1 (BODY.PEEK[TEXT])"); !strings.HasPrefix(l[len(l)-1], "d OK") || !strings.Contains(strings.Join(l, "\n"), "nội dung nén") {
		t.Fatalf("FETCH over DEFLATE: %q", l)
	}
	if l := cmd("e", "COMPRESS DEFLATE"); !strings.HasPrefix(l[len(l)-1], "e NO [COMPRESSIONACTIVE]") {
		t.Fatalf("second COMPRESS: %q", l)
	}
	send("f IDLE")
	if l := readLine(zr); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}
	e.deliver(userAddr, simpleMsg("Mới", "x", time.Now()))
	if l := readLine(zr); l != "* 2 EXISTS" {
		t.Fatalf("IDLE push over DEFLATE: %q", l)
	}
	send("DONE")
	for !strings.HasPrefix(readLine(zr), "f ") {
	}
}
