package smtpd

import (
	"bytes"
	"context"
	"io"
	"strings"
	"time"

	"congvu/policy"
	"congvu/scan"
	"congvu/storage"
)

// ContentScanner judges a message's content (scan.Scanner: clamd for
// malware, rspamd for spam and phishing).
type ContentScanner interface {
	Scan(ctx context.Context, req scan.Request) scan.Verdict
}

// scanTimeout bounds both scanners together.
const scanTimeout = 2 * time.Minute

// scanContent runs the content scanners on the message as it would be
// stored. A virus, an rspamd reject or (by default) an unavailable clamd
// refuses the message at DATA; a spam or phishing score sends it to Junk
// with the reason recorded in X-Congvu-Junk-Reason, which the webmail
// shows. Refusals and Junk verdicts are audited.
func (s *session) scanContent(tx transaction, msg *spool, in *inbound) error {
	if s.mode == modeMX {
		// Verdict fields are ours alone: copies from outside are dropped
		// whether or not a scanner runs, so no sender can pre-stamp a
		// Junk reason or a clean bill of health.
		s.stripForeign(msg, in, scan.SpamFields)
	}
	if s.srv.mail.scanner == nil {
		return nil
	}
	req := scan.Request{
		Envelope: scan.Envelope{IP: addressOf(s), HELO: tx.helo, From: tx.from},
		// Submitted mail leaves the state's network: it is refused when
		// infected or rejected as spam, but carries no scores out.
		Submission: s.mode == modeSubmission,
		Open:       func() io.Reader { return in.message(msg) },
	}
	for _, r := range tx.rcpts {
		req.Rcpts = append(req.Rcpts, r.given)
	}
	if s.account != nil {
		req.User = s.account.Address
	}
	ctx, cancel := opContext(scanTimeout)
	defer cancel()
	v := s.srv.mail.scanner.Scan(ctx, req)
	s.srv.metrics.ScanVerdicts.WithLabelValues(s.mode.String(), v.Action.String()).Inc()
	subject := tx.from
	if s.account != nil {
		subject = s.account.Address
	}
	audit := func(action string) {
		s.srv.policy.Audit(ctx, policy.AuditEntry{Subject: subject, Action: action, Rule: v.Rule,
			Protocol: s.protocol(), IP: addressOf(s), Detail: v.Detail})
	}
	switch v.Action {
	case scan.Reject:
		audit(policy.ActionReject)
		return v.Err
	case scan.Defer:
		audit(policy.ActionDefer)
		return v.Err
	case scan.Junk:
		audit(policy.ActionJunk)
		in.folder = storage.Junk
	}
	if s.mode == modeMX {
		in.header = append(in.header, v.Header...)
	}
	return nil
}

// stripForeign removes header fields whose names start with one of
// prefixes from an inbound message's header (kept in in.rewritten).
func (s *session) stripForeign(msg *spool, in *inbound, prefixes []string) {
	header := in.rewritten
	length := in.headerLen
	if header == nil {
		if msg.headerEnd < 0 || msg.headerEnd > 4<<20 {
			return
		}
		b := make([]byte, msg.headerEnd)
		if _, err := io.ReadFull(msg.reader(), b); err != nil {
			return
		}
		header, length = b, msg.headerEnd
	}
	stripped, n := removeFields(header, prefixes)
	if n == 0 {
		return
	}
	s.log.Info("removed header fields claiming our verdicts", "count", n)
	in.rewritten, in.headerLen = stripped, length
}

// addressOf is the client's IP address as text, "" when not TCP.
func addressOf(s *session) string {
	if s.ip == nil {
		return ""
	}
	return s.ip.String()
}

// removeFields drops every field (with its continuation lines) whose name
// starts with one of prefixes, case-insensitively.
func removeFields(header []byte, prefixes []string) ([]byte, int) {
	var out bytes.Buffer
	removed := 0
	dropping := false
	for _, line := range bytes.SplitAfter(header, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if !dropping {
				out.Write(line)
			}
			continue
		}
		dropping = false
		if colon := bytes.IndexByte(line, ':'); colon > 0 {
			name := strings.ToLower(string(line[:colon]))
			for _, p := range prefixes {
				if strings.HasPrefix(name, strings.ToLower(p)) {
					dropping = true
					removed++
					break
				}
			}
		}
		if !dropping {
			out.Write(line)
		}
	}
	return out.Bytes(), removed
}
