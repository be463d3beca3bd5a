// Package dsn writes delivery status notifications (RFC 3464) for the
// places that must tell a sender about a message they could not deliver:
// smtpd (a local recipient failing after others got the message) and the
// outbound queue (a bounce after a permanent failure or expiry, a delay
// notice while it keeps retrying).
package dsn

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"time"
)

// Action values of RFC 3464 2.3.3.
const (
	Failed  = "failed"
	Delayed = "delayed"
)

// Recipient is one per-recipient block (RFC 3464 2.3).
type Recipient struct {
	// Original is the address as the client wrote it (ORCPT or RCPT TO),
	// reported only when it differs from Final.
	Original string
	Final    string
	// Action is Failed or Delayed.
	Action string
	// Status is the enhanced status code (RFC 3463).
	Status [3]int
	// Code, Text and Reply are the SMTP reply behind the status (code,
	// text, enhanced code; Reply zero means Status), for the
	// Diagnostic-Code field and the human-readable part.
	Code  int
	Text  string
	Reply [3]int
	// TextVI explains the failure in Vietnamese ("" = Text).
	TextVI string
	// RemoteMTA is the server that gave the reply ("" when none did).
	RemoteMTA string
	// LastAttempt and RetryUntil are set by the queue.
	LastAttempt, RetryUntil time.Time
}

// Report is a whole notification.
type Report struct {
	// ReportingMTA is our host name (RFC 3464 2.2.2).
	ReportingMTA string
	// To is the reverse-path of the original message, who gets the report.
	To string
	// ID identifies the original transaction (our queue or session id).
	ID      string
	Arrival time.Time
	Now     time.Time
	// Partial says that the other recipients did receive the message.
	Partial bool
	// Header is the returned header block of the original message
	// (text/rfc822-headers, RFC 3464 2.1: a DSN returns the headers only,
	// so a bounce never carries a 30 MB attachment back).
	Header     []byte
	Recipients []Recipient
}

