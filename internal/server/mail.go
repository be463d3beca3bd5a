package server

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"congvu/directory"
	"congvu/internal/config"
	"congvu/internal/mailerr"
	"congvu/internal/netguard"
	"congvu/msgauth"
	"congvu/outbound"
	"congvu/queue"
	"congvu/resolve"
	"congvu/scan"
	"congvu/smtpd"
	"congvu/storage"
)

// mailParts are the services of mail between servers, as smtpd uses them.
type mailParts struct {
	queue   *queue.Queue
	signer  *msgauth.Signer // our DKIM keys, reloaded on SIGHUP
	deps    smtpd.Deps      // only Outbound, Signer, Inbound are set
	closers []func() error
}

// enqueueFunc hands a message to the outbound queue (for forwarding into state
// domains on other servers); nil while outbound delivery is off.
func (mp *mailParts) enqueueFunc() func(ctx context.Context, from string, rcpts []string, msg io.Reader) error {
	if mp.queue == nil {
		return nil
	}
	return func(ctx context.Context, from string, rcpts []string, msg io.Reader) error {
		_, err := mp.queue.Enqueue(ctx, from, rcpts, msg)
		return err
	}
}

// startMail builds the DKIM keys, the inbound checker, the resolver and,
// when smtp.outbound is on, the outbound queue and its transport.
func startMail(cfg config.Config, r *Running, log *slog.Logger) (_ *mailParts, err error) {
	mp := &mailParts{}
	defer func() {
		if err != nil {
			mp.close()
		}
	}()
	// Our keys sign outgoing mail and are the only judge of inbound mail
	// claiming our domains.
	signer, err := msgauth.LoadSigner(cfg.Path(cfg.DKIM.KeysPath))
	if err != nil {
		return nil, fmt.Errorf("dkim: %w", err)
	}
	mp.signer = signer
	var res resolve.Resolver
	if cfg.SMTP.Outbound || cfg.Inbound.Authenticate {
		if res, err = resolve.New(resolve.Config{Servers: cfg.DNS.Servers, Timeout: time.Duration(cfg.DNS.TimeoutSeconds) * time.Second}); err != nil {
			return nil, err
		}
	}
	in := cfg.Inbound
	mp.deps.Inbound = msgauth.NewChecker(msgauth.CheckerConfig{
		AuthservID:       cmpOr(in.AuthservID, cfg.Server.Hostname),
		LocalDomains:     cfg.Server.LocalDomains,
		ProtectedDomains: in.ProtectedDomains,
		Authenticate:     in.Authenticate,
		DMARCPolicy:      in.DMARCPolicy,
		DMARCExempt:      in.DMARCExemptDomains,
		SpoofAction:      in.SpoofAction,
	}, res, signer, log.With("component", "inbound"))
	mp.deps.Scanner = newScanner(cfg, log)
	if !cfg.SMTP.Outbound {
		return mp, nil
	}
	if cfg.DKIM.Sign {
		mp.deps.Signer = signer
		log.Info("dkim signing", "domains", signer.Domains())
	}
	tr, err := newTransport(cfg, res, r, log)
	if err != nil {
		return nil, err
	}
	mp.closers = append(mp.closers, tr.Close)
	local := localDomains(cfg.Server.LocalDomains)
	q, err := queue.Open(queue.Config{
		Dir:            cfg.Path(cfg.Outbound.QueuePath),
		Hostname:       cfg.Server.Hostname,
		RetryIntervals: cfg.Outbound.RetryIntervals,
		MaxAge:         cfg.Outbound.MaxAge,
		DelayNotice:    cfg.Outbound.DelayNotice,
		MaxConnections: cfg.Outbound.MaxConnections,
		MaxPerDomain:   cfg.Outbound.MaxPerDomain,
	}, queue.Deps{
		Transport: tr,
		Local:     &localDelivery{r: r, hostname: cfg.Server.Hostname},
		IsLocal:   func(d string) bool { return local[d] },
		Logger:    log.With("component", "queue"),
		Metrics:   r.Metrics,
	})
	if err != nil {
		return nil, err
	}
	mp.queue = q
	mp.closers = append(mp.closers, q.Close)
	mp.deps.Outbound = q
	q.Start()
	return mp, nil
}

func (mp *mailParts) close() error {
	var errs []error
	for i := len(mp.closers) - 1; i >= 0; i-- {
		errs = append(errs, mp.closers[i]())
	}
	return errors.Join(errs...)
}

