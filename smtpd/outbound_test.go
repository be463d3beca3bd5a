package smtpd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"congvu/internal/mailerr"
)

// fakeQueue records what submission hands to the outbound queue.
type fakeQueue struct {
	mu   sync.Mutex
	fail error
	msgs []queued
}

type queued struct {
	from  string
	rcpts []string
	data  string
}

func (q *fakeQueue) Enqueue(_ context.Context, from string, rcpts []string, msg io.Reader) (string, error) {
	b, err := io.ReadAll(msg)
	if err != nil {
		return "", err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fail != nil {
		return "", q.fail
	}
	q.msgs = append(q.msgs, queued{from, rcpts, string(b)})
	return "00000000000000Q1", nil
}

type fakeSigner struct{}

func (fakeSigner) Sign(r io.Reader) ([]byte, error) {
	b, _ := io.ReadAll(r)
	if !bytes.Contains(b, []byte("Received: from")) {
		return nil, errors.New("signed before the Received field was added")
	}
	return []byte("DKIM-Signature: v=1; d=khanhhoa.gov.vn; s=test\r\n"), nil
}

func submit(t *testing.T, e *env, rcpts []string, msg []byte) error {
	t.Helper()
	c, err := smtp.DialStartTLS(e.sub, e.client)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", thanh, thanhPass)); err != nil {
		t.Fatal(err)
	}
	return c.SendMail(thanh, rcpts, bytes.NewReader(msg))
}

func TestSubmissionQueuesRemoteRecipientsSigned(t *testing.T) {
	q := &fakeQueue{}
	e := newEnv(t, envOptions{outbound: q, signer: fakeSigner{}})
	msg := message(thanh, remote, "Công văn gửi Bộ Công an", "Kính gửi")
	if err := submit(t, e, []string{remote, "VanThu@BoCongAn.gov.vn", mai}, msg); err != nil {
		t.Fatalf("mixed local and remote recipients: %v", err)
	}
	if len(q.msgs) != 1 {
		t.Fatalf("queue got %d messages", len(q.msgs))
	}
	m := q.msgs[0]
	if m.from != thanh || len(m.rcpts) != 1 || m.rcpts[0] != remote {
		t.Errorf("queued envelope %s → %v, want one copy for %s", m.from, m.rcpts, remote)
	}
	if !strings.HasPrefix(m.data, "DKIM-Signature: v=1; d=khanhhoa.gov.vn; s=test\r\nReceived: from ") || strings.Contains(m.data, "Return-Path:") {
		t.Errorf("queued message must start with the signature then our Received, without Return-Path:\n%s", m.data)
	}
	if !strings.HasSuffix(m.data, string(msg)) {
		t.Error("queued message does not end with the submitted message")
	}
	if n := len(e.inbox(mai)); n != 1 {
		t.Errorf("local recipient has %d messages", n)
	}
}

func TestSubmissionQueueFailureIsTemporaryForEveryone(t *testing.T) {
	q := &fakeQueue{fail: mailerr.ErrInternal.With(errors.New("disk full"))}
	e := newEnv(t, envOptions{outbound: q})
	err := submit(t, e, []string{remote, mai}, message(thanh, remote, "x", "y"))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 451 {
		t.Fatalf("got %v, want 451", err)
	}
	// Nobody got it, so the client's retry duplicates nothing.
	if n := len(e.inbox(mai)); n != 0 {
		t.Errorf("local recipient got the message although the reply was 451")
	}
}

func TestMXStillRefusesRelayWithQueue(t *testing.T) {
	e := newEnv(t, envOptions{outbound: &fakeQueue{}})
	r := dialRaw(t, e.mx, nil)
	r.ehlo()
	r.cmd(250, "2.0.0", "MAIL FROM:<a@example.com>")
	r.cmd(554, "5.7.1", "RCPT TO:<%s>", remote)
}

// TestSubmissionRefusesIPDestinations: address literals and bare IP
// addresses are refused at RCPT with 553 5.1.3 and nothing is queued
// (issue 15 §10).
func TestSubmissionRefusesIPDestinations(t *testing.T) {
	q := &fakeQueue{}
	e := newEnv(t, envOptions{outbound: q})
	for _, rcpt := range []string{"x@[127.0.0.1]", "x@[10.0.0.5]", "x@[IPv6:::1]", "x@127.0.0.1", "x@169.254.169.254", "x@10.0.0.5"} {
		err := submit(t, e, []string{rcpt}, message(thanh, rcpt, "thử", "thân thư"))
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code != 553 || se.EnhancedCode != (smtp.EnhancedCode{5, 1, 3}) {
			t.Errorf("RCPT TO:<%s>: %v, want 553 5.1.3", rcpt, err)
		}
	}
	if len(q.msgs) != 0 {
		t.Errorf("queued %d messages for IP destinations", len(q.msgs))
	}
}