// Build returns the notification as a complete message: multipart/report
// (RFC 6522) with a human-readable part in Vietnamese and English, the
// machine-readable message/delivery-status and the returned header.
func Build(r Report) []byte {
	host := r.ReportingMTA
	boundary := "=_congvu_" + randomToken()
	var b bytes.Buffer
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\r\n", a...) }
	delayed := len(r.Recipients) > 0
	for _, rc := range r.Recipients {
		delayed = delayed && rc.Action == Delayed
	}

	// RFC 3464 2 / RFC 5321 4.5.5: a notification is sent with the null
	// reverse-path (the caller does that); the fields below make the
	// mail-loop protections of other systems recognise it too.
	w("Date: %s", r.Now.Format(time.RFC1123Z))
	w("From: %s <mailer-daemon@%s>", mime.QEncoding.Encode("utf-8", "Hệ thống thư điện tử"), host)
	w("To: <%s>", r.To)
	if delayed {
		w("Subject: %s", mime.QEncoding.Encode("utf-8", "Thư đang chậm gửi / Delayed mail"))
	} else {
		w("Subject: %s", mime.QEncoding.Encode("utf-8", "Thư không gửi được / Undelivered mail"))
	}
	w("Message-ID: <%s.%s.dsn@%s>", r.ID, randomToken()[:8], host)
	w("Auto-Submitted: auto-replied") // RFC 3834 5: no auto-replies to this
	w("MIME-Version: 1.0")
	w("Content-Type: multipart/report; report-type=delivery-status;")
	w("\tboundary=\"%s\"", boundary)
	w("")

	w("--%s", boundary)
	w("Content-Type: text/plain; charset=utf-8")
	w("Content-Transfer-Encoding: 8bit")
	w("")
	switch {
	case delayed:
		w("Máy chủ %s chưa chuyển được thư của bạn (mã %s) tới những người nhận", host, r.ID)
		w("dưới đây và sẽ tiếp tục thử lại. Bạn không cần gửi lại thư.")
	case r.Partial:
		w("Máy chủ %s đã nhận thư của bạn (mã %s) nhưng không chuyển được", host, r.ID)
		w("tới những người nhận dưới đây. Những người nhận khác đã nhận được thư.")
	default:
		w("Máy chủ %s không chuyển được thư của bạn (mã %s) tới những người nhận dưới đây.", host, r.ID)
	}
	w("")
	for _, rc := range r.Recipients {
		w("  <%s>: %s", display(rc), reasonVI(rc))
		if rc.Action == Delayed && !rc.RetryUntil.IsZero() {
			w("    (sẽ thử lại đến %s)", rc.RetryUntil.Format("02/01/2006 15:04 -0700"))
		}
	}
	w("")
	switch {
	case delayed:
		w("Your message (id %s) has not yet been delivered by %s to the", r.ID, host)
		w("recipients below. It will be retried; you do not need to send it again.")
	case r.Partial:
		w("Your message (id %s) was accepted by %s but could not be delivered", r.ID, host)
		w("to the recipients below. All other recipients received it.")
	default:
		w("Your message (id %s) could not be delivered by %s to the recipients below.", r.ID, host)
	}
	w("")
	for _, rc := range r.Recipients {
		w("  <%s>: %s", display(rc), diagnostic(rc))
		if rc.Action == Delayed && !rc.RetryUntil.IsZero() {
			w("    (will be retried until %s)", rc.RetryUntil.Format(time.RFC1123Z))
		}
	}
	w("")

	w("--%s", boundary)
	w("Content-Type: message/delivery-status")
	w("")
	// RFC 3464 2.2: per-message fields.
	w("Reporting-MTA: dns; %s", host)
	if r.ID != "" {
		w("X-Congvu-Queue-ID: %s", r.ID)
	}
	if !r.Arrival.IsZero() {
		w("Arrival-Date: %s", r.Arrival.Format(time.RFC1123Z))
	}
	for _, rc := range r.Recipients {
		w("")
		// RFC 3464 2.3.1: Original-Recipient is what the client wrote,
		// Final-Recipient the mailbox it resolved to.
		if rc.Original != "" && !strings.EqualFold(rc.Original, rc.Final) {
			w("Original-Recipient: rfc822; %s", rc.Original)
		}
		w("Final-Recipient: rfc822; %s", rc.Final)
		w("Action: %s", rc.Action)
		// RFC 3464 2.3.4: "failed" goes with a 5.x.x status, "delayed"
		// with 4.x.x, whatever the last reply was.
		status := rc.Status
		if rc.Action == Failed {
			status[0] = 5
		} else {
			status[0] = 4
		}
		w("Status: %s", enhanced(status))
		if rc.RemoteMTA != "" {
			w("Remote-MTA: dns; %s", rc.RemoteMTA)
		}
		if rc.Code != 0 {
			w("Diagnostic-Code: smtp; %s", diagnostic(rc))
		}
		if !rc.LastAttempt.IsZero() {
			w("Last-Attempt-Date: %s", rc.LastAttempt.Format(time.RFC1123Z))
		}
		if rc.Action == Delayed && !rc.RetryUntil.IsZero() {
			w("Will-Retry-Until: %s", rc.RetryUntil.Format(time.RFC1123Z))
		}
	}
	w("")

	w("--%s", boundary)
	w("Content-Type: text/rfc822-headers")
	w("")
	b.Write(r.Header)
	if !bytes.HasSuffix(r.Header, []byte("\n")) {
		w("")
	}
	w("--%s--", boundary)
	return b.Bytes()
}

func display(rc Recipient) string {
	if rc.Original != "" {
		return rc.Original
	}
	return rc.Final
}

func diagnostic(rc Recipient) string {
	text := oneLine(rc.Text)
	status := rc.Reply
	if status == ([3]int{}) {
		status = rc.Status
	}
	if rc.Code == 0 {
		return enhanced(status) + " " + text
	}
	return strconv.Itoa(rc.Code) + " " + enhanced(status) + " " + text
}

func reasonVI(rc Recipient) string {
	if rc.TextVI != "" {
		return oneLine(rc.TextVI)
	}
	return oneLine(rc.Text)
}

// oneLine keeps a remote server's (multi-line) reply on one header line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func enhanced(e [3]int) string {
	return strconv.Itoa(e[0]) + "." + strconv.Itoa(e[1]) + "." + strconv.Itoa(e[2])
}

func randomToken() string {
	var b [8]byte
	rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// HeaderBlock returns the header block of msg (at most limit bytes),
// including its final line break, for Report.Header.
func HeaderBlock(msg []byte) []byte {
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		return msg[:i+2]
	}
	if i := bytes.Index(msg, []byte("\n\n")); i >= 0 {
		return msg[:i+1]
	}
	return msg
}
