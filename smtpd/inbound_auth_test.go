package smtpd

import (
	"context"
	"io"
	"strings"
	"testing"

	"congvu/internal/mailerr"
	"congvu/msgauth"
)

// fakeChecker returns a fixed verdict and records the envelope.
type fakeChecker struct {
	v   msgauth.Verdict
	env msgauth.Envelope
}

func (c *fakeChecker) Check(_ context.Context, env msgauth.Envelope, open func() io.Reader) msgauth.Verdict {
	c.env = env
	io.ReadAll(open())
	return c.v
}

func TestMXVerdicts(t *testing.T) {
	fc := &fakeChecker{}
	e := newEnv(t, envOptions{inbound: fc})
	send := func(subject string) *raw {
		r := dialRaw(t, e.mx, nil)
		r.ehlo()
		r.cmd(250, "2.0.0", "MAIL FROM:<vanthu@angiang.gov.vn>")
		r.cmd(250, "2.0.0", "RCPT TO:<%s>", mai)
		return r
	}
	msg := "Authentication-Results: " + testHost + "; dmarc=pass\r\nFrom: <vanthu@angiang.gov.vn>\r\nSubject: %s\r\n\r\nBody\r\n"

	// Junk: the Junk folder, our results on top, the forged field gone.
	hdrOnly := "From: <vanthu@angiang.gov.vn>\r\nSubject: junk\r\n\r\n"
	fc.v = msgauth.Verdict{Action: msgauth.Junk, Prepend: []byte("Authentication-Results: " + testHost + "; dmarc=fail\r\nX-Congvu-Junk-Reason: test\r\n"),
		Header: []byte(hdrOnly), HeaderLen: int64(len("Authentication-Results: " + testHost + "; dmarc=pass\r\n" + hdrOnly))}
	r := send("junk")
	r.data(250, "2.0.0", []byte(strings.Replace(msg, "%s", "junk", 1)))
	if fc.env.MailFrom != "vanthu@angiang.gov.vn" || fc.env.IP == nil || fc.env.HELO == "" {
		t.Errorf("checker got envelope %+v", fc.env)
	}
	junk := e.folder(mai, "Junk")
	if len(junk) != 1 || len(e.inbox(mai)) != 0 {
		t.Fatalf("Junk has %d, INBOX %d", len(junk), len(e.inbox(mai)))
	}
	got := string(junk[0])
	if strings.Contains(got, "dmarc=pass") || !strings.Contains(got, "dmarc=fail\r\nX-Congvu-Junk-Reason: test\r\nFrom: <vanthu@angiang.gov.vn>\r\nSubject: junk\r\n\r\nBody\r\n") {
		t.Errorf("stored:\n%s", got)
	}

	// Reject: the verdict's error at DATA, nothing stored.
	fc.v = msgauth.Verdict{Action: msgauth.Reject, Err: &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 7, 1}, Message: "Rejected by DMARC policy"}}
	r = send("reject")
	r.data(550, "5.7.1", []byte(strings.Replace(msg, "%s", "reject", 1)))
	if n := len(e.inbox(mai)) + len(e.folder(mai, "Junk")); n != 1 {
		t.Errorf("%d messages after a rejected one, want 1", n)
	}
	if got := e.counter("congvu_inbound_verdicts_total", "action", "reject"); got != 1 {
		t.Errorf("verdicts{reject} = %v", got)
	}
}
