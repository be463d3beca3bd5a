package smime

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	_ "crypto/md5" // digest of old signatures, reported as weak
	"crypto/rsa"
	_ "crypto/sha1" // idem
	_ "crypto/sha256"
	_ "crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Why a signature does not verify, before any certificate is looked at.
var (
	// errTampered: the digest or the signature does not match the bytes.
	errTampered = errors.New("smime: signature does not match the content")
	// errUnsupported: an algorithm or parameter we do not implement.
	errUnsupported = errors.New("smime: unsupported algorithm")
	// errNoSignerCert: the signer's certificate is not in the message.
	errNoSignerCert = errors.New("smime: signer certificate not found")
)

// digestHash maps a digest AlgorithmIdentifier to its hash; weak reports
// MD5 and SHA-1 (RFC 8551 2.1: MUST NOT be relied on for new signatures).
func digestHash(a algorithm) (h crypto.Hash, weak bool, err error) {
	switch {
	case a.oid.Equal(oidSHA256):
		return crypto.SHA256, false, nil
	case a.oid.Equal(oidSHA384):
		return crypto.SHA384, false, nil
	case a.oid.Equal(oidSHA512):
		return crypto.SHA512, false, nil
	case a.oid.Equal(oidSHA224):
		return crypto.SHA224, false, nil
	case a.oid.Equal(oidSHA1):
		return crypto.SHA1, true, nil
	case a.oid.Equal(oidMD5):
		return crypto.MD5, true, nil
	}
	return 0, false, fmt.Errorf("%w: digest %s", errUnsupported, a.oid)
}

// findSigner returns the certificate that si names.
func (sd *signedData) findSigner(si *signerInfo, extra []*x509.Certificate) (*x509.Certificate, error) {
	for _, c := range append(append([]*x509.Certificate{}, sd.certificates...), extra...) {
		if si.ski != nil {
			if bytes.Equal(c.SubjectKeyId, si.ski) {
				return c, nil
			}
			continue
		}
		if c.SerialNumber.Cmp(si.serial) == 0 && bytes.Equal(c.RawIssuer, si.issuerRaw) {
			return c, nil
		}
	}
	return nil, errNoSignerCert
}

// checkSigner verifies one SignerInfo over content (RFC 5652 5.6) with the
// signer certificate's key. It returns whether the digest is weak.
func (sd *signedData) checkSigner(si *signerInfo, cert *x509.Certificate, content []byte) (weak bool, err error) {
	h, weak, err := digestHash(si.digestAlg)
	if err != nil {
		return false, err
	}
	d := h.New()
	d.Write(content)
	digest := d.Sum(nil)
	if si.signedAttrs != nil {
		// RFC 5652 11.1, 11.2: the attributes bind the content type and
		// the digest; the signature covers the attributes.
		if !si.contentType.Equal(sd.eContentType) {
			return weak, fmt.Errorf("%w: content-type attribute %s, content %s", errTampered, si.contentType, sd.eContentType)
		}
		if !bytes.Equal(si.messageDigest, digest) {
			return weak, fmt.Errorf("%w: message digest differs", errTampered)
		}
		d = h.New()
		d.Write(si.signedAttrs)
		digest = d.Sum(nil)
	}
	return weak, verifyDigest(cert, si.sigAlg, h, digest, si.signature)
}

// verifyDigest checks a signature value over a digest.
func verifyDigest(cert *x509.Certificate, alg algorithm, h crypto.Hash, digest, sig []byte) error {
	switch {
	case alg.oid.Equal(oidRSAEncryption), alg.oid.Equal(oidSHA256WithRSA), alg.oid.Equal(oidSHA384WithRSA),
		alg.oid.Equal(oidSHA512WithRSA), alg.oid.Equal(oidSHA224WithRSA), alg.oid.Equal(oidSHA1WithRSA), alg.oid.Equal(oidMD5WithRSA):
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("%w: RSA signature with a %T key", errUnsupported, cert.PublicKey)
		}
		if err := rsa.VerifyPKCS1v15(pub, h, digest, sig); err != nil {
			return fmt.Errorf("%w: %v", errTampered, err)
		}
		return nil
	case alg.oid.Equal(oidRSASSAPSS):
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("%w: RSASSA-PSS signature with a %T key", errUnsupported, cert.PublicKey)
		}
		p, err := parsePSSParams(alg.params)
		if err != nil {
			return err
		}
		// RFC 4056 3: the PSS hash must be the digest algorithm.
		if p.hash != h {
			return fmt.Errorf("%w: PSS hash %v differs from digest %v", errUnsupported, p.hash, h)
		}
		if err := rsa.VerifyPSS(pub, h, digest, sig, &rsa.PSSOptions{SaltLength: p.saltLength, Hash: h}); err != nil {
			return fmt.Errorf("%w: %v", errTampered, err)
		}
		return nil
	case alg.oid.Equal(oidECPublicKey), alg.oid.Equal(oidECDSASHA256), alg.oid.Equal(oidECDSASHA384), alg.oid.Equal(oidECDSASHA512):
		pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
		if !ok {
			return fmt.Errorf("%w: ECDSA signature with a %T key", errUnsupported, cert.PublicKey)
		}
		if !ecdsa.VerifyASN1(pub, digest, sig) {
			return fmt.Errorf("%w: ECDSA", errTampered)
		}
		return nil
	}
	return fmt.Errorf("%w: signature algorithm %s", errUnsupported, alg.oid)
}

