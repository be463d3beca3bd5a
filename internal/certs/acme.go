package certs

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"

	"congvu/internal/durable"
)

// ACME files in ACMEConfig.Dir.
const (
	accountKeyFile  = "account-key.pem"
	certificateFile = "certificate.pem" // chain and key in one file: replaced in one rename
)

// ACMEConfig configures the ACME client.
type ACMEConfig struct {
	DirectoryURL string
	Email        string
	// Names are the DNS names of the certificate (the first is its
	// subject); each must resolve to this server from the CA, which
	// fetches http-01 answers on port 80 (RFC 8555 §8.3).
	Names []string
	// Dir keeps the account key and the certificate.
	Dir string
	// RenewBefore: renew when less than this is left, or less than a
	// third of the certificate's lifetime, whichever comes first.
	RenewBefore time.Duration
	// HTTPClient talks to the CA (its TLS trust); nil uses the default.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// ACME obtains and renews the certificate with an ACME CA (Let's Encrypt,
// a state CA's ACME service, or pebble in tests) using http-01 challenges
// served by HTTPHandler on the plain HTTP listener.
type ACME struct {
	cfg    ACMEConfig
	mgr    *Manager
	client *acme.Client
	log    *slog.Logger

	mu         sync.Mutex
	challenges map[string]string // request path → key authorization
}

// NewACME loads (or creates) the account key. It contacts nobody.
func NewACME(cfg ACMEConfig, mgr *Manager) (*ACME, error) {
	if cfg.DirectoryURL == "" || len(cfg.Names) == 0 {
		return nil, errors.New("acme: directory URL and names are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RenewBefore <= 0 {
		cfg.RenewBefore = 30 * 24 * time.Hour
	}
	if err := durable.MkdirAll(cfg.Dir); err != nil {
		return nil, err
	}
	key, err := loadOrCreateKey(filepath.Join(cfg.Dir, accountKeyFile))
	if err != nil {
		return nil, fmt.Errorf("acme: account key: %w", err)
	}
	return &ACME{cfg: cfg, mgr: mgr, log: cfg.Logger, challenges: map[string]string{},
		client: &acme.Client{Key: key, DirectoryURL: cfg.DirectoryURL, HTTPClient: cfg.HTTPClient, UserAgent: "congvu"}}, nil
}

// HTTPHandler answers the CA's http-01 requests
// (/.well-known/acme-challenge/TOKEN, RFC 8555 §8.3).
func (a *ACME) HTTPHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		answer, ok := a.challenges[r.URL.Path]
		a.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(answer))
	})
}

