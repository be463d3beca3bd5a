package smime

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// A small CMS SignedData reader (RFC 5652 5), enough for S/MIME (RFC 8551)
// and PDF signatures: no library served to this project verifies CMS with
// RSASSA-PSS (see the README).

// Object identifiers (RFC 5652, RFC 8017, RFC 5754, RFC 4055, RFC 5758).
var (
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidSMIMECaps     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 15}

	oidMD5    = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 5}
	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA224 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	oidRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidMD5WithRSA    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 4}
	oidSHA1WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}
	oidSHA256WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidSHA224WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 14}
	oidRSASSAPSS     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidMGF1          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	oidECPublicKey   = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidECDSASHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSASHA384   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSASHA512   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
)

// Limits on what one SignedData may carry.
const (
	maxCMSBytes       = 64 << 20
	maxCertificates   = 64
	maxSignerInfos    = 16
	maxSignedAttrs    = 64
	maxDigestAlgs     = 16
	maxSignatureBytes = 2048
)

// errMalformed marks a structure that is not a SignedData we can read.
var errMalformed = errors.New("smime: malformed CMS")

func malformed(what string) error { return fmt.Errorf("%w: %s", errMalformed, what) }

// signedData is a parsed SignedData (RFC 5652 5.1).
type signedData struct {
	eContentType asn1.ObjectIdentifier
	// eContent is the encapsulated content; nil when detached.
	eContent     []byte
	hasEContent  bool
	certificates []*x509.Certificate
	signers      []signerInfo
}

// algorithm is an AlgorithmIdentifier (RFC 5280 4.1.1.2).
type algorithm struct {
	oid    asn1.ObjectIdentifier
	params []byte // DER of the parameters, nil when absent
}

// signerInfo is RFC 5652 5.3.
type signerInfo struct {
	// sid: IssuerAndSerialNumber (issuerRaw, serial) or a
	// SubjectKeyIdentifier (ski).
	issuerRaw []byte
	serial    *big.Int
	ski       []byte

	digestAlg algorithm
	// signedAttrs is the DER SET OF the signed attributes as hashed
	// (RFC 5652 5.4: with the SET OF tag, not the [0] IMPLICIT tag);
	// nil when there are none.
	signedAttrs   []byte
	contentType   asn1.ObjectIdentifier
	messageDigest []byte
	signingTime   time.Time
	sigAlg        algorithm
	signature     []byte
}

// parseSignedData reads a ContentInfo holding a SignedData (BER or DER).
func parseSignedData(ber []byte) (*signedData, error) {
	if len(ber) > maxCMSBytes {
		return nil, malformed("too large")
	}
	der, err := toDER(ber)
	if err != nil {
		return nil, err
	}
	in := cryptobyte.String(der)
	var ci, content cryptobyte.String
	var ctype asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) ||
		!ci.ReadASN1ObjectIdentifier(&ctype) ||
		!ci.ReadASN1(&content, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, malformed("ContentInfo")
	}
	if !ctype.Equal(oidSignedData) {
		return nil, malformed("content type is not signedData")
	}
	var sd cryptobyte.String
	if !content.ReadASN1(&sd, cbasn1.SEQUENCE) {
		return nil, malformed("SignedData")
	}
	var version int
	var digestAlgs, eci cryptobyte.String
	if !sd.ReadASN1Integer(&version) || !sd.ReadASN1(&digestAlgs, cbasn1.SET) || !sd.ReadASN1(&eci, cbasn1.SEQUENCE) {
		return nil, malformed("SignedData header")
	}
	out := &signedData{}
	for n := 0; !digestAlgs.Empty(); n++ {
		var a cryptobyte.String
		if n >= maxDigestAlgs || !digestAlgs.ReadASN1(&a, cbasn1.SEQUENCE) {
			return nil, malformed("digestAlgorithms")
		}
	}
	if !eci.ReadASN1ObjectIdentifier(&out.eContentType) {
		return nil, malformed("encapContentInfo")
	}
	var ec cryptobyte.String
	var hasEC bool
	if !eci.ReadOptionalASN1(&ec, &hasEC, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, malformed("eContent")
	}
	if hasEC {
		var octets cryptobyte.String
		if !ec.ReadASN1(&octets, cbasn1.OCTET_STRING) {
			return nil, malformed("eContent OCTET STRING")
		}
		out.eContent, out.hasEContent = octets, true
	}
	var certs cryptobyte.String
	var hasCerts bool
	if !sd.ReadOptionalASN1(&certs, &hasCerts, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, malformed("certificates")
	}
	for hasCerts && !certs.Empty() {
		var raw cryptobyte.String
		var tag cbasn1.Tag
		if !certs.ReadAnyASN1Element(&raw, &tag) {
			return nil, malformed("certificate")
		}
		if tag != cbasn1.SEQUENCE {
			continue // other CertificateChoices (attribute certificates): not ours
		}
		if len(out.certificates) >= maxCertificates {
			return nil, malformed("too many certificates")
		}
		c, err := x509.ParseCertificate(raw)
		if err != nil {
			continue // an unreadable extra certificate does not spoil the signature
		}
		out.certificates = append(out.certificates, c)
	}
	var crls cryptobyte.String
	var hasCRLs bool
	if !sd.ReadOptionalASN1(&crls, &hasCRLs, cbasn1.Tag(1).Constructed().ContextSpecific()) {
		return nil, malformed("crls")
	}
	var sis cryptobyte.String
	if !sd.ReadASN1(&sis, cbasn1.SET) {
		return nil, malformed("signerInfos")
	}
	for !sis.Empty() {
		if len(out.signers) >= maxSignerInfos {
			return nil, malformed("too many signers")
		}
		var si cryptobyte.String
		if !sis.ReadASN1(&si, cbasn1.SEQUENCE) {
			return nil, malformed("SignerInfo")
		}
		s, err := parseSignerInfo(si)
		if err != nil {
			return nil, err
		}
		out.signers = append(out.signers, s)
	}
	if len(out.signers) == 0 {
		return nil, malformed("no signer")
	}
	return out, nil
}

