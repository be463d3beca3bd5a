package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

type recordingSession struct {
	mu   *sync.Mutex
	got  *[]string
	from string
}

func (s *recordingSession) AuthPlain(string, string) error { return nil }
func (s *recordingSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}
func (s *recordingSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if to == "nobody@example.org" {
		return &smtp.SMTPError{Code: 550, Message: "no such user"}
	}
	return nil
}
func (s *recordingSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.mu.Lock()
	*s.got = append(*s.got, string(b))
	s.mu.Unlock()
	return err
}
func (s *recordingSession) Reset()        {}
func (s *recordingSession) Logout() error { return nil }

// The load client's messages arrive byte for byte (dot-stuffing undone by
// the server), a refused recipient fails only its own transaction, and
// the session stays usable.
func TestLoadClientSendsExactMessages(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &recordingSession{mu: &mu, got: &got}, nil
	}))
	srv.Domain = "test.example"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()

	c, err := dialLoadSMTP(l.Addr().String(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.quit()
	if !c.pipelining {
		t.Fatal("PIPELINING not seen in the EHLO reply")
	}
	msgs := []string{
		"Subject: a\r\n\r\nplain body\r\n",
		".leading dot\r\n\r\n.\r\n..two\r\nend.\r\n",
		"Subject: no final line break\r\n\r\nlast",
	}
	for _, m := range msgs {
		if err := c.send("a@example.org", "b@example.org", []byte(m)); err != nil {
			t.Fatalf("send %q: %v", m, err)
		}
	}
	if err := c.send("a@example.org", "nobody@example.org", []byte("x\r\n")); err == nil {
		t.Fatal("a refused recipient did not fail the transaction")
	}
	if err := c.send("a@example.org", "b@example.org", []byte("after\r\n")); err != nil {
		t.Fatalf("session unusable after a refused recipient: %v", err)
	}
	want := []string{msgs[0], msgs[1], msgs[2] + "\r\n", "after\r\n"}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("server got %d messages, want %d: %q", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d: got %q, want %q", i, got[i], want[i])
		}
	}
}

// TestLoadMessagesHaveTheirSize checks the built messages: a header that
// names the sequence number, then whole body lines, and no more lines
// than reaching the size takes.
func TestLoadMessagesHaveTheirSize(t *testing.T) {
	for _, size := range []int{0, 1, 300, 10 << 10, 100 << 10} {
		m := newMessageMaker(size)
		var buf []byte
		for _, seq := range []int64{7, 123456789} {
			buf = m.append(buf[:0], seq, "a@b.example", "c@d.example")
			header, body, ok := bytes.Cut(buf, []byte("\r\n\r\n"))
			if !ok || !bytes.Contains(header, []byte(fmt.Sprintf("Subject: Bench message %d\r\n", seq))) {
				t.Fatalf("size %d: header %q", size, header)
			}
			if len(body)%len(loadBodyLine) != 0 || strings.Count(string(body), loadBodyLine) != len(body)/len(loadBodyLine) {
				t.Errorf("size %d: body is not whole lines (%d bytes)", size, len(body))
			}
			if len(buf) < size || (len(body) > 0 && len(buf)-len(loadBodyLine) >= size) {
				t.Errorf("size %d: message of %d bytes, body %d", size, len(buf), len(body))
			}
		}
	}
}
