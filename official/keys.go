package official

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/ThalesGroup/crypto11"
	"software.sslmate.com/src/go-pkcs12"

	"congvu/internal/mailerr"
	"congvu/internal/mimetree"
	"congvu/smime"
)

// KeysConfig says where the units' organisation keys are.
type KeysConfig struct {
	// Backend is "pkcs11" (a token: keys never leave it) or "pkcs12"
	// (files, for small sites).
	Backend string
	// PKCS11Module, TokenLabel and PIN open the token.
	PKCS11Module, TokenLabel, PIN string
	// PKCS12Password opens the PKCS #12 files.
	PKCS12Password string
	// PSS signs with RSASSA-PSS, otherwise PKCS #1 v1.5.
	PSS  bool
	Keys []KeyConfig
}

// KeyConfig is one unit's key (paths resolved).
type KeyConfig struct {
	Unit       string
	KeyLabel   string // CKA_LABEL in the token
	CertFile   string // certificate then chain, PEM
	PKCS12File string
}

// Keys signs mail with the units' keys. Safe for concurrent use.
type Keys struct {
	pss   bool
	units map[string]*unitKey
	p11   *crypto11.Context
	mu    sync.Mutex // tokens without a session pool want one signature at a time
}

type unitKey struct {
	signer crypto.Signer
	chain  []*x509.Certificate
	addrs  []string
}

// LoadKeys opens the token or the files and finds every unit's key.
func LoadKeys(cfg KeysConfig, log *slog.Logger) (*Keys, error) {
	k := &Keys{pss: cfg.PSS, units: map[string]*unitKey{}}
	switch cfg.Backend {
	case "pkcs11":
		ctx, err := crypto11.Configure(&crypto11.Config{Path: cfg.PKCS11Module, TokenLabel: cfg.TokenLabel, Pin: cfg.PIN})
		if err != nil {
			return nil, fmt.Errorf("pkcs11 token %q: %w", cfg.TokenLabel, err)
		}
		k.p11 = ctx
		for _, kc := range cfg.Keys {
			signer, err := ctx.FindKeyPair(nil, []byte(kc.KeyLabel))
			if err != nil || signer == nil {
				k.Close()
				return nil, fmt.Errorf("unit %s: key %q not in the token: %v", kc.Unit, kc.KeyLabel, err)
			}
			chain, err := readChain(kc.CertFile)
			if err != nil {
				k.Close()
				return nil, fmt.Errorf("unit %s: %w", kc.Unit, err)
			}
			if err := k.add(kc.Unit, signer, chain); err != nil {
				k.Close()
				return nil, err
			}
		}
	case "pkcs12":
		for _, kc := range cfg.Keys {
			b, err := os.ReadFile(kc.PKCS12File)
			if err != nil {
				return nil, fmt.Errorf("unit %s: %w", kc.Unit, err)
			}
			key, cert, cas, err := pkcs12.DecodeChain(b, cfg.PKCS12Password)
			if err != nil {
				return nil, fmt.Errorf("unit %s: %s: %w", kc.Unit, kc.PKCS12File, err)
			}
			signer, ok := key.(crypto.Signer)
			if !ok {
				return nil, fmt.Errorf("unit %s: key of type %T cannot sign", kc.Unit, key)
			}
			if err := k.add(kc.Unit, signer, append([]*x509.Certificate{cert}, cas...)); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("unknown key backend %q", cfg.Backend)
	}
	for u, uk := range k.units {
		log.Info("central signing key", "unit", u, "subject", uk.chain[0].Subject.String(),
			"serial", strings.ToUpper(uk.chain[0].SerialNumber.Text(16)), "backend", cfg.Backend)
	}
	return k, nil
}

func (k *Keys) add(unit string, signer crypto.Signer, chain []*x509.Certificate) error {
	if !publicKeysEqual(signer.Public(), chain[0].PublicKey) {
		return fmt.Errorf("unit %s: the key does not belong to certificate %s", unit, chain[0].Subject)
	}
	k.units[unit] = &unitKey{signer: signer, chain: chain, addrs: smime.CertificateAddresses(chain[0])}
	return nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

func readChain(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return smime.ParsePEMCertificates(b)
}

// errCertAddress: the unit certificate names addresses, and the message
// is written from another one (RFC 8550 3: recipients would see a
// mismatch).
var errCertAddress = &mailerr.Error{SMTPCode: 554, Enhanced: [3]int{5, 7, 1}, HTTPStatus: 403,
	Message:   "Chung thu so cua don vi khong mang dia chi nguoi gui / The unit certificate does not name the sender address: send from the unit mailbox",
	MessageVI: "Chứng thư số của đơn vị không mang địa chỉ người gửi; hãy gửi từ hộp thư của đơn vị"}

// CanSign implements Signer.
func (k *Keys) CanSign(unit string) bool {
	_, ok := k.units[unit]
	return ok
}

// CanSignAs reports whether unit has a key whose certificate may sign
// mail written from address (a certificate naming no address signs for
// any author; one naming addresses only for those, as Sign checks).
func (k *Keys) CanSignAs(unit, address string) bool {
	uk := k.units[unit]
	if uk == nil {
		return false
	}
	return len(uk.addrs) == 0 || slices.ContainsFunc(uk.addrs, func(c string) bool { return strings.EqualFold(c, address) })
}

// Sign implements Signer: the message becomes S/MIME multipart/signed,
// SHA-256, RSASSA-PSS unless configured otherwise.
func (k *Keys) Sign(_ context.Context, unit string, msg []byte) ([]byte, string, error) {
	uk := k.units[unit]
	if uk == nil {
		return nil, "", errors.New("no key for unit " + unit)
	}
	serial := strings.ToUpper(uk.chain[0].SerialNumber.Text(16))
	if len(uk.addrs) > 0 {
		authors := smime.Authors(&mimetree.Parse(msg, mimetree.Options{}).Header)
		ok := false
		for _, a := range authors {
			for _, c := range uk.addrs {
				ok = ok || strings.EqualFold(a, c)
			}
		}
		if !ok {
			return nil, serial, errCertAddress.With(fmt.Errorf("certificate %v, From %v", uk.addrs, authors))
		}
	}
	if k.p11 != nil {
		k.mu.Lock()
		defer k.mu.Unlock()
	}
	signed, err := smime.SignMessage(msg, uk.signer, uk.chain, smime.SignOptions{PSS: k.pss})
	return signed, serial, err
}

// Close closes the token.
func (k *Keys) Close() error {
	if k.p11 != nil {
		return k.p11.Close()
	}
	return nil
}
