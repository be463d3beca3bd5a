package msgauth

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-msgauth/dkim"
)

// signedHeaders are the fields covered by our signatures (RFC 6376 5.4.1).
// From is listed twice: the second instance, absent from the message,
// makes adding a From field afterwards break the signature (RFC 6376
// 8.15, "oversigning"). Listing absent fields is allowed (5.4.2).
var signedHeaders = []string{"From", "From", "Sender", "Reply-To", "To", "Cc", "Subject", "Date", "Message-ID",
	"In-Reply-To", "References", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"}

// key is one signing key of a domain.
type key struct {
	selector string
	signer   crypto.Signer
	record   string // the DNS TXT value, for verifying our own mail without DNS
}

// Signer DKIM-signs messages whose From domain has keys in its directory.
// Keys live in dir/<domain>/<selector>.pem (PKCS #8), as written by
// Keygen; every key of a domain signs, so a domain with an RSA and an
// Ed25519 key sends both signatures (RFC 8463 3 recommends this while
// verifiers without Ed25519 remain).
type Signer struct {
	dir string
	// keys by lower-case domain; swapped whole by Reload, so a message is
	// signed with one consistent set.
	keys atomic.Pointer[map[string][]key]
}

// LoadSigner reads every key under dir. A missing dir means no keys.
func LoadSigner(dir string) (*Signer, error) {
	s := &Signer{dir: dir}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload reads the keys again (after `congvu dkim keygen`, on SIGHUP). On
// error the keys in use stay.
func (s *Signer) Reload() error {
	keys, err := readKeys(s.dir)
	if err != nil {
		return err
	}
	s.keys.Store(&keys)
	return nil
}

// domainKeys returns the keys of a lower-case domain.
func (s *Signer) domainKeys(domain string) []key {
	if s == nil {
		return nil
	}
	if m := s.keys.Load(); m != nil {
		return (*m)[domain]
	}
	return nil
}

func readKeys(dir string) (map[string][]key, error) {
	keys := map[string][]key{}
	domains, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return keys, nil
	}
	if err != nil {
		return nil, err
	}
	for _, d := range domains {
		if !d.IsDir() {
			continue
		}
		domain := strings.ToLower(d.Name())
		files, err := filepath.Glob(filepath.Join(dir, d.Name(), "*.pem"))
		if err != nil {
			return nil, err
		}
		sort.Strings(files)
		for _, f := range files {
			k, err := readKey(f)
			if err != nil {
				return nil, fmt.Errorf("dkim key %s: %w", f, err)
			}
			keys[domain] = append(keys[domain], k)
		}
	}
	return keys, nil
}

func readKey(path string) (key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return key{}, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return key{}, errors.New("not a PEM PKCS #8 private key")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return key{}, err
	}
	signer, ok := parsed.(crypto.Signer)
	if !ok {
		return key{}, errors.New("unsupported key type")
	}
	record, err := TXTRecord(signer.Public())
	if err != nil {
		return key{}, err
	}
	return key{selector: strings.TrimSuffix(filepath.Base(path), ".pem"), signer: signer, record: record}, nil
}

// Domains lists the domains that have keys.
func (s *Signer) Domains() []string {
	var out []string
	for d := range *s.keys.Load() {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// Sign returns DKIM-Signature fields for msg, one per key of its From
// domain, or nil when that domain has no key (or From does not name
// exactly one domain).
func (s *Signer) Sign(msg io.Reader) ([]byte, error) {
	br := bufio.NewReader(msg)
	hdr, err := textproto.ReadHeader(br)
	if err != nil {
		return nil, fmt.Errorf("reading header: %w", err)
	}
	domain, err := FromDomain(hdr)
	if err != nil {
		return nil, nil // nothing we may sign for
	}
	keys := s.domainKeys(domain)
	if len(keys) == 0 {
		return nil, nil
	}
	signers := make([]*dkim.Signer, len(keys))
	writers := make([]io.Writer, len(keys))
	for i, k := range keys {
		ds, err := dkim.NewSigner(&dkim.SignOptions{
			Domain:                 domain,
			Selector:               k.selector,
			Signer:                 k.signer,
			Hash:                   crypto.SHA256,
			HeaderCanonicalization: dkim.CanonicalizationRelaxed,
			BodyCanonicalization:   dkim.CanonicalizationRelaxed,
			HeaderKeys:             signedHeaders,
		})
		if err != nil {
			return nil, err
		}
		signers[i], writers[i] = ds, ds
	}
	// One pass over the message for every key.
	w := io.MultiWriter(writers...)
	var hb bytes.Buffer
	if err := textproto.WriteHeader(&hb, hdr); err != nil {
		return nil, err
	}
	_, err = w.Write(hb.Bytes())
	if err == nil {
		_, err = io.Copy(w, br)
	}
	var out bytes.Buffer
	for _, ds := range signers {
		if cerr := ds.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			out.WriteString(ds.Signature())
		}
	}
	if err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// ownRecord returns the public key record of one of our selectors, so
// mail claiming our domains is verified against the key we hold rather
// than against what DNS says.
func (s *Signer) ownRecord(domain, selector string) (string, bool) {
	for _, k := range s.domainKeys(strings.ToLower(domain)) {
		if strings.EqualFold(k.selector, selector) {
			return k.record, true
		}
	}
	return "", false
}

// Authors returns the addresses of the single From field (RFC 5322
// 3.6.2). Only the addresses matter: a display name in an unknown charset
// must not make the field unparsable.
func Authors(h textproto.Header) ([]*mail.Address, error) {
	froms := h.Values("From")
	if len(froms) != 1 {
		return nil, fmt.Errorf("%d From fields", len(froms))
	}
	addrs, err := ParseAddressList(froms[0])
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, errors.New("empty From field")
	}
	return addrs, nil
}

// ParseAddressList parses an address-list field value (From, Sender,
// To…) with RFC 2047 display names decoded. Only the addresses matter: a
// display name in an unknown charset keeps its raw bytes rather than making
// the field unparsable.
func ParseAddressList(v string) ([]*mail.Address, error) {
	wd := &mime.WordDecoder{CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil }}
	return (&mail.AddressParser{WordDecoder: wd}).ParseList(v)
}

