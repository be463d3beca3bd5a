package imapd

import (
	"bufio"
	"compress/flate"
	"crypto/tls"
	"os/exec"
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

// mbsync ends its commands with zlib's Z_PARTIAL_FLUSH, not a sync
// flush: the server must still read each command as it arrives (RFC 4978
// leaves the flush mode to the sender). Python's zlib stands in for it.
func TestCompressPartialFlush(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	e := newEnv(t)
	_, port, _ := strings.Cut(e.implicit, ":")
	script := `
import socket, ssl, zlib, sys
ctx = ssl.create_default_context(cafile=sys.argv[2]); ctx.check_hostname = False
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="127.0.0.1")
f = s.makefile("rb")
f.readline()
s.sendall(b'a LOGIN ' + sys.argv[3].encode() + b' "' + sys.argv[4].encode() + b'"\r\n')
while not f.readline().startswith(b"a "):
    pass
s.sendall(b"b COMPRESS DEFLATE\r\n")
assert f.readline().startswith(b"b OK")
co, do = zlib.compressobj(6, zlib.DEFLATED, -15), zlib.decompressobj(-15)
s.settimeout(5)
def send(b):
    s.sendall(co.compress(b) + co.flush(zlib.Z_PARTIAL_FLUSH))
def until(tag):
    out = b""
    while tag + b" " not in out:
        out += do.decompress(s.recv(4096))
    return out
for tag in (b"c", b"d"):
    send(tag + b" NAMESPACE\r\n")
    until(tag)
send(b"e SELECT INBOX\r\n")
until(b"e")
# What mbsync pipelines: a dynamic block, ended by a partial flush.
msg = b"From: x@y\r\nSubject: Ban nhap cuc bo\r\n\r\nTu mbsync " + b"abcdefghij" * 12 + b"\r\n"
send(b"7 UID STORE 1 +FLAGS.SILENT (\\Seen)\r\n8 UID STORE 1 -FLAGS.SILENT (\\Deleted)\r\n9 CHECK\r\n"
     b"10 APPEND \"INBOX\" {%d+}\r\n%s\r\n11 UID FETCH 1 (BODY.PEEK[])\r\n" % (len(msg), msg))
until(b"11")
print("PARTIAL OK")
`
	out, err := exec.Command(py, "-c", script, port, e.certFile, userAddr, userPass).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "PARTIAL OK") {
		t.Fatalf("partial-flush client: %v\n%s", err, out)
	}
}
