package smime

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// RevocationChecker says whether a certificate chain (leaf first, anchor
// last) is revoked. Check returns nil when nothing is known revoked, an
// error wrapping ErrRevoked when a certificate is, and one wrapping
// ErrRevocationUnknown when the status could not be established and the
// configured offline grace is over.
type RevocationChecker interface {
	Check(ctx context.Context, chain []*x509.Certificate) error
}

// Revocation outcomes.
var (
	ErrRevoked           = errors.New("certificate revoked")
	ErrRevocationUnknown = errors.New("revocation status unavailable")
)

// Government OIDs accepted besides emailProtection in the extended key
// usage of a signer certificate are configured (VerifierConfig.ExtraEKUs);
// anyExtendedKeyUsage is always accepted (RFC 5280 4.2.1.12).
var oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

// VerifierConfig configures a Verifier.
type VerifierConfig struct {
	Trust *TrustStore
	// Revocation may be nil: no revocation checking.
	Revocation RevocationChecker
	// ExtraEKUs are extended key usages that qualify a certificate for
	// signing official mail besides id-kp-emailProtection.
	ExtraEKUs []asn1.ObjectIdentifier
	// ClockSkew is how far a signing time may be in the future.
	ClockSkew time.Duration
	Now       func() time.Time
	Logger    *slog.Logger
}

// Verifier checks CMS signatures against the trust store.
type Verifier struct {
	cfg VerifierConfig
	// chains remembers the chain built for a signer certificate with a
	// trust set, so the next message from the same signer skips
	// x509.Verify (the signature checks of the chain): only the validity
	// times are checked again.
	mu     sync.Mutex
	chains map[chainKey][]*x509.Certificate
}

type chainKey struct {
	leaf  [32]byte
	trust *trustSet
}

// maxCachedChains bounds the chain cache (one per signer certificate).
const maxCachedChains = 4096

