package smime

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"congvu/internal/mimetree"
)

// SignOptions tune signing.
type SignOptions struct {
	// PSS signs with RSASSA-PSS (RFC 4056; TT 39/2017), otherwise PKCS #1
	// v1.5.
	PSS bool
	// Hash is the digest (SHA-256 by default; SHA-384 and SHA-512 too).
	Hash crypto.Hash
	// Now is the signing time (time.Now by default).
	Now time.Time
}

// SignDetached makes a detached CMS SignedData (RFC 5652 5) over content
// with key, whose certificate is chain[0]; the chain is carried in the
// object. The key may live in a token (crypto11): only its Sign is used.
func SignDetached(content []byte, key crypto.Signer, chain []*x509.Certificate, o SignOptions) ([]byte, error) {
	if len(chain) == 0 {
		return nil, errors.New("smime: no signer certificate")
	}
	if o.Hash == 0 {
		o.Hash = crypto.SHA256
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	hashOID, ok := hashOIDs[o.Hash]
	if !ok {
		return nil, fmt.Errorf("smime: hash %v not supported for signing", o.Hash)
	}
	if _, isRSA := key.Public().(*rsa.PublicKey); !isRSA {
		return nil, fmt.Errorf("smime: central signing needs an RSA key, not %T", key.Public())
	}
	cert := chain[0]
	d := o.Hash.New()
	d.Write(content)
	digest := d.Sum(nil)

	// Signed attributes (RFC 5652 11; RFC 8551 2.5), in DER SET OF order.
	attrs := [][]byte{
		attribute(oidContentType, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidData) }),
		attribute(oidSigningTime, func(b *cryptobyte.Builder) { b.AddASN1UTCTime(o.Now.UTC()) }),
		attribute(oidMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(digest) }),
	}
	slices.SortFunc(attrs, bytes.Compare)
	var setB cryptobyte.Builder
	setB.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		for _, a := range attrs {
			b.AddBytes(a)
		}
	})
	signedSet, err := setB.Bytes()
	if err != nil {
		return nil, err
	}
	h := o.Hash.New()
	h.Write(signedSet)
	var opts crypto.SignerOpts = o.Hash
	if o.PSS {
		opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: o.Hash}
	}
	sig, err := key.Sign(rand.Reader, h.Sum(nil), opts)
	if err != nil {
		return nil, fmt.Errorf("smime: signing: %w", err)
	}

	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ContentInfo
		b.AddASN1ObjectIdentifier(oidSignedData)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignedData
				b.AddASN1Int64(1)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { addAlgorithm(b, hashOID, false) })
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidData) })
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					for _, c := range chain {
						b.AddBytes(c.Raw)
					}
				})
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignerInfo
						b.AddASN1Int64(1)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddBytes(cert.RawIssuer)
							b.AddASN1BigInt(cert.SerialNumber)
						})
						addAlgorithm(b, hashOID, false)
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
							for _, a := range attrs {
								b.AddBytes(a)
							}
						})
						if o.PSS {
							b.AddBytes(pssAlgorithm(o.Hash))
						} else {
							addAlgorithm(b, oidRSAEncryption, true)
						}
						b.AddASN1OctetString(sig)
					})
				})
			})
		})
	})
	return b.Bytes()
}

func attribute(oid []int, value func(*cryptobyte.Builder)) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		b.AddASN1(cbasn1.SET, value)
	})
	return b.BytesOrPanic()
}

// micalg names the hash for the multipart/signed micalg parameter
// (RFC 8551 3.5.3.2).
func micalg(h crypto.Hash) string {
	switch h {
	case crypto.SHA384:
		return "sha-384"
	case crypto.SHA512:
		return "sha-512"
	}
	return "sha-256"
}

