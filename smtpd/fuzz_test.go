package smtpd

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// FuzzMXSession feeds arbitrary bytes to the MX listener as one client
// session: commands, DATA with any content (NUL, deep MIME, broken
// headers), BDAT. Whatever arrives, the server must answer without
// panicking, and every reply must be a well-formed SMTP reply line.
func FuzzMXSession(f *testing.F) {
	for _, seed := range []string{
		"EHLO a\r\nMAIL FROM:<x@bocongan.gov.vn>\r\nRCPT TO:<" + mai + ">\r\nDATA\r\nSubject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n",
		"EHLO a\x00\r\nMAIL FROM:<\x00>\r\n",
		"HELO a\r\nMAIL FROM:<> SIZE=99999999999\r\nRCPT TO:<" + mai + ">\r\nBDAT 5 LAST\r\nab\x00cd",
		"EHLO a\r\nMAIL FROM:<a@b.vn>\r\nRCPT TO:<" + mai + ">\r\nDATA\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n--q--\r\n.\r\n",
		"EHLO a\r\nAUTH PLAIN AGEAYg==\r\nSTARTTLS\r\nRSET\r\nNOOP\r\nVRFY x\r\n",
		"EHLO a\r\nMAIL FROM:<a@b.vn>\r\nRCPT TO:<x@[127.0.0.1]>\r\nRCPT TO:<\"a b\"@khanhhoa.gov.vn>\r\n",
	} {
		f.Add(seed)
	}
	e := newEnv(f, envOptions{maxMessageBytes: 64 << 10})
	f.Fuzz(func(t *testing.T, input string) {
		c, err := net.Dial("tcp", e.mx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		go func() {
			c.Write([]byte(input))
			c.(*net.TCPConn).CloseWrite()
		}()
		out, _ := io.ReadAll(c)
		for _, line := range strings.Split(strings.TrimSuffix(string(out), "\r\n"), "\r\n") {
			if line == "" {
				continue
			}
			if len(line) < 4 || line[0] < '2' || line[0] > '5' || (line[3] != ' ' && line[3] != '-') {
				t.Fatalf("malformed reply line %q", line)
			}
			if strings.HasPrefix(line, "421 4.0.0 Internal server error") {
				t.Fatalf("the session panicked: %q", out)
			}
		}
	})
}

// FuzzRemoveFields: stripping verdict fields never grows the header, keeps
// every line it does not drop, and leaves no field with a dropped prefix.
func FuzzRemoveFields(f *testing.F) {
	f.Add("X-Spam-Status: Yes\r\n\tscore=9\r\nSubject: a\r\nX-Congvu-Junk-Reason: x\r\n\r\n")
	f.Add("x-spam-flag:\r\n\r\n")
	f.Fuzz(func(t *testing.T, header string) {
		out, n := removeFields([]byte(header), []string{"X-Spam-", "X-Congvu-Junk-Reason"})
		if len(out) > len(header) || (n == 0 && string(out) != header) {
			t.Fatalf("removeFields(%q) = %q, %d", header, out, n)
		}
		again, m := removeFields(out, []string{"X-Spam-", "X-Congvu-Junk-Reason"})
		if m != 0 || string(again) != string(out) {
			t.Fatalf("a second pass removed %d more: %q", m, again)
		}
	})
}