// NewVerifier returns a Verifier.
func NewVerifier(cfg VerifierConfig) *Verifier {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ClockSkew == 0 {
		cfg.ClockSkew = 10 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Verifier{cfg: cfg, chains: map[chainKey][]*x509.Certificate{}}
}

// Verified is what Verify found besides the Result.
type Verified struct {
	Result
	// Signer is the signer certificate (nil when not found).
	Signer *x509.Certificate
	// Content is the signed content: the detached content given, or the
	// encapsulated content of an opaque signature (nil when unreadable).
	Content []byte
	// SigningTime is the signing-time attribute (zero when absent).
	SigningTime time.Time
}

// Verify checks a CMS SignedData (BER or DER). detached is the signed
// content for a detached signature (multipart/signed, PDF) and nil for an
// encapsulated one. authors are the message's From and Sender addresses
// for the RFC 8550 3 address check; nil skips it (PDF signatures).
// Result.Part is left for the caller.
func (v *Verifier) Verify(ctx context.Context, p7 []byte, detached []byte, authors []string) Verified {
	sd, err := parseSignedData(p7)
	if err != nil {
		return Verified{Result: resultFor(PermError, err)}
	}
	content := detached
	if content == nil {
		if !sd.hasEContent {
			return Verified{Result: resultFor(PermError, malformed("detached signature without its content"))}
		}
		content = sd.eContent
	}
	out := Verified{Content: content}
	ts := v.cfg.Trust.set()
	// Every signer must verify; the first failure decides (RFC 5652 5.6
	// leaves multiple signers to local policy).
	for i := range sd.signers {
		si := &sd.signers[i]
		cert, err := sd.findSigner(si, ts.intermediates)
		if err != nil {
			return Verified{Result: resultFor(PermError, err), Content: content}
		}
		out.Signer, out.SigningTime = cert, si.signingTime
		out.Result = describe(cert)
		weak, err := sd.checkSigner(si, cert, content)
		if errors.Is(err, errTampered) && detached != nil && hasBareLF(detached) {
			// RFC 8551 3.1.1: the signed form has CRLF line ends; a
			// store or relay may have turned them into LF.
			weak, err = sd.checkSigner(si, cert, canonicalCRLF(detached))
		}
		if err != nil {
			out.Result = withStatus(out.Result, statusOf(err), err)
			return out
		}
		if weak {
			out.Result = withStatus(out.Result, Policy, errWeakDigest)
			return out
		}
		if st, err := v.checkCertificate(ctx, cert, sd.certificates, ts, si.signingTime, authors); err != nil {
			out.Result = withStatus(out.Result, st, err)
			return out
		}
	}
	out.Result.Status = Pass
	return out
}

// Why a signer certificate is not accepted.
var (
	errWeakDigest    = errors.New("weak digest algorithm (MD5 or SHA-1)")
	errExpired       = errors.New("certificate expired or not yet valid at signing time")
	errUntrusted     = errors.New("certificate not issued by a trusted authority")
	errChainInvalid  = errors.New("certificate chain invalid")
	errWrongUsage    = errors.New("certificate not for signing e-mail")
	errAddress       = errors.New("signer address differs from the sender")
	errSignatureTime = errors.New("signing time is in the future")
)

// reasons are the Vietnamese texts of the reasons (the webmail badge
// shows both).
var reasons = []struct {
	err error
	vi  string
}{
	{errWeakDigest, "thuật toán băm yếu (MD5 hoặc SHA-1)"},
	{errExpired, "chứng thư số đã hết hạn hoặc chưa có hiệu lực khi ký"},
	{errUntrusted, "chứng thư số không do tổ chức tin cậy cấp"},
	{errChainInvalid, "chuỗi chứng thư số không hợp lệ"},
	{errWrongUsage, "chứng thư số không dùng để ký thư"},
	{errAddress, "địa chỉ trong chứng thư số khác địa chỉ người gửi"},
	{errSignatureTime, "thời điểm ký ở tương lai"},
	{ErrRevoked, "chứng thư số đã bị thu hồi"},
	{ErrRevocationUnknown, "chưa kiểm tra được tình trạng thu hồi chứng thư số"},
	{errTampered, "chữ ký không khớp với nội dung (nội dung đã bị thay đổi)"},
	{errUnsupported, "thuật toán ký không được hỗ trợ"},
	{errNoSignerCert, "không tìm thấy chứng thư số của người ký"},
	{errMalformed, "chữ ký số không đúng định dạng"},
	{errBER, "chữ ký số không đúng định dạng"},
}

// statusOf maps a signature-level error to its RFC 7281 result.
func statusOf(err error) Status {
	switch {
	case errors.Is(err, errTampered):
		return Fail
	case errors.Is(err, ErrRevocationUnknown):
		return TempError
	case errors.Is(err, errUntrusted), errors.Is(err, errChainInvalid):
		return Neutral
	case errors.Is(err, ErrRevoked), errors.Is(err, errExpired), errors.Is(err, errWrongUsage),
		errors.Is(err, errAddress), errors.Is(err, errWeakDigest), errors.Is(err, errSignatureTime):
		return Policy
	}
	return PermError
}

// reasonOf returns the short English and Vietnamese reasons of err: the
// sentinel's text, not the details (those go to the log).
func reasonOf(err error) (en, vi string) {
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.err.Error(), r.vi
		}
	}
	return "signature could not be checked", "không kiểm tra được chữ ký số"
}

func resultFor(st Status, err error) Result {
	return withStatus(Result{}, st, err)
}

func withStatus(r Result, st Status, err error) Result {
	r.Status = st
	r.Reason, r.ReasonVI = reasonOf(err)
	return r
}

// describe fills the signer fields of a Result from its certificate.
func describe(c *x509.Certificate) Result {
	r := Result{Serial: strings.ToUpper(c.SerialNumber.Text(16)), Issuer: c.Issuer.String(),
		SignerName: c.Subject.CommonName}
	if len(c.Subject.Organization) > 0 {
		r.Organization = c.Subject.Organization[0]
	}
	if as := CertificateAddresses(c); len(as) > 0 {
		r.Identifier = as[0]
	}
	return r
}

// CertificateAddresses returns the mail addresses a certificate names:
// rfc822Name alternative names, then emailAddress attributes of the
// subject (RFC 8550 3), lower case.
func CertificateAddresses(c *x509.Certificate) []string {
	var out []string
	add := func(a string) {
		a = strings.ToLower(strings.TrimSpace(a))
		for _, x := range out {
			if x == a {
				return
			}
		}
		if a != "" {
			out = append(out, a)
		}
	}
	for _, a := range c.EmailAddresses {
		add(a)
	}
	for _, n := range c.Subject.Names {
		if n.Type.Equal(oidEmailAddress) {
			if s, ok := n.Value.(string); ok {
				add(s)
			}
		}
	}
	return out
}

