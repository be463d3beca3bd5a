package smtpd

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"time"

	"congvu/msgauth"
	"congvu/storage"
)

// InboundChecker judges mail arriving on the MX listener: SPF, DKIM,
// DMARC and anti-spoofing (package msgauth). open returns the message from
// its start each time it is called.
type InboundChecker interface {
	Check(ctx context.Context, env msgauth.Envelope, open func() io.Reader) msgauth.Verdict
}

// inboundTimeout bounds the DNS work of one verdict.
const inboundTimeout = 30 * time.Second

// inbound is how a verdict changes local delivery.
type inbound struct {
	header []byte // fields prepended after our trace fields
	folder string // "" (INBOX) or storage.Junk
	// rewritten replaces the first headerLen bytes of the message (forged
	// Authentication-Results removed); nil keeps the message as received.
	rewritten []byte
	headerLen int64
}

// message returns the message to store.
func (in inbound) message(msg *spool) io.Reader {
	if in.rewritten == nil {
		return msg.reader()
	}
	return io.MultiReader(bytes.NewReader(in.rewritten), msg.readerFrom(in.headerLen))
}

// checkInbound runs the inbound checker on mail received on the MX
// listener. A Reject verdict is returned as the error to answer at DATA
// (RFC 7489 10.3: rejecting during the SMTP transaction, not bouncing).
func (s *session) checkInbound(tx transaction, msg *spool) (inbound, error) {
	if s.mode != modeMX || s.srv.mail.inbound == nil {
		return inbound{}, nil
	}
	ctx, cancel := opContext(inboundTimeout)
	defer cancel()
	v := s.srv.mail.inbound.Check(ctx, msgauth.Envelope{IP: s.ip, HELO: tx.helo, MailFrom: tx.from}, msg.reader)
	// A plain pass shows in the "delivered" line; a line of its own for
	// every message was half of the log's writes under load (issue 16).
	level := slog.LevelInfo
	if v.Action == msgauth.Deliver && v.Reason == "" {
		level = slog.LevelDebug
	}
	s.log.Log(ctx, level, "inbound authentication", "from", tx.from, "action", v.Action.String(), "reason", v.Reason)
	s.srv.metrics.InboundVerdicts.WithLabelValues(v.Action.String()).Inc()
	if v.Action == msgauth.Reject {
		return inbound{}, v.Err
	}
	in := inbound{header: v.Prepend, rewritten: v.Header, headerLen: v.HeaderLen}
	if v.Action == msgauth.Junk {
		in.folder = storage.Junk
	}
	return in, nil
}
