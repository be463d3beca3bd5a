package smtpd

import (
	"bytes"
	"fmt"
	"log/slog"
	"mime"
	"strings"
	"time"

	"congvu/directory"
	"congvu/internal/mailerr"
	"congvu/storage"
)

// failure is one recipient a message accepted with 250 could not reach.
type failure struct {
	rcpt recipient
	err  *mailerr.Error
}

// notifyFailures reports recipients that failed after others succeeded
// (see deliver): RFC 5321 6.1 requires a notification to the reverse-path.
// While outbound delivery is disabled it can reach only a local sender.
func (s *session) notifyFailures(tx transaction, id string, trace []byte, msg *spool, fails []failure, log *slog.Logger) {
	addrs := make([]string, len(fails))
	for i, f := range fails {
		addrs[i] = f.rcpt.account.Address
	}
	log = log.With("failed", addrs)
	if tx.from == "" {
		// RFC 5321 4.5.5 / 6.1: never notify the null reverse-path.
		log.Error("partial delivery: some recipients did not get the message; null sender, no notification")
		return
	}
	sender := directory.NormalizeAddress(tx.from)
	if !s.srv.isLocalDomain(directory.Domain(sender)) {
		log.Error("partial delivery: some recipients did not get the message; remote sender cannot be notified while outbound delivery is disabled")
		return
	}
	ctx, cancel := opContext(lookupTimeout)
	defer cancel()
	acct, err := s.srv.dir.Lookup(ctx, sender)
	if err != nil || acct == nil || acct.State == directory.StateRetired {
		log.Error("partial delivery: some recipients did not get the message; sender cannot be notified", "err", err)
		return
	}
	report := s.buildDSN(tx, id, trace, msg.header(), fails, time.Now())
	results, err := s.srv.store.Deliver(ctx, bytes.NewReader(report), []storage.Recipient{{User: acct.Address, QuotaBytes: acct.QuotaBytes}})
	if err == nil && len(results) == 1 {
		err = results[0].Err
	}
	if err != nil {
		log.Error("partial delivery: delivery status notification to the sender failed", "err", err)
		return
	}
	log.Warn("partial delivery: delivery status notification sent to the sender")
}

// buildDSN writes a delivery status notification: multipart/report
// (RFC 6522) with a human-readable part in Vietnamese and English, the
// machine-readable message/delivery-status (RFC 3464) and the returned
// header (text/rfc822-headers).
func (s *session) buildDSN(tx transaction, id string, trace, header []byte, fails []failure, now time.Time) []byte {
	host := s.srv.cfg.Hostname
	boundary := "=_congvu_" + newID()
	var b bytes.Buffer
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\r\n", a...) }

	// RFC 3464 2 / RFC 5321 4.5.5: a notification has the null reverse-path.
	w("Return-Path: <>")
	w("Date: %s", now.Format(time.RFC1123Z))
	w("From: %s <mailer-daemon@%s>", mime.QEncoding.Encode("utf-8", "Hệ thống thư điện tử"), host)
	w("To: <%s>", quotePath(tx.from))
	w("Subject: %s", mime.QEncoding.Encode("utf-8", "Thư không gửi được / Undelivered mail"))
	w("Message-ID: <%s.dsn@%s>", id, host)
	w("Auto-Submitted: auto-replied") // RFC 3834 5: no auto-replies to this
	w("MIME-Version: 1.0")
	w("Content-Type: multipart/report; report-type=delivery-status;")
	w("\tboundary=\"%s\"", boundary)
	w("")

	w("--%s", boundary)
	w("Content-Type: text/plain; charset=utf-8")
	w("Content-Transfer-Encoding: 8bit")
	w("")
	w("Máy chủ %s đã nhận thư của bạn (mã %s) nhưng không chuyển được", host, id)
	w("tới những người nhận dưới đây. Những người nhận khác đã nhận được thư.")
	w("")
	for _, f := range fails {
		w("  <%s>: %s", f.rcpt.given, reasonVI(f.err))
	}
	w("")
	w("Your message (id %s) was accepted by %s but could not be delivered", id, host)
	w("to the recipients below. All other recipients received it.")
	w("")
	for _, f := range fails {
		w("  <%s>: %d %s %s", f.rcpt.given, f.err.SMTPCode, enhanced(f.err.Enhanced), f.err.Message)
	}
	w("")

	w("--%s", boundary)
	w("Content-Type: message/delivery-status")
	w("")
	w("Reporting-MTA: dns; %s", host)
	w("Arrival-Date: %s", now.Format(time.RFC1123Z))
	for _, f := range fails {
		w("")
		// RFC 3464 2.3.1: Original-Recipient is what the client wrote,
		// Final-Recipient the mailbox it resolved to.
		if directory.NormalizeAddress(f.rcpt.given) != f.rcpt.account.Address {
			w("Original-Recipient: rfc822; %s", f.rcpt.given)
		}
		w("Final-Recipient: rfc822; %s", f.rcpt.account.Address)
		w("Action: failed")
		// We do not retry, so even a temporary cause is final here
		// (RFC 3464 2.3.4: "failed" goes with a 5.x.x status).
		status := f.err.Enhanced
		status[0] = 5
		w("Status: %s", enhanced(status))
		w("Diagnostic-Code: smtp; %d %s %s", f.err.SMTPCode, enhanced(f.err.Enhanced), f.err.Message)
	}
	w("")

	w("--%s", boundary)
	w("Content-Type: text/rfc822-headers")
	w("")
	b.Write(trace)
	b.Write(header)
	if !bytes.HasSuffix(header, []byte("\n")) {
		w("")
	}
	w("--%s--", boundary)
	return b.Bytes()
}

// reasonVI is the Vietnamese explanation of a delivery failure.
func reasonVI(e *mailerr.Error) string {
	if e.MessageVI != "" {
		return e.MessageVI
	}
	return strings.TrimSpace(e.Message)
}