// checkCertificate validates the signer certificate: chain to a trust
// anchor at signing time, key usage, revocation, and the address.
func (v *Verifier) checkCertificate(ctx context.Context, cert *x509.Certificate, carried []*x509.Certificate, ts *trustSet,
	signingTime time.Time, authors []string) (Status, error) {
	now := v.cfg.Now()
	at := now
	if !signingTime.IsZero() {
		if signingTime.After(now.Add(v.cfg.ClockSkew)) {
			return Policy, fmt.Errorf("%w: %s", errSignatureTime, signingTime)
		}
		at = signingTime
	}
	chain, err := v.chain(cert, carried, ts, at)
	if err != nil {
		var inv x509.CertificateInvalidError
		var unk x509.UnknownAuthorityError
		switch {
		case errors.As(err, &inv) && inv.Reason == x509.Expired:
			return Policy, fmt.Errorf("%w: %v", errExpired, err)
		case errors.As(err, &unk):
			return Neutral, fmt.Errorf("%w: %v", errUntrusted, err)
		}
		return Neutral, fmt.Errorf("%w: %v", errChainInvalid, err)
	}
	if err := v.checkUsage(cert); err != nil {
		return Policy, err
	}
	if v.cfg.Revocation != nil {
		if err := v.cfg.Revocation.Check(ctx, chain); err != nil {
			return statusOf(err), err
		}
	}
	if len(authors) > 0 {
		// RFC 8550 3: the From or Sender address must be one the
		// certificate names, if it names any (an organisation
		// certificate may name none).
		names := CertificateAddresses(cert)
		if len(names) > 0 && !anyEqualFold(names, authors) {
			return Policy, fmt.Errorf("%w: certificate %v, message %v", errAddress, names, authors)
		}
	}
	return Pass, nil
}

// chain returns a verified chain from cert to a trust anchor at time at,
// from the cache when the signer was seen with the same trust set.
func (v *Verifier) chain(cert *x509.Certificate, carried []*x509.Certificate, ts *trustSet, at time.Time) ([]*x509.Certificate, error) {
	key := chainKey{leaf: sha256.Sum256(cert.Raw), trust: ts}
	v.mu.Lock()
	cached := v.chains[key]
	v.mu.Unlock()
	if cached != nil {
		valid := true
		for _, c := range cached {
			valid = valid && !at.Before(c.NotBefore) && !at.After(c.NotAfter)
		}
		if valid {
			return cached, nil
		}
	}
	inter := x509.NewCertPool()
	for _, c := range carried {
		inter.AddCert(c)
	}
	for _, c := range ts.intermediates {
		inter.AddCert(c)
	}
	chains, err := cert.Verify(x509.VerifyOptions{Roots: ts.roots, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	if len(v.chains) >= maxCachedChains {
		clear(v.chains) // rare: thousands of distinct signers; start over
	}
	v.chains[key] = chains[0]
	v.mu.Unlock()
	return chains[0], nil
}

// checkUsage applies RFC 8550 4.4.2 and 4.4.4: a key usage, when present,
// must allow digitalSignature or nonRepudiation; an extended key usage,
// when present, must include emailProtection, anyExtendedKeyUsage or a
// configured Government usage.
func (v *Verifier) checkUsage(c *x509.Certificate) error {
	if c.KeyUsage != 0 && c.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		return fmt.Errorf("%w: key usage %b", errWrongUsage, c.KeyUsage)
	}
	if len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0 {
		return nil
	}
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageEmailProtection || u == x509.ExtKeyUsageAny {
			return nil
		}
	}
	for _, u := range c.UnknownExtKeyUsage {
		for _, ok := range v.cfg.ExtraEKUs {
			if u.Equal(ok) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: extended key usage %v %v", errWrongUsage, c.ExtKeyUsage, c.UnknownExtKeyUsage)
}

func anyEqualFold(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if strings.EqualFold(x, strings.TrimSpace(y)) {
				return true
			}
		}
	}
	return false
}

func hasBareLF(b []byte) bool {
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			return true
		}
	}
	return false
}

// canonicalCRLF turns every bare LF into CRLF (RFC 8551 3.1.1).
func canonicalCRLF(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/40)
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

// CheckCertificate validates a certificate as a signer certificate now:
// chain to a trust anchor (with the given intermediates), key usage,
// revocation, and, when address is set, that the certificate names it
// (if it names any). `congvu cert import` publishes only what passes.
func (v *Verifier) CheckCertificate(ctx context.Context, cert *x509.Certificate, intermediates []*x509.Certificate, address string) Result {
	r := describe(cert)
	var authors []string
	if address != "" {
		authors = []string{address}
	}
	st, err := v.checkCertificate(ctx, cert, intermediates, v.cfg.Trust.set(), time.Time{}, authors)
	if err != nil {
		return withStatus(r, st, err)
	}
	r.Status = Pass
	return r
}
