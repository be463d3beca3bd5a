package smime

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"

	"congvu/internal/durable"
)

// RevocationConfig configures a Revocation checker.
type RevocationConfig struct {
	// CRL and OCSP turn the two sources on. OCSP is asked first when a
	// certificate names a responder (RFC 6960); the CRL (RFC 5280 5) is
	// the fallback and the source for certificates without one.
	CRL, OCSP bool
	// CacheDir keeps fetched CRLs, so a restart or an outage of the CA
	// does not lose them.
	CacheDir string
	// OfflineGrace: a CRL past its nextUpdate is still used this long
	// when a fresh one cannot be fetched.
	OfflineGrace time.Duration
	// Timeout bounds one fetch.
	Timeout time.Duration
	// Client makes the requests (default: a client with Timeout).
	Client *http.Client
	Now    func() time.Time
	Logger *slog.Logger
}

// Revocation checks certificate chains against CRLs and OCSP responders.
// It is safe for concurrent use; answers are cached in memory until their
// next update, CRLs on disk too.
type Revocation struct {
	cfg RevocationConfig

	mu   sync.Mutex
	crls map[string]*cachedCRL // by URL
	ocsp map[string]ocspAnswer // by issuer+serial
	// fetching serialises fetches of one URL.
	fetching map[string]*sync.Mutex
}

type cachedCRL struct {
	list    *x509.RevocationList
	fetched time.Time
	revoked map[string]bool // serial (hex) → revoked
}

type ocspAnswer struct {
	status int
	until  time.Time
}

// maxCRLBytes bounds a downloaded CRL.
const maxCRLBytes = 32 << 20

// NewRevocation returns a checker.
func NewRevocation(cfg RevocationConfig) (*Revocation, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.CacheDir != "" {
		if err := durable.MkdirAll(cfg.CacheDir); err != nil {
			return nil, err
		}
	}
	return &Revocation{cfg: cfg, crls: map[string]*cachedCRL{}, ocsp: map[string]ocspAnswer{}, fetching: map[string]*sync.Mutex{}}, nil
}

// Check implements RevocationChecker: every certificate of the chain but
// the trust anchor is checked with its issuer.
func (r *Revocation) Check(ctx context.Context, chain []*x509.Certificate) error {
	for i := 0; i+1 < len(chain); i++ {
		if err := r.checkOne(ctx, chain[i], chain[i+1]); err != nil {
			return err
		}
	}
	return nil
}

func (r *Revocation) checkOne(ctx context.Context, cert, issuer *x509.Certificate) error {
	serial := strings.ToUpper(cert.SerialNumber.Text(16))
	var lastErr error
	if r.cfg.OCSP && len(cert.OCSPServer) > 0 {
		status, err := r.askOCSP(ctx, cert, issuer)
		switch {
		case err == nil && status == ocsp.Revoked:
			return fmt.Errorf("%w: serial %s (OCSP)", ErrRevoked, serial)
		case err == nil && status == ocsp.Good:
			return nil
		case err != nil:
			lastErr = err
			r.cfg.Logger.Info("OCSP unavailable, trying the CRL", "serial", serial, "err", err)
		}
	}
	if r.cfg.CRL && len(cert.CRLDistributionPoints) > 0 {
		for _, url := range cert.CRLDistributionPoints {
			crl, err := r.crl(ctx, url, issuer)
			if err != nil {
				lastErr = err
				continue
			}
			if crl.revoked[serial] {
				return fmt.Errorf("%w: serial %s (CRL %s)", ErrRevoked, serial, url)
			}
			return nil
		}
	}
	if lastErr != nil {
		return fmt.Errorf("%w: %v", ErrRevocationUnknown, lastErr)
	}
	// The certificate names no source we use: nothing says it is revoked.
	return nil
}

// askOCSP asks the certificate's responders (RFC 6960, HTTP POST per
// A.1), caching the answer until its nextUpdate.
func (r *Revocation) askOCSP(ctx context.Context, cert, issuer *x509.Certificate) (int, error) {
	key := hex.EncodeToString(issuer.SubjectKeyId) + "/" + cert.SerialNumber.Text(16)
	now := r.cfg.Now()
	r.mu.Lock()
	if a, ok := r.ocsp[key]; ok && now.Before(a.until) {
		r.mu.Unlock()
		return a.status, nil
	}
	r.mu.Unlock()
	req, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: crypto.SHA256})
	if err != nil {
		return 0, err
	}
	var lastErr error
	for _, url := range cert.OCSPServer {
		if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
			continue
		}
		body, err := r.fetch(ctx, http.MethodPost, url, req)
		if err != nil {
			lastErr = err
			continue
		}
		resp, err := parseOCSP(body, cert, issuer)
		if err != nil {
			lastErr = err
			continue
		}
		// RFC 6960 4.2.2.1: a response past its nextUpdate is not used.
		if !resp.NextUpdate.IsZero() && now.After(resp.NextUpdate) {
			lastErr = errors.New("stale OCSP response")
			continue
		}
		until := resp.NextUpdate
		if until.IsZero() || until.Sub(now) > time.Hour {
			until = now.Add(time.Hour)
		}
		if resp.Status != ocsp.Unknown {
			r.mu.Lock()
			r.ocsp[key] = ocspAnswer{status: resp.Status, until: until}
			r.mu.Unlock()
			return resp.Status, nil
		}
		lastErr = errors.New("OCSP responder does not know the certificate")
	}
	if lastErr == nil {
		lastErr = errors.New("no usable OCSP responder")
	}
	return 0, lastErr
}

