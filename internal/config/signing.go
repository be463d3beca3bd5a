package config

import (
	"encoding/asn1"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Signing configures digital signatures (package smime): verification of
// S/MIME and PDF signatures on every message, the trust store and
// revocation checking, and centralised signing of outgoing official
// documents.
type Signing struct {
	// Verify checks every message's signatures and stamps the result
	// (Authentication-Results smime=, RFC 7281).
	Verify bool `toml:"verify"`
	// TrustDir holds PEM trust anchors added to the built-in Government
	// root G2 (relative to data_dir); reread on `congvu reload`.
	TrustDir string `toml:"trust_dir"`
	// GovernmentRoot includes the built-in "RootCA chuyên dùng Chính phủ
	// G2".
	GovernmentRoot bool `toml:"government_root"`
	// IntermediatesFile is a PEM bundle of intermediate CAs for messages
	// that do not carry their chain ("" = none).
	IntermediatesFile string `toml:"intermediates_file"`
	// ExtraEKUs are extended key usage OIDs ("1.2.3.4") accepted for
	// signing besides emailProtection.
	ExtraEKUs []string `toml:"extra_ekus"`
	// CheckCRL and CheckOCSP turn revocation checking on.
	CheckCRL  bool `toml:"check_crl"`
	CheckOCSP bool `toml:"check_ocsp"`
	// CRLCacheDir keeps fetched CRLs (relative to data_dir).
	CRLCacheDir string `toml:"crl_cache_dir"`
	// OfflineGrace: a cached CRL past its nextUpdate is still honoured
	// this long when the CA cannot be reached; after it the result is
	// temperror.
	OfflineGrace time.Duration `toml:"offline_grace"`
	// RevocationTimeout bounds one CRL or OCSP fetch.
	RevocationTimeout time.Duration `toml:"revocation_timeout"`
	// MaxInflightBytes bounds the message bytes being checked at once.
	MaxInflightBytes int64 `toml:"max_inflight_bytes"`
	// Central is centralised signing.
	Central Central `toml:"central"`
}

// Central configures the server's signing of a unit's outgoing mail with
// the unit's organisation certificate.
type Central struct {
	// Backend is "pkcs11", "pkcs12" or "" (off).
	Backend string `toml:"backend"`
	// PKCS11Module is the token's PKCS#11 library.
	PKCS11Module string `toml:"pkcs11_module"`
	// PKCS11TokenLabel names the token; PKCS11PINFile holds its user PIN
	// (relative to data_dir).
	PKCS11TokenLabel string `toml:"pkcs11_token_label"`
	PKCS11PINFile    string `toml:"pkcs11_pin_file"`
	// PKCS12PasswordFile holds the password of the PKCS#12 files.
	PKCS12PasswordFile string `toml:"pkcs12_password_file"`
	// Padding is "pss" (RSASSA-PSS, TT 39/2017) or "pkcs1v15".
	Padding string `toml:"padding"`
	// Header is the submission header field by which a sender asks for
	// signing ("yes"); the server removes it.
	Header string `toml:"header"`
	// Keys are the units' keys.
	Keys []CentralKey `toml:"keys"`
}

// CentralKey is one unit's organisation key.
type CentralKey struct {
	// Unit is the unit code of the directory.
	Unit string `toml:"unit"`
	// KeyLabel is the key's CKA_LABEL in the token (pkcs11).
	KeyLabel string `toml:"key_label"`
	// CertFile is the certificate and its chain, PEM (relative to
	// data_dir); PKCS12File replaces both for the pkcs12 backend.
	CertFile   string `toml:"cert_file"`
	PKCS12File string `toml:"pkcs12_file"`
}

func defaultSigning() Signing {
	return Signing{
		Verify: true, TrustDir: "trust", GovernmentRoot: true, ExtraEKUs: []string{},
		CheckCRL: true, CheckOCSP: true, CRLCacheDir: "crl",
		OfflineGrace: 72 * time.Hour, RevocationTimeout: 5 * time.Second,
		MaxInflightBytes: 256 << 20,
		Central: Central{PKCS11Module: "/usr/lib/softhsm/libsofthsm2.so", Padding: "pss", Header: "X-Congvu-Sign",
			Keys: []CentralKey{}},
	}
}

// EKUs parses ExtraEKUs.
func (s Signing) EKUs() ([]asn1.ObjectIdentifier, error) {
	var out []asn1.ObjectIdentifier
	for _, e := range s.ExtraEKUs {
		var oid asn1.ObjectIdentifier
		for _, p := range strings.Split(e, ".") {
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("signing.extra_ekus: %q is not an OID", e)
			}
			oid = append(oid, n)
		}
		if len(oid) < 2 {
			return nil, fmt.Errorf("signing.extra_ekus: %q is not an OID", e)
		}
		out = append(out, oid)
	}
	return out, nil
}