// pssParams are RSASSA-PSS-params (RFC 4055 3.1).
type pssParams struct {
	hash       crypto.Hash
	saltLength int
}

// parsePSSParams reads RSASSA-PSS-params. The defaults (SHA-1, MGF1 with
// SHA-1, salt 20) are read as SHA-1 and so reported weak by the caller's
// digest check; Go's rsa.VerifyPSS uses the same hash for MGF1, so an
// MGF1 hash other than the signature hash is unsupported.
func parsePSSParams(der []byte) (pssParams, error) {
	p := pssParams{hash: crypto.SHA1, saltLength: 20}
	if der == nil {
		return p, nil
	}
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return p, malformed("RSASSA-PSS-params")
	}
	mgfHash := crypto.SHA1
	var field cryptobyte.String
	var present bool
	if !seq.ReadOptionalASN1(&field, &present, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return p, malformed("PSS hashAlgorithm")
	}
	if present {
		a, err := readAlgorithm(&field)
		if err != nil {
			return p, err
		}
		h, _, err := digestHash(a)
		if err != nil {
			return p, err
		}
		p.hash = h
	}
	if !seq.ReadOptionalASN1(&field, &present, cbasn1.Tag(1).Constructed().ContextSpecific()) {
		return p, malformed("PSS maskGenAlgorithm")
	}
	if present {
		a, err := readAlgorithm(&field)
		if err != nil {
			return p, err
		}
		if !a.oid.Equal(oidMGF1) {
			return p, fmt.Errorf("%w: mask generation %s", errUnsupported, a.oid)
		}
		in := cryptobyte.String(a.params)
		ha, err := readAlgorithm(&in)
		if err != nil {
			return p, err
		}
		if mgfHash, _, err = digestHash(ha); err != nil {
			return p, err
		}
	}
	if !seq.ReadOptionalASN1(&field, &present, cbasn1.Tag(2).Constructed().ContextSpecific()) {
		return p, malformed("PSS saltLength")
	}
	if present {
		var n int
		if !field.ReadASN1Integer(&n) || n < 0 || n > 1024 {
			return p, malformed("PSS saltLength value")
		}
		p.saltLength = n
	}
	if !seq.ReadOptionalASN1(&field, &present, cbasn1.Tag(3).Constructed().ContextSpecific()) {
		return p, malformed("PSS trailerField")
	}
	if present {
		var n int
		if !field.ReadASN1Integer(&n) || n != 1 { // RFC 4055 3.1: must be 1
			return p, fmt.Errorf("%w: PSS trailer field", errUnsupported)
		}
	}
	if mgfHash != p.hash {
		return p, fmt.Errorf("%w: MGF1 hash %v differs from %v", errUnsupported, mgfHash, p.hash)
	}
	return p, nil
}

// pssAlgorithm is the DER AlgorithmIdentifier of RSASSA-PSS with hash h,
// MGF1(h) and a salt as long as the hash (RFC 4055 3.1, RFC 8551 2.2).
func pssAlgorithm(h crypto.Hash) []byte {
	hashOID := hashOIDs[h]
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oidRSASSAPSS)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				addAlgorithm(b, hashOID, true)
			})
			b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(oidMGF1)
					addAlgorithm(b, hashOID, true)
				})
			})
			b.AddASN1(cbasn1.Tag(2).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1Int64(int64(h.Size()))
			})
		})
	})
	return b.BytesOrPanic()
}

var hashOIDs = map[crypto.Hash]asn1.ObjectIdentifier{
	crypto.SHA256: oidSHA256, crypto.SHA384: oidSHA384, crypto.SHA512: oidSHA512,
}

// addAlgorithm writes an AlgorithmIdentifier, with NULL parameters when
// null is set (RFC 5754 2: hash identifiers may carry NULL; OpenSSL does).
func addAlgorithm(b *cryptobyte.Builder, oid asn1.ObjectIdentifier, null bool) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		if null {
			b.AddASN1NULL()
		}
	})
}