// Stored returns the certificate on disk when it covers every name and is
// not expired; SIGHUP reloads from here once ACME is on.
func (a *ACME) Stored() (*tls.Certificate, error) {
	path := filepath.Join(a.cfg.Dir, certificateFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := tls.X509KeyPair(data, data)
	if err != nil {
		return nil, fmt.Errorf("acme: %s: %w", path, err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return nil, err
	}
	c.Leaf = leaf
	for _, n := range a.cfg.Names {
		if leaf.VerifyHostname(n) != nil {
			return nil, fmt.Errorf("acme: stored certificate does not cover %s", n)
		}
	}
	if time.Now().After(leaf.NotAfter) {
		return nil, errors.New("acme: stored certificate expired")
	}
	return &c, nil
}

// renewAt is when a certificate should be replaced.
func (a *ACME) renewAt(leaf *x509.Certificate) time.Time {
	window := min(a.cfg.RenewBefore, leaf.NotAfter.Sub(leaf.NotBefore)/3)
	return leaf.NotAfter.Add(-window)
}

// Run keeps the certificate valid until ctx ends: it presents the stored
// one, obtains a new one when there is none or it is due, and retries
// failures with a growing wait (at most an hour).
func (a *ACME) Run(ctx context.Context) {
	if c, err := a.Stored(); err == nil {
		a.mgr.Install(c, "acme")
		a.mgr.SetSource(a.Stored)
	}
	failures := 0
	for {
		var wait time.Duration
		c, err := a.Stored()
		if err == nil && time.Now().Before(a.renewAt(c.Leaf)) {
			wait = time.Until(a.renewAt(c.Leaf))
		} else {
			c, err = a.obtain(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				failures++
				wait = min(time.Duration(1<<min(failures, 12))*time.Second, time.Hour)
				a.log.Error("acme: could not obtain a certificate", "names", a.cfg.Names, "err", err, "retry_in", wait)
				a.mgr.reloads.WithLabelValues("acme", "error").Inc()
			} else {
				failures = 0
				a.mgr.Install(c, "acme")
				a.mgr.SetSource(a.Stored)
				wait = time.Until(a.renewAt(c.Leaf))
				a.log.Info("acme: certificate obtained", "names", a.cfg.Names,
					"not_after", c.Leaf.NotAfter.UTC().Format(time.RFC3339), "renew_at", a.renewAt(c.Leaf).UTC().Format(time.RFC3339))
			}
		}
		t := time.NewTimer(max(wait, time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// obtain runs one RFC 8555 issuance: account, order, http-01 for every
// authorization, finalize with a new P-256 key, then stores chain and key
// in one file (written and renamed, so a crash leaves the old one).
func (a *ACME) obtain(ctx context.Context) (*tls.Certificate, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	acct := &acme.Account{}
	if a.cfg.Email != "" {
		acct.Contact = []string{"mailto:" + a.cfg.Email}
	}
	if _, err := a.client.Register(ctx, acct, acme.AcceptTOS); err != nil && !errors.Is(err, acme.ErrAccountAlreadyExists) {
		return nil, fmt.Errorf("account: %w", err)
	}
	order, err := a.client.AuthorizeOrder(ctx, acme.DomainIDs(a.cfg.Names...))
	if err != nil {
		return nil, fmt.Errorf("order: %w", err)
	}
	for _, u := range order.AuthzURLs {
		if err := a.authorize(ctx, u); err != nil {
			return nil, err
		}
	}
	if order, err = a.client.WaitOrder(ctx, order.URI); err != nil {
		return nil, fmt.Errorf("order: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: a.cfg.Names[0]}, DNSNames: a.cfg.Names}, key)
	if err != nil {
		return nil, err
	}
	chain, _, err := a.client.CreateOrderCert(ctx, order.FinalizeURL, csr, true)
	if err != nil {
		return nil, fmt.Errorf("finalize: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	var pemData []byte
	for _, der := range chain {
		pemData = append(pemData, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	pemData = append(pemData, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})...)
	if err := durable.WriteFile(a.cfg.Dir, certificateFile, pemData); err != nil {
		return nil, err
	}
	return a.Stored()
}

// authorize completes one authorization with its http-01 challenge.
func (a *ACME) authorize(ctx context.Context, url string) error {
	z, err := a.client.GetAuthorization(ctx, url)
	if err != nil {
		return fmt.Errorf("authorization: %w", err)
	}
	if z.Status == acme.StatusValid {
		return nil
	}
	i := slices.IndexFunc(z.Challenges, func(c *acme.Challenge) bool { return c.Type == "http-01" })
	if i < 0 {
		return fmt.Errorf("authorization of %s: the CA offers no http-01 challenge", z.Identifier.Value)
	}
	chal := z.Challenges[i]
	answer, err := a.client.HTTP01ChallengeResponse(chal.Token)
	if err != nil {
		return err
	}
	path := a.client.HTTP01ChallengePath(chal.Token)
	a.mu.Lock()
	a.challenges[path] = answer
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.challenges, path)
		a.mu.Unlock()
	}()
	if _, err := a.client.Accept(ctx, chal); err != nil {
		return fmt.Errorf("challenge for %s: %w", z.Identifier.Value, err)
	}
	if _, err := a.client.WaitAuthorization(ctx, z.URI); err != nil {
		return fmt.Errorf("authorization of %s: %w", z.Identifier.Value, err)
	}
	return nil
}

// loadOrCreateKey reads a PEM private key, or makes a P-256 one (mode
// 0600, written crash-safely).
func loadOrCreateKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		if err := durable.WriteFile(filepath.Dir(path), filepath.Base(path), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
			return nil, err
		}
		return key, nil
	}
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || !strings.Contains(block.Type, "PRIVATE KEY") {
		return nil, fmt.Errorf("%s: no PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: not a signing key", path)
	}
	return signer, nil
}