func parseSignerInfo(si cryptobyte.String) (signerInfo, error) {
	var s signerInfo
	var version int
	if !si.ReadASN1Integer(&version) {
		return s, malformed("SignerInfo version")
	}
	var sid cryptobyte.String
	var tag cbasn1.Tag
	if !si.ReadAnyASN1(&sid, &tag) {
		return s, malformed("SignerIdentifier")
	}
	switch tag {
	case cbasn1.SEQUENCE: // IssuerAndSerialNumber
		var issuer cryptobyte.String
		s.serial = new(big.Int)
		if !sid.ReadASN1Element(&issuer, cbasn1.SEQUENCE) || !sid.ReadASN1Integer(s.serial) {
			return s, malformed("IssuerAndSerialNumber")
		}
		s.issuerRaw = issuer
	case cbasn1.Tag(0).ContextSpecific(): // [0] SubjectKeyIdentifier
		s.ski = sid
	default:
		return s, malformed("SignerIdentifier choice")
	}
	var err error
	if s.digestAlg, err = readAlgorithm(&si); err != nil {
		return s, err
	}
	var attrs cryptobyte.String
	var hasAttrs bool
	if !si.ReadOptionalASN1(&attrs, &hasAttrs, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return s, malformed("signedAttrs")
	}
	if hasAttrs {
		// RFC 5652 5.4: the DER encoding of the SET OF is what is signed.
		s.signedAttrs = encodeTLV([]byte{0x31}, attrs)
		if err := s.readSignedAttrs(attrs); err != nil {
			return s, err
		}
	}
	if s.sigAlg, err = readAlgorithm(&si); err != nil {
		return s, err
	}
	var sig cryptobyte.String
	if !si.ReadASN1(&sig, cbasn1.OCTET_STRING) || len(sig) == 0 || len(sig) > maxSignatureBytes {
		return s, malformed("signature")
	}
	s.signature = sig
	return s, nil
}

func readAlgorithm(s *cryptobyte.String) (algorithm, error) {
	var a algorithm
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1ObjectIdentifier(&a.oid) {
		return a, malformed("AlgorithmIdentifier")
	}
	if !seq.Empty() {
		var p cryptobyte.String
		var tag cbasn1.Tag
		if !seq.ReadAnyASN1Element(&p, &tag) {
			return a, malformed("AlgorithmIdentifier parameters")
		}
		if tag != cbasn1.NULL {
			a.params = p
		}
	}
	return a, nil
}

// readSignedAttrs picks the attributes verification needs (RFC 5652
// 11.1-11.3); each must appear once with one value.
func (s *signerInfo) readSignedAttrs(attrs cryptobyte.String) error {
	seen := map[string]bool{}
	for n := 0; !attrs.Empty(); n++ {
		var attr, values cryptobyte.String
		var oid asn1.ObjectIdentifier
		if n >= maxSignedAttrs || !attrs.ReadASN1(&attr, cbasn1.SEQUENCE) ||
			!attr.ReadASN1ObjectIdentifier(&oid) || !attr.ReadASN1(&values, cbasn1.SET) {
			return malformed("signed attribute")
		}
		key := oid.String()
		if seen[key] && (oid.Equal(oidContentType) || oid.Equal(oidMessageDigest) || oid.Equal(oidSigningTime)) {
			return malformed("repeated signed attribute " + key)
		}
		seen[key] = true
		switch {
		case oid.Equal(oidContentType):
			if !values.ReadASN1ObjectIdentifier(&s.contentType) || !values.Empty() {
				return malformed("content-type attribute")
			}
		case oid.Equal(oidMessageDigest):
			var d cryptobyte.String
			if !values.ReadASN1(&d, cbasn1.OCTET_STRING) || !values.Empty() {
				return malformed("message-digest attribute")
			}
			s.messageDigest = d
		case oid.Equal(oidSigningTime):
			var t time.Time
			switch {
			case values.PeekASN1Tag(cbasn1.UTCTime):
				if !values.ReadASN1UTCTime(&t) {
					return malformed("signing-time attribute")
				}
			case values.PeekASN1Tag(cbasn1.GeneralizedTime):
				if !values.ReadASN1GeneralizedTime(&t) {
					return malformed("signing-time attribute")
				}
			default:
				return malformed("signing-time attribute")
			}
			s.signingTime = t
		}
	}
	if s.contentType == nil || s.messageDigest == nil {
		// RFC 5652 5.3: both are required when signed attributes exist.
		return malformed("signed attributes without content-type or message-digest")
	}
	return nil
}
