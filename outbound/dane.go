package outbound

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"

	"github.com/emersion/go-sasl"

	"congvu/resolve"
)

// danePolicy decides whether DANE applies to an MX host found through a
// DNSSEC-validated MX lookup (RFC 7672 2.2). Without secure address
// records or with no TLSA records, delivery stays opportunistic; a TLSA
// lookup that fails (not "no such record") makes the host unusable, since
// an attacker could be hiding the records.
func (c *Client) danePolicy(ctx context.Context, hostname string) (tlsPolicy, error) {
	opp := tlsPolicy{mode: tlsOpportunistic}
	_, secure, err := c.res.LookupIPSecure(ctx, hostname)
	if err != nil || !secure {
		return opp, nil // RFC 7672 2.2.2; an unresolvable host fails in connect
	}
	name := "_" + strconv.Itoa(c.cfg.Port) + "._tcp." + hostname
	recs, secure, err := c.res.LookupTLSA(ctx, name)
	if resolve.IsNotFound(err) {
		return opp, nil
	}
	if err != nil {
		return opp, fmt.Errorf("TLSA lookup of %s failed: %w", name, err)
	}
	if !secure {
		return opp, nil
	}
	var usable []resolve.TLSA
	for _, r := range recs {
		// RFC 7672 3.1.3: PKIX-TA(0) and PKIX-EE(1) are not used for SMTP.
		if (r.Usage == 2 || r.Usage == 3) && r.Selector <= 1 && r.MatchingType <= 2 {
			usable = append(usable, r)
		}
	}
	// RFC 7672 2.2: TLSA records present but none usable still mean the
	// destination supports TLS: it is required, without authentication.
	return tlsPolicy{mode: tlsDANE, source: "dane", tlsa: usable}, nil
}

// verifyDANE checks a certificate chain against TLSA records (RFC 7672 3.1).
func verifyDANE(chain []*x509.Certificate, recs []resolve.TLSA, hostname string) (string, error) {
	if len(recs) == 0 {
		return "DANE: no usable TLSA record, encrypted without authentication", nil
	}
	leaf := chain[0]
	for _, r := range recs {
		switch r.Usage {
		case 3:
			// RFC 7672 3.1.1: DANE-EE ignores names and expiry.
			if tlsaMatches(leaf, r) {
				return "DANE-EE verified", nil
			}
		case 2:
			// RFC 7672 3.1.2: DANE-TA, the trust anchor is in the chain;
			// the leaf must chain to it and carry the MX host name.
			for _, ta := range chain[1:] {
				if !tlsaMatches(ta, r) {
					continue
				}
				roots, inter := x509.NewCertPool(), x509.NewCertPool()
				roots.AddCert(ta)
				for _, ic := range chain[1:] {
					inter.AddCert(ic)
				}
				if _, err := leaf.Verify(x509.VerifyOptions{DNSName: hostname, Roots: roots, Intermediates: inter}); err == nil {
					return "DANE-TA verified", nil
				}
			}
		}
	}
	return "DANE: no TLSA record matches the certificate", errors.New("DANE: no TLSA record matches the certificate")
}

func tlsaMatches(cert *x509.Certificate, r resolve.TLSA) bool {
	var data []byte
	switch r.Selector {
	case 0:
		data = cert.Raw
	case 1:
		data = cert.RawSubjectPublicKeyInfo
	default:
		return false
	}
	switch r.MatchingType {
	case 0:
		return bytes.Equal(data, r.Data)
	case 1:
		sum := sha256.Sum256(data)
		return bytes.Equal(sum[:], r.Data)
	case 2:
		sum := sha512.Sum512(data)
		return bytes.Equal(sum[:], r.Data)
	}
	return false
}

func plainAuth(user, pass string) sasl.Client { return sasl.NewPlainClient("", user, pass) }