func newTransport(cfg config.Config, res resolve.Resolver, r *Running, log *slog.Logger) (*outbound.Client, error) {
	o := cfg.Outbound
	oc := outbound.Config{
		Hostname:             cmpOr(o.EHLOHostname, cfg.Server.Hostname),
		MTASTS:               o.MTASTS,
		DANE:                 o.DANE,
		Smarthost:            o.Smarthost,
		SmarthostImplicitTLS: o.SmarthostTLS == "tls",
		SmarthostUsername:    o.SmarthostUser,
		IdleTimeout:          o.ConnectionReuse,
	}
	if o.ConnectionReuse == 0 {
		oc.IdleTimeout = -1
	}
	guard, err := netguard.New(o.AllowInternalNetworks)
	if err != nil {
		return nil, fmt.Errorf("outbound.allow_internal_networks: %w", err)
	}
	oc.Guard = guard
	if o.TLSCAFile != "" {
		pem, err := os.ReadFile(cfg.Path(o.TLSCAFile))
		if err != nil {
			return nil, fmt.Errorf("outbound.tls_ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("outbound.tls_ca_file %s: no certificate", o.TLSCAFile)
		}
		oc.RootCAs = pool
	}
	if o.SmarthostPasswordFile != "" {
		b, err := os.ReadFile(cfg.Path(o.SmarthostPasswordFile))
		if err != nil {
			return nil, fmt.Errorf("outbound.smarthost_password_file: %w", err)
		}
		oc.SmarthostPassword = strings.TrimRight(string(b), "\r\n")
	}
	return outbound.New(oc, outbound.Deps{Resolver: res, Logger: log.With("component", "outbound"), Metrics: r.Metrics})
}

// newScanner builds the content scanners of [scan]; nil when none is set
// (a nil interface, not a nil *scan.Scanner, so smtpd sees "off").
func newScanner(cfg config.Config, log *slog.Logger) smtpd.ContentScanner {
	sc := cfg.Scan
	timeout := time.Duration(sc.TimeoutSeconds) * time.Second
	c := scan.Config{ClamAVUnavailable: sc.ClamdUnavailable, RspamdUnavailable: sc.RspamdUnavailable,
		Logger: log.With("component", "scan")}
	if sc.Clamd != "" {
		c.ClamAV = &scan.ClamAV{Addr: sc.Clamd, Timeout: timeout}
	}
	if sc.Rspamd != "" {
		c.Rspamd = &scan.Rspamd{URL: sc.Rspamd, Timeout: timeout}
	}
	s := scan.New(c)
	if s == nil {
		return nil
	}
	log.Info("content scanning", "clamd", sc.Clamd, "rspamd", sc.Rspamd)
	return s
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func localDomains(ds []string) map[string]bool {
	m := map[string]bool{}
	for _, d := range ds {
		m[strings.ToLower(d)] = true
	}
	return m
}

// localDelivery delivers queued mail (notifications) to local mailboxes.
type localDelivery struct {
	r        *Running
	hostname string
}

func (l *localDelivery) DeliverLocal(ctx context.Context, from, rcpt string, msg io.Reader) error {
	acct, err := l.r.Dir.Lookup(ctx, directory.NormalizeAddress(rcpt))
	if err != nil {
		if mailerr.As(err) == nil {
			err = mailerr.ErrDirectoryUnavailable.With(err)
		}
		return err
	}
	if acct.State == directory.StateRetired {
		return mailerr.ErrUnknownUser.With(fmt.Errorf("%s is retired", rcpt))
	}
	// RFC 5321 4.4: the final delivery adds Return-Path and a Received.
	trace := fmt.Sprintf("Return-Path: <%s>\r\nReceived: by %s (congvu queue);\r\n\t%s\r\n", from, l.hostname, time.Now().Format(time.RFC1123Z))
	rules := l.r.rules.Load()
	if rules == nil {
		results, err := l.r.Store.Deliver(ctx, io.MultiReader(bytes.NewReader([]byte(trace)), msg),
			[]storage.Recipient{{User: acct.Address, QuotaBytes: acct.QuotaBytes}})
		if err != nil {
			return err
		}
		return results[0].Err
	}
	body, err := io.ReadAll(msg)
	if err != nil {
		return err
	}
	return deliverWithRules(ctx, l.r.Store, rules, acct, from, rcpt, append([]byte(trace), body...))
}