// SignMessage turns a whole message into an S/MIME clear-signed one
// (RFC 8551 3.5.3): the content header fields (Content-*) and the body
// become the first part of a multipart/signed, the signature the second;
// every other header field stays on top. Leaf parts with 8-bit or binary
// bodies are re-encoded in base64 first (RFC 8551 3.1.2: the signed
// entity must survive 7-bit transports unchanged).
func SignMessage(msg []byte, key crypto.Signer, chain []*x509.Certificate, o SignOptions) ([]byte, error) {
	if o.Hash == 0 {
		o.Hash = crypto.SHA256
	}
	msg = canonicalCRLF(msg)
	hdr, body := splitMessage(msg)
	var top, content []string
	for _, f := range hdr {
		name, _, _ := strings.Cut(f, ":")
		name = strings.ToLower(strings.TrimSpace(name))
		switch {
		case strings.HasPrefix(name, "content-"):
			content = append(content, f)
		case name == "mime-version":
		default:
			top = append(top, f)
		}
	}
	if len(content) == 0 {
		content = []string{"Content-Type: text/plain; charset=us-ascii\r\n"}
	}
	entity := sevenBit(append([]byte(strings.Join(content, "")+"\r\n"), body...))
	p7, err := SignDetached(entity, key, chain, o)
	if err != nil {
		return nil, err
	}
	boundary := "----=_congvu_signed_" + randomToken()
	var out bytes.Buffer
	for _, f := range top {
		out.WriteString(f)
	}
	fmt.Fprintf(&out, "MIME-Version: 1.0\r\nContent-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=%s;\r\n\tboundary=\"%s\"\r\n\r\n", micalg(o.Hash), boundary)
	out.WriteString("This is a digitally signed message (S/MIME). / Thu da duoc ky so.\r\n")
	fmt.Fprintf(&out, "--%s\r\n", boundary)
	out.Write(entity)
	fmt.Fprintf(&out, "\r\n--%s\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\nContent-Transfer-Encoding: base64\r\n"+
		"Content-Disposition: attachment; filename=\"smime.p7s\"\r\nContent-Description: S/MIME Cryptographic Signature\r\n\r\n", boundary)
	enc := base64.StdEncoding.EncodeToString(p7)
	for len(enc) > 76 {
		out.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	out.WriteString(enc + "\r\n")
	fmt.Fprintf(&out, "--%s--\r\n", boundary)
	return out.Bytes(), nil
}

// splitMessage returns the header fields (each with its folded lines and
// CRLF) and the body.
func splitMessage(msg []byte) ([]string, []byte) {
	var fields []string
	rest := msg
	for len(rest) > 0 {
		i := bytes.Index(rest, []byte("\r\n"))
		if i < 0 {
			fields = appendField(fields, string(rest)+"\r\n")
			return fields, nil
		}
		line := rest[:i+2]
		rest = rest[i+2:]
		if i == 0 {
			return fields, rest
		}
		fields = appendField(fields, string(line))
	}
	return fields, nil
}

func appendField(fields []string, line string) []string {
	if (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
		fields[len(fields)-1] += line
		return fields
	}
	return append(fields, line)
}

// sevenBit re-encodes 8-bit leaf bodies of a MIME entity in base64,
// keeping multipart structure and boundaries.
func sevenBit(entity []byte) []byte {
	if !has8bit(entity) {
		return entity
	}
	p := mimetree.Parse(entity, mimetree.Options{})
	return encode7(p)
}

func has8bit(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 || c == 0 {
			return true
		}
	}
	return false
}

func encode7(p *mimetree.Part) []byte {
	if !has8bit(p.Raw) {
		return p.Raw
	}
	if len(p.Children) > 0 {
		var out bytes.Buffer
		out.Write(p.HeaderRaw)
		boundary := p.Params["boundary"]
		for _, c := range p.Children {
			fmt.Fprintf(&out, "--%s\r\n", boundary)
			out.Write(encode7(c))
			out.WriteString("\r\n")
		}
		fmt.Fprintf(&out, "--%s--\r\n", boundary)
		return out.Bytes()
	}
	// A leaf (message/rfc822 included: its 8-bit header cannot be kept).
	body, err := p.Decoded(int64(len(p.Body)) + 1)
	if err != nil {
		body = p.Body
	}
	hdr, _ := splitMessage(p.HeaderRaw)
	var out bytes.Buffer
	for _, f := range hdr {
		if !strings.HasPrefix(strings.ToLower(f), "content-transfer-encoding:") {
			out.WriteString(sanitizeHeader(f))
		}
	}
	out.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(body)
	for len(enc) > 76 {
		out.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	out.WriteString(enc)
	return out.Bytes()
}

// sanitizeHeader keeps a part header field as is when it is 7-bit; an
// 8-bit file name (RFC 2231 says how, clients often do not) is encoded
// as an RFC 2047 word.
func sanitizeHeader(f string) string {
	if !has8bit([]byte(f)) {
		return f
	}
	name, val, _ := strings.Cut(strings.TrimRight(f, "\r\n"), ":")
	return name + ": " + mimeWord(strings.TrimSpace(val)) + "\r\n"
}

func mimeWord(v string) string {
	// Keep parameters readable: encode only quoted values with 8-bit.
	var b strings.Builder
	for {
		i := strings.IndexByte(v, '"')
		if i < 0 {
			b.WriteString(v)
			return b.String()
		}
		j := strings.IndexByte(v[i+1:], '"')
		if j < 0 {
			b.WriteString(v)
			return b.String()
		}
		q := v[i+1 : i+1+j]
		b.WriteString(v[:i])
		if has8bit([]byte(q)) {
			b.WriteString(`"` + mimeBEncode(q) + `"`)
		} else {
			b.WriteString(`"` + q + `"`)
		}
		v = v[i+j+2:]
	}
}

func mimeBEncode(s string) string {
	return "=?utf-8?b?" + base64.StdEncoding.EncodeToString([]byte(s)) + "?="
}

func randomToken() string {
	var b [12]byte
	io.ReadFull(rand.Reader, b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// CertsOnly wraps a certificate (DER) in a degenerate SignedData with no
// signers (RFC 8551 3.6 "certs-only"), the form of userSMIMECertificate
// (RFC 2798).
func CertsOnly(certDER []byte) ([]byte, error) {
	if _, err := x509.ParseCertificate(certDER); err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oidSignedData)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(1)
				b.AddASN1(cbasn1.SET, func(*cryptobyte.Builder) {})
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidData) })
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(certDER) })
				b.AddASN1(cbasn1.SET, func(*cryptobyte.Builder) {})
			})
		})
	})
	return b.Bytes()
}