// FromDomain returns the domain of the single author in the From field
// (RFC 7489 6.6.1: the domain DMARC and signing are about).
func FromDomain(h textproto.Header) (string, error) {
	addrs, err := Authors(h)
	if err != nil {
		return "", err
	}
	var domains []string
	for _, a := range addrs {
		at := strings.LastIndexByte(a.Address, '@')
		if at < 0 {
			return "", errors.New("From address without a domain")
		}
		d := strings.ToLower(strings.TrimSuffix(a.Address[at+1:], "."))
		if !slices.Contains(domains, d) {
			domains = append(domains, d)
		}
	}
	if len(domains) != 1 {
		return "", fmt.Errorf("From names %d domains", len(domains))
	}
	return domains[0], nil
}

// Algorithms for Keygen.
const (
	AlgRSA     = "rsa"     // rsa-sha256, 2048 bits (RFC 8301 3.2)
	AlgEd25519 = "ed25519" // ed25519-sha256 (RFC 8463)
)

// Keygen makes a new key for domain in dir/<domain>/<selector>.pem (mode
// 0600, never overwriting) and returns its path and DNS TXT value.
func Keygen(dir, domain, selector, alg string) (path, record string, err error) {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	if domain == "" || strings.ContainsAny(domain, "/\\ ") || strings.HasPrefix(domain, ".") {
		return "", "", fmt.Errorf("invalid domain %q", domain)
	}
	if selector == "" || strings.ContainsFunc(selector, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-')
	}) {
		return "", "", fmt.Errorf("invalid selector %q (letters, digits and hyphens)", selector)
	}
	var signer crypto.Signer
	switch alg {
	case AlgRSA:
		signer, err = rsa.GenerateKey(rand.Reader, 2048)
	case AlgEd25519:
		_, signer, err = ed25519.GenerateKey(rand.Reader)
	default:
		return "", "", fmt.Errorf("unknown algorithm %q (rsa or ed25519)", alg)
	}
	if err != nil {
		return "", "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(signer)
	if err != nil {
		return "", "", err
	}
	if record, err = TXTRecord(signer.Public()); err != nil {
		return "", "", err
	}
	ddir := filepath.Join(dir, domain)
	if err := os.MkdirAll(ddir, 0o700); err != nil {
		return "", "", err
	}
	path = filepath.Join(ddir, selector+".pem")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", "", err
	}
	err = pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", "", err
	}
	return path, record, nil
}

// TXTRecord is the DNS TXT value publishing pub (RFC 6376 3.6.1; Ed25519
// keys are the raw 32 bytes, RFC 8463 4.2).
func TXTRecord(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			return "", err
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der), nil
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(k), nil
	}
	return "", fmt.Errorf("unsupported public key %T", pub)
}

// ZoneLine writes a TXT record as a zone-file line, the value split into
// strings of at most 255 bytes (RFC 1035 3.3.14).
func ZoneLine(domain, selector, record string) string {
	var parts []string
	for len(record) > 255 {
		parts = append(parts, `"`+record[:255]+`"`)
		record = record[255:]
	}
	parts = append(parts, `"`+record+`"`)
	return fmt.Sprintf("%s._domainkey.%s. IN TXT ( %s )", selector, domain, strings.Join(parts, " "))
}

// KeyRecord is one DKIM key of a domain as published in DNS.
type KeyRecord struct {
	Selector string
	Record   string // TXT value, "v=DKIM1; k=…; p=…"
}

// Records lists the published form of every key of domain, by selector
// (for `congvu dns`).
func (s *Signer) Records(domain string) []KeyRecord {
	keys := s.domainKeys(strings.ToLower(domain))
	out := make([]KeyRecord, 0, len(keys))
	for _, k := range keys {
		out = append(out, KeyRecord{Selector: k.selector, Record: k.record})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Selector < out[j].Selector })
	return out
}
