package smtpd

import (
	"bytes"
	"context"
	"io"

	"congvu/internal/bufsize"
	"congvu/sieve"
	"congvu/storage"
)

// Rules applies each local recipient's delivery rules (the Sieve script,
// package sieve) before the message is stored: which folders, which
// flags, or none; then, once it is stored, what the rules send
// (redirects, vacation replies). *sieve.Deliverer implements it.
type Rules interface {
	Plan(ctx context.Context, d sieve.Delivery) *sieve.Plan
	Finish(ctx context.Context, p *sieve.Plan)
}

// maxRulesHeader bounds the header block the rules look at.
const maxRulesHeader = 256 << 10

// storeWithRules stores the message for rcpts (one per local recipient of
// tx, in order) as their rules decide, and returns one result per
// recipient: a recipient fails when any of its copies failed; a message a
// rule discarded counts as delivered (RFC 5228 4.4: discarding is the
// user's decision, not a failure).
func (s *session) storeWithRules(ctx context.Context, tx transaction, open func() io.Reader, size int64, rcpts []storage.Recipient) ([]storage.DeliveryResult, error) {
	rules := s.srv.rules
	if rules == nil {
		return s.srv.store.Deliver(ctx, open(), rcpts)
	}
	header := readHeader(open(), s.srv.readers)
	plans := make([]*sieve.Plan, len(rcpts))
	var copies []storage.Recipient
	var owner []int
	for i, rc := range rcpts {
		plans[i] = rules.Plan(ctx, sieve.Delivery{Account: tx.rcpts[i].account, EnvelopeFrom: tx.from,
			EnvelopeTo: tx.rcpts[i].given, Header: header, Size: size, DefaultFolder: rc.Folder, Open: open})
		for _, t := range plans[i].Targets {
			copies = append(copies, storage.Recipient{User: rc.User, QuotaBytes: rc.QuotaBytes, Folder: t.Folder, Flags: t.Flags})
			owner = append(owner, i)
		}
	}
	results := make([]storage.DeliveryResult, len(rcpts))
	if len(copies) > 0 {
		res, err := s.srv.store.Deliver(ctx, open(), copies)
		if err != nil {
			return nil, err
		}
		stored := make([]bool, len(rcpts))
		for j, r := range res {
			i := owner[j]
			switch {
			case r.Err != nil && results[i].Err == nil:
				results[i] = r
			case r.Err == nil && !stored[i] && results[i].Err == nil:
				results[i] = r // the first copy's UID is the one logged
			}
			stored[i] = stored[i] || r.Err == nil
		}
	}
	for i, p := range plans {
		if results[i].Err == nil {
			rules.Finish(ctx, p)
		}
	}
	return results, nil
}

// readHeader returns the header block at the start of r, reading through
// a reader from readers.
func readHeader(r io.Reader, readers *bufsize.Pool) []byte {
	br := readers.Get(io.LimitReader(r, maxRulesHeader))
	defer readers.Put(br)
	var b bytes.Buffer
	for {
		line, err := br.ReadSlice('\n')
		b.Write(line)
		if err != nil || len(bytes.TrimRight(line, "\r\n")) == 0 {
			return b.Bytes()
		}
	}
}