func (s Signing) validate() error {
	if _, err := s.EKUs(); err != nil {
		return err
	}
	if s.OfflineGrace < 0 || s.RevocationTimeout <= 0 || s.MaxInflightBytes <= 0 {
		return fmt.Errorf("signing: offline_grace must not be negative, revocation_timeout and max_inflight_bytes positive")
	}
	c := s.Central
	switch c.Backend {
	case "":
	case "pkcs11":
		if c.PKCS11Module == "" || c.PKCS11TokenLabel == "" || c.PKCS11PINFile == "" {
			return fmt.Errorf("signing.central: pkcs11 needs pkcs11_module, pkcs11_token_label and pkcs11_pin_file")
		}
	case "pkcs12":
	default:
		return fmt.Errorf("signing.central.backend must be pkcs11, pkcs12 or empty, not %q", c.Backend)
	}
	switch c.Padding {
	case "pss", "pkcs1v15":
	default:
		return fmt.Errorf("signing.central.padding must be pss or pkcs1v15, not %q", c.Padding)
	}
	if c.Header == "" || strings.ContainsAny(c.Header, ": \t") {
		return fmt.Errorf("signing.central.header must be a header field name")
	}
	seen := map[string]bool{}
	for _, k := range c.Keys {
		if k.Unit == "" || seen[k.Unit] {
			return fmt.Errorf("signing.central.keys: unit %q missing or repeated", k.Unit)
		}
		seen[k.Unit] = true
		switch c.Backend {
		case "pkcs11":
			if k.KeyLabel == "" || k.CertFile == "" {
				return fmt.Errorf("signing.central.keys %s: pkcs11 needs key_label and cert_file", k.Unit)
			}
		case "pkcs12":
			if k.PKCS12File == "" {
				return fmt.Errorf("signing.central.keys %s: pkcs12 needs pkcs12_file", k.Unit)
			}
		}
	}
	return nil
}

// Documents configures the signed-document rule of the policy engine.
type Documents struct {
	// Extensions are the attachment file extensions that make a message
	// an official document (văn bản).
	Extensions []string `toml:"extensions"`
	// SenderRoles are the directory roles whose mail the rule applies to
	// (the văn thư and the unit mailbox).
	SenderRoles []string `toml:"sender_roles"`
	// Unsigned is what happens to an unsigned official document sent to
	// another state agency: "refuse" (554 5.7.1), "sign" (centralised
	// signing with the unit's key) or "accept".
	Unsigned string `toml:"unsigned"`
	// Domains and Units override Unsigned for a mail domain or a unit
	// (the unit wins).
	Domains map[string]DocumentOverride `toml:"domains"`
	Units   map[string]DocumentOverride `toml:"units"`
}

// DocumentOverride is a per-domain or per-unit setting.
type DocumentOverride struct {
	Unsigned string `toml:"unsigned"`
}

// SecretGuard configures the state-secret guard.
type SecretGuard struct {
	// Enabled refuses, at submission, messages whose subject, body or
	// attachments carry a classification stamp, and quarantines them on
	// arrival. On by default.
	Enabled bool `toml:"enabled"`
	// Markings are stamps besides MẬT, TỐI MẬT and TUYỆT MẬT.
	Markings []string `toml:"markings"`
	// HeaderFields are classification header fields.
	HeaderFields []string `toml:"header_fields"`
	// QuarantineDir keeps refused inbound messages for the operator
	// (relative to data_dir).
	QuarantineDir string `toml:"quarantine_dir"`
}

func defaultDocuments() Documents {
	return Documents{Extensions: []string{"pdf", "doc", "docx", "odt", "xls", "xlsx", "ods"},
		SenderRoles: []string{"clerk", "unit"}, Unsigned: "refuse",
		Domains: map[string]DocumentOverride{}, Units: map[string]DocumentOverride{}}
}

func defaultSecretGuard() SecretGuard {
	return SecretGuard{Enabled: true, Markings: []string{},
		HeaderFields: []string{"SIO-Label", "X-Classification", "X-Security-Classification"}, QuarantineDir: "quarantine"}
}

// UnsignedFor returns the rule's action for a sender's domain and unit.
func (d Documents) UnsignedFor(domain, unit string) string {
	if o, ok := d.Units[unit]; ok && o.Unsigned != "" {
		return o.Unsigned
	}
	if o, ok := d.Domains[strings.ToLower(domain)]; ok && o.Unsigned != "" {
		return o.Unsigned
	}
	return d.Unsigned
}

func (d Documents) validate() error {
	check := func(where, v string) error {
		switch v {
		case "refuse", "sign", "accept":
			return nil
		}
		return fmt.Errorf("%s must be refuse, sign or accept, not %q", where, v)
	}
	if err := check("policy.documents.unsigned", d.Unsigned); err != nil {
		return err
	}
	for k, o := range d.Domains {
		if err := check("policy.documents.domains."+k+".unsigned", o.Unsigned); err != nil {
			return err
		}
	}
	for k, o := range d.Units {
		if err := check("policy.documents.units."+k+".unsigned", o.Unsigned); err != nil {
			return err
		}
	}
	for _, e := range d.Extensions {
		if e == "" || strings.ContainsAny(e, "./ ") {
			return fmt.Errorf("policy.documents.extensions: write %q without a dot", e)
		}
	}
	return nil
}
