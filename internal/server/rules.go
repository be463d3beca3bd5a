package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"congvu/directory"
	"congvu/internal/config"
	"congvu/internal/mailerr"
	"congvu/policy"
	"congvu/sieve"
	"congvu/storage"
)

// Delivery rules (Sieve) and vacation replies: the script store shared by
// ManageSieve, the web's vacation settings and delivery, and what the rules
// send (redirects into state domains, vacation replies), DKIM-signed and
// queued like any other mail.

// startRules opens the script store and builds the deliverer smtpd and
// the queue's local delivery apply.
func startRules(cfg config.Config, r *Running, mp *mailParts) (*sieve.Deliverer, error) {
	store, err := sieve.OpenStore(cfg.Path(cfg.Sieve.Path), sieve.Limits{
		MaxScriptBytes: cfg.Sieve.MaxScriptBytes, MaxScripts: cfg.Sieve.MaxScripts})
	if err != nil {
		return nil, err
	}
	send := systemSender(cfg, r, mp)
	return sieve.NewDeliverer(sieve.DelivererOptions{
		Store: store, Mail: r.Store, Send: send, Forward: sieveForwarder{r.Policy},
		Hostname: cfg.Server.Hostname, MaxRedirects: cfg.Sieve.MaxRedirects,
		VacationDefaultDays: cfg.Sieve.VacationDefaultDays, VacationMinDays: cfg.Sieve.VacationMinDays,
		Location: r.Policy.Location(), Logger: r.log.With("component", "sieve"),
	}), nil
}

// systemSender sends what the server writes itself (vacation replies,
// redirects, notices to senders of old addresses): DKIM-signed with the
// From domain's keys and queued, or, with outbound delivery off (the
// quickstart), delivered to local recipients only.
func systemSender(cfg config.Config, r *Running, mp *mailParts) func(ctx context.Context, from string, rcpts []string, msg io.Reader) error {
	local := localDomains(cfg.Server.LocalDomains)
	sign := cfg.DKIM.Sign
	maxBytes := cfg.SMTP.MaxMessageBytes
	return func(ctx context.Context, from string, rcpts []string, msg io.Reader) error {
		b, err := io.ReadAll(io.LimitReader(msg, maxBytes+1))
		if err != nil {
			return err
		}
		if int64(len(b)) > maxBytes {
			return mailerr.ErrTooBig
		}
		if sign {
			sig, err := mp.signer.Sign(bytes.NewReader(b))
			if err != nil {
				return fmt.Errorf("dkim: %w", err)
			}
			b = append(sig, b...)
		}
		if mp.queue != nil {
			_, err := mp.queue.Enqueue(ctx, from, rcpts, bytes.NewReader(b))
			return err
		}
		// Outbound delivery off (the quickstart): local recipients only.
		ld := &localDelivery{r: r, hostname: cfg.Server.Hostname}
		for _, rc := range rcpts {
			at := strings.LastIndexByte(rc, '@')
			if !local[strings.ToLower(rc[at+1:])] {
				return mailerr.ErrOutboundDisabled
			}
			if err := ld.DeliverLocal(ctx, from, rc, bytes.NewReader(b)); err != nil {
				return err
			}
		}
		return nil
	}
}

// deliverWithRules stores a queued message for one local account as its
// rules decide (the queue's local delivery: notifications, forwarded and
// redirected copies, vacation replies between officials).
func deliverWithRules(ctx context.Context, st storage.Store, rules *sieve.Deliverer, acct *directory.Account, from, rcpt string, msg []byte) error {
	open := func() io.Reader { return bytes.NewReader(msg) }
	hdr := msg
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		hdr = msg[:i+4]
	}
	p := rules.Plan(ctx, sieve.Delivery{Account: acct, EnvelopeFrom: from, EnvelopeTo: rcpt, Header: hdr,
		Size: int64(len(msg)), Open: open})
	var copies []storage.Recipient
	for _, t := range p.Targets {
		copies = append(copies, storage.Recipient{User: acct.Address, QuotaBytes: acct.QuotaBytes, Folder: t.Folder, Flags: t.Flags})
	}
	if len(copies) > 0 {
		results, err := st.Deliver(ctx, open(), copies)
		if err != nil {
			return err
		}
		for _, r := range results {
			if r.Err != nil {
				return r.Err
			}
		}
	}
	rules.Finish(ctx, p)
	return nil
}

// sieveForwarder gives Sieve redirects the policy engine's one decision
// on forwarded copies (state domains, groups expanded for the account,
// loops).
type sieveForwarder struct{ e *policy.Engine }

func (f sieveForwarder) ForwardTargets(ctx context.Context, account *directory.Account, target string, through []string) ([]string, []byte, error) {
	c, err := f.e.ForwardTargets(ctx, account, target, through)
	if err != nil {
		return nil, nil, err
	}
	return c.Rcpts, c.Header(account.Address), nil
}
