package smtpd

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"congvu/directory"
	"congvu/internal/config"
	"congvu/internal/mailerr"
)

func (e *env) account(address string) *directory.Account {
	e.t.Helper()
	a, err := e.dir.Lookup(context.Background(), address)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// Submit takes the listeners' path: local delivery with the trace, the
// outbound queue (DKIM-signed), and every refusal — From ownership, the
// policy's send limit, an unknown recipient — as a *mailerr.Error that
// keeps its Vietnamese text; a refused message goes nowhere.
func TestSubmit(t *testing.T) {
	q := &fakeQueue{}
	e := newEnv(t, envOptions{outbound: q, signer: fakeSigner{},
		policy: engineWith(t, func(c *config.Policy) { c.Rules.SendLimitExternal = 1 })})
	ctx := t.Context()
	ip := net.ParseIP("192.0.2.7")
	send := func(from string, rcpts []string, msg []byte) error {
		return e.srv.Submit(ctx, SubmitRequest{Account: e.account(thanh), IP: ip, Via: "webmail", From: from,
			Rcpts: rcpts, Message: bytes.NewReader(msg)})
	}

	if err := send(thanh, []string{mai, remote}, message(thanh, mai, "Công văn", "Nội dung")); err != nil {
		t.Fatalf("Submit: %v", err)
	}
	got := e.inbox(mai)
	if len(got) != 1 || !bytes.Contains(got[0], []byte("Received: from webmail ([192.0.2.7])")) ||
		!bytes.Contains(got[0], []byte("with ESMTPA")) {
		t.Errorf("local copy:\n%.600s", got)
	}
	if len(q.msgs) != 1 || q.msgs[0].rcpts[0] != remote || !strings.Contains(q.msgs[0].data, "DKIM-Signature:") {
		t.Errorf("queued: %+v", q.msgs)
	}

	// From ownership, envelope and header.
	var me *mailerr.Error
	err := send(mai, []string{mai}, message(mai, mai, "Giả danh", "x"))
	if !errors.As(err, &me) || me.SMTPCode != 553 || me.MessageVI == "" {
		t.Errorf("envelope from not owned: %v", err)
	}
	err = send(thanh, []string{mai}, message(mai, mai, "Giả danh", "x"))
	if !errors.As(err, &me) || !errors.Is(err, errFromNotOwned) {
		t.Errorf("From header not owned: %v", err)
	}
	// An unknown local recipient is named.
	var re *RecipientError
	err = send(thanh, []string{mai, "khongco@" + domain}, message(thanh, mai, "x", "x"))
	if !errors.As(err, &re) || re.Address != "khongco@"+domain || re.Err.SMTPCode != 550 {
		t.Errorf("unknown recipient: %v", err)
	}
	// The send limit: the second outside recipient is refused with the
	// policy's reason and nothing is stored or queued.
	err = send(thanh, []string{mai, "a@gmail.com"}, message(thanh, mai, "Thứ ba", "x"))
	if !errors.As(err, &me) || me.SMTPCode != 550 || me.MessageVI == "" {
		t.Errorf("over the send limit: %v", err)
	}
	if n := len(e.inbox(mai)); n != 1 {
		t.Errorf("mai has %d messages after the refusals, want 1", n)
	}
	if len(q.msgs) != 1 {
		t.Errorf("queued %d messages after the refusals, want 1", len(q.msgs))
	}
	// A locked account cannot send.
	err = e.srv.Submit(ctx, SubmitRequest{Account: e.account(locked), IP: ip, From: locked, Rcpts: []string{mai},
		Message: bytes.NewReader(message(locked, mai, "x", "x"))})
	if err == nil {
		t.Error("a locked account sent mail")
	}
	if err := send(thanh, nil, message(thanh, mai, "x", "x")); !errors.Is(err, errNoRecipients) {
		t.Errorf("no recipients: %v", err)
	}
}