// parseOCSP reads an OCSP response and checks who signed it (RFC 6960
// 4.2.2.2): the issuer itself, with or without its certificate in the
// response (x/crypto/ocsp alone rejects the issuer's own certificate
// embedded, which OpenSSL's responder sends), or a delegated responder
// certified by the issuer for OCSP signing.
func parseOCSP(body []byte, cert, issuer *x509.Certificate) (*ocsp.Response, error) {
	resp, err := ocsp.ParseResponse(body, nil)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.Certificate == nil || bytes.Equal(resp.Certificate.Raw, issuer.Raw):
		if err := resp.CheckSignatureFrom(issuer); err != nil {
			return nil, fmt.Errorf("OCSP response not signed by the issuer: %w", err)
		}
	default:
		if err := resp.Certificate.CheckSignatureFrom(issuer); err != nil {
			return nil, fmt.Errorf("OCSP responder not certified by the issuer: %w", err)
		}
		ok := false
		for _, u := range resp.Certificate.ExtKeyUsage {
			ok = ok || u == x509.ExtKeyUsageOCSPSigning
		}
		if !ok {
			return nil, errors.New("OCSP responder certificate lacks id-kp-OCSPSigning")
		}
	}
	if resp.SerialNumber == nil || resp.SerialNumber.Cmp(cert.SerialNumber) != 0 {
		return nil, errors.New("OCSP response is about another certificate")
	}
	return resp, nil
}

// crl returns the CRL at url signed by issuer: from memory while fresh,
// fetched otherwise (and kept on disk), or the last one within the
// offline grace when the fetch fails.
func (r *Revocation) crl(ctx context.Context, url string, issuer *x509.Certificate) (*cachedCRL, error) {
	now := r.cfg.Now()
	r.mu.Lock()
	c := r.crls[url]
	lock := r.fetching[url]
	if lock == nil {
		lock = &sync.Mutex{}
		r.fetching[url] = lock
	}
	r.mu.Unlock()
	if c == nil {
		c = r.loadCached(url, issuer)
	}
	if c != nil && now.Before(c.list.NextUpdate) {
		return c, nil
	}
	lock.Lock()
	defer lock.Unlock()
	r.mu.Lock()
	if fresh := r.crls[url]; fresh != nil && now.Before(fresh.list.NextUpdate) {
		r.mu.Unlock()
		return fresh, nil
	}
	r.mu.Unlock()
	fetched, err := r.download(ctx, url, issuer)
	if err == nil {
		return fetched, nil
	}
	if c != nil && now.Before(c.list.NextUpdate.Add(r.cfg.OfflineGrace)) {
		r.cfg.Logger.Warn("CRL fetch failed, using the cached CRL within the offline grace", "url", url, "err", err,
			"next_update", c.list.NextUpdate)
		return c, nil
	}
	return nil, fmt.Errorf("CRL %s: %w", url, err)
}

func (r *Revocation) download(ctx context.Context, url string, issuer *x509.Certificate) (*cachedCRL, error) {
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return nil, fmt.Errorf("unsupported CRL location %q", url)
	}
	body, err := r.fetch(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	c, err := parseCRL(body, issuer)
	if err != nil {
		return nil, err
	}
	c.fetched = r.cfg.Now()
	r.mu.Lock()
	r.crls[url] = c
	r.mu.Unlock()
	if r.cfg.CacheDir != "" {
		dir, name := filepath.Split(r.cachePath(url))
		if err := durable.WriteFile(dir, name, body); err != nil {
			r.cfg.Logger.Warn("cannot cache CRL", "url", url, "err", err)
		}
	}
	return c, nil
}

// loadCached reads the disk copy of a CRL (after a restart).
func (r *Revocation) loadCached(url string, issuer *x509.Certificate) *cachedCRL {
	if r.cfg.CacheDir == "" {
		return nil
	}
	b, err := os.ReadFile(r.cachePath(url))
	if err != nil {
		return nil
	}
	c, err := parseCRL(b, issuer)
	if err != nil {
		return nil
	}
	r.mu.Lock()
	r.crls[url] = c
	r.mu.Unlock()
	return c
}

func (r *Revocation) cachePath(url string) string {
	h := sha256.Sum256([]byte(url))
	return filepath.Join(r.cfg.CacheDir, hex.EncodeToString(h[:16])+".crl")
}

// parseCRL reads a DER or PEM CRL and checks its signature by issuer.
func parseCRL(b []byte, issuer *x509.Certificate) (*cachedCRL, error) {
	if blk, _ := pem.Decode(b); blk != nil && blk.Type == "X509 CRL" {
		b = blk.Bytes
	}
	list, err := x509.ParseRevocationList(b)
	if err != nil {
		return nil, err
	}
	if err := list.CheckSignatureFrom(issuer); err != nil {
		return nil, fmt.Errorf("CRL not signed by %s: %w", issuer.Subject, err)
	}
	c := &cachedCRL{list: list, revoked: make(map[string]bool, len(list.RevokedCertificateEntries))}
	for _, e := range list.RevokedCertificateEntries {
		c.revoked[strings.ToUpper(e.SerialNumber.Text(16))] = true
	}
	return c, nil
}

func (r *Revocation) fetch(ctx context.Context, method, url string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/ocsp-request")
	}
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %s", method, url, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxCRLBytes+1))
	if len(b) > maxCRLBytes {
		return nil, fmt.Errorf("%s: answer over %d bytes", url, maxCRLBytes)
	}
	return b, err
}
