package smtpd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"congvu/internal/mailerr"
)

// Outbound accepts mail for other domains: the durable outbound queue
// (package queue). Enqueue returns only once the message is on disk
// (fsynced file and directory, committed index), so the caller may answer
// 250.
type Outbound interface {
	Enqueue(ctx context.Context, from string, rcpts []string, msg io.Reader) (id string, err error)
}

// Signer DKIM-signs outgoing mail (package msgauth).
type Signer interface {
	// Sign returns the header fields to prepend (DKIM-Signature, RFC 6376
	// 3.5), or nil when no key covers the message's From domain.
	Sign(msg io.Reader) ([]byte, error)
}

// mailDeps are the optional mail-between-servers services.
type mailDeps struct {
	outbound Outbound
	signer   Signer
	inbound  InboundChecker
	scanner  ContentScanner
}

// isIPDestination reports whether domain is an address literal (RFC 5321
// 4.1.3, "[10.0.0.5]", "[IPv6:::1]") or a bare IP address.
func isIPDestination(domain string) bool {
	if strings.HasPrefix(domain, "[") {
		return true
	}
	_, err := netip.ParseAddr(domain)
	return err == nil
}

// addRemote accepts a recipient of another domain on submission. RFC 6409
// 4.2: the MSA relays an authenticated user's mail onward; without an
// outbound queue it cannot, and says so with a temporary error.
func (s *session) addRemote(given, address string) error {
	if s.srv.mail.outbound == nil {
		return mailerr.ErrOutboundDisabled.With(fmt.Errorf("RCPT TO:<%s>", given))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.tx.rcpts {
		if r.account == nil && r.remote == address {
			return nil // the same address twice: one copy
		}
	}
	s.tx.rcpts = append(s.tx.rcpts, recipient{given: given, remote: address})
	return nil
}

// enqueue hands the message for remote recipients to the outbound queue:
// our Received field, then (RFC 6376 5) the DKIM signature over the message
// exactly as it will leave, made after every policy check so nothing
// changes it afterwards.
func (s *session) enqueue(tx transaction, id string, now time.Time, msg *spool, remote []recipient, log *slog.Logger) error {
	received := s.received(tx, id, now)
	var sig []byte
	if s.srv.mail.signer != nil {
		var err error
		sig, err = s.srv.mail.signer.Sign(io.MultiReader(bytes.NewReader(received), msg.reader()))
		if err != nil {
			return mailerr.ErrInternal.With(fmt.Errorf("dkim signing: %w", err))
		}
	}
	rcpts := make([]string, len(remote))
	for i, r := range remote {
		rcpts[i] = r.given
	}
	ctx, cancel := opContext(deliverTimeout)
	defer cancel()
	qid, err := s.srv.mail.outbound.Enqueue(ctx, tx.from, rcpts, io.MultiReader(bytes.NewReader(sig), bytes.NewReader(received), msg.reader()))
	if err != nil {
		return fmt.Errorf("outbound queue: %w", err)
	}
	log.Info("queued for remote delivery", "queue_id", qid, "rcpts", rcpts, "dkim", len(sig) > 0)
	return nil
}
