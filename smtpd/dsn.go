package smtpd

import (
	"bytes"
	"log/slog"
	"time"

	"congvu/directory"
	"congvu/internal/dsn"
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
// A local sender gets it in the store at once; a remote one through the
// outbound queue, when outbound delivery is enabled.
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
	report := s.buildDSN(tx, id, trace, msg.header(), fails, time.Now())
	sender := directory.NormalizeAddress(tx.from)
	ctx, cancel := opContext(lookupTimeout)
	defer cancel()
	if !s.srv.isLocalDomain(directory.Domain(sender)) {
		if s.srv.mail.outbound == nil {
			log.Error("partial delivery: some recipients did not get the message; remote sender cannot be notified while outbound delivery is disabled")
			return
		}
		// RFC 3464 2 / RFC 5321 4.5.5: a notification has the null reverse-path.
		qid, err := s.srv.mail.outbound.Enqueue(ctx, "", []string{tx.from}, bytes.NewReader(report))
		if err != nil {
			log.Error("partial delivery: queueing the delivery status notification failed", "err", err)
			return
		}
		log.Warn("partial delivery: delivery status notification queued for the remote sender", "dsn_queue_id", qid)
		return
	}
	acct, err := s.srv.dir.Lookup(ctx, sender)
	if err != nil || acct == nil || acct.State == directory.StateRetired {
		log.Error("partial delivery: some recipients did not get the message; sender cannot be notified", "err", err)
		return
	}
	// RFC 5321 4.4: the final delivery adds Return-Path, here the null path.
	full := append([]byte("Return-Path: <>\r\n"), report...)
	results, err := s.srv.store.Deliver(ctx, bytes.NewReader(full), []storage.Recipient{{User: acct.Address, QuotaBytes: acct.QuotaBytes}})
	if err == nil && len(results) == 1 {
		err = results[0].Err
	}
	if err != nil {
		log.Error("partial delivery: delivery status notification to the sender failed", "err", err)
		return
	}
	log.Warn("partial delivery: delivery status notification sent to the sender")
}

// buildDSN writes the notification for recipients that failed at once
// (we do not retry local deliveries, so even a temporary cause is final).
func (s *session) buildDSN(tx transaction, id string, trace, header []byte, fails []failure, now time.Time) []byte {
	r := dsn.Report{
		ReportingMTA: s.srv.cfg.Hostname,
		To:           quotePath(tx.from),
		ID:           id,
		Arrival:      now,
		Now:          now,
		Partial:      true,
		Header:       append(append([]byte(nil), trace...), header...),
	}
	for _, f := range fails {
		r.Recipients = append(r.Recipients, dsn.Recipient{
			Original: f.rcpt.given,
			Final:    f.rcpt.account.Address,
			Action:   dsn.Failed,
			Status:   f.err.Enhanced,
			Code:     f.err.SMTPCode,
			Text:     f.err.Message,
			TextVI:   f.err.MessageVI,
		})
	}
	return dsn.Build(r)
}
