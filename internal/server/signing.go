package server

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"congvu/internal/config"
	"congvu/official"
	"congvu/policy"
	"congvu/smime"
)

// signingParts are the digital-signature services: the trust store
// (reloaded on SIGHUP), revocation checking, the verifier and the
// official-document checker smtpd calls.
type signingParts struct {
	trust   *smime.TrustStore
	checker *official.Checker
	// signer is centralised signing; nil when none is configured.
	signer  *official.Keys
	closers []func() error
}

// hasCentralKey reports whether mail from address can be signed with
// unit's key (the webmail's compose form asks before it offers the choice).
func (sp *signingParts) hasCentralKey(unit, address string) bool {
	return sp.signer != nil && sp.signer.CanSignAs(unit, address)
}

func (sp *signingParts) close() error {
	for i := len(sp.closers) - 1; i >= 0; i-- {
		sp.closers[i]()
	}
	return nil
}

// startSigning builds the signature services around the policy engine.
func startSigning(cfg config.Config, engine *policy.Engine, log *slog.Logger) (*signingParts, error) {
	sc := cfg.Signing
	sp := &signingParts{}
	var verifier *smime.Verifier
	if sc.Verify {
		trust, err := smime.NewTrustStore(smime.TrustConfig{Dir: cfg.Path(sc.TrustDir), NoDefaults: !sc.GovernmentRoot,
			Intermediates: optionalPath(cfg, sc.IntermediatesFile)})
		if err != nil {
			return nil, err
		}
		sp.trust = trust
		ekus, err := sc.EKUs()
		if err != nil {
			return nil, err
		}
		vc := smime.VerifierConfig{Trust: trust, ExtraEKUs: ekus, Logger: log.With("component", "smime")}
		if sc.CheckCRL || sc.CheckOCSP {
			rev, err := smime.NewRevocation(smime.RevocationConfig{CRL: sc.CheckCRL, OCSP: sc.CheckOCSP,
				CacheDir: cfg.Path(sc.CRLCacheDir), OfflineGrace: sc.OfflineGrace, Timeout: sc.RevocationTimeout,
				Logger: log.With("component", "revocation")})
			if err != nil {
				return nil, fmt.Errorf("revocation: %w", err)
			}
			vc.Revocation = rev
		}
		verifier = smime.NewVerifier(vc)
		log.Info("signature verification", "trust_anchors", len(trust.Roots()), "crl", sc.CheckCRL, "ocsp", sc.CheckOCSP)
	}
	signer, err := newCentralSigner(cfg, log.With("component", "central-signing"))
	if err != nil {
		return nil, fmt.Errorf("central signing: %w", err)
	}
	var s official.Signer
	if signer != nil {
		s, sp.signer = signer, signer
		sp.closers = append(sp.closers, signer.Close)
	}
	sp.checker = official.New(official.Config{
		AuthservID:       cmpOr(cfg.Inbound.AuthservID, cfg.Server.Hostname),
		Verifier:         verifier,
		Rules:            engine,
		Signer:           s,
		SignHeader:       sc.Central.Header,
		MaxInflightBytes: sc.MaxInflightBytes,
		Logger:           log.With("component", "official"),
	})
	return sp, nil
}

func optionalPath(cfg config.Config, p string) string {
	if p == "" {
		return ""
	}
	return cfg.Path(p)
}

// newCentralSigner loads the units' keys for centralised signing; nil
// when [signing.central] has no backend.
func newCentralSigner(cfg config.Config, log *slog.Logger) (*official.Keys, error) {
	c := cfg.Signing.Central
	if c.Backend == "" {
		return nil, nil
	}
	kc := official.KeysConfig{Backend: c.Backend, PKCS11Module: c.PKCS11Module, TokenLabel: c.PKCS11TokenLabel, PSS: c.Padding == "pss"}
	var err error
	if c.PKCS11PINFile != "" {
		if kc.PIN, err = readSecret(cfg.Path(c.PKCS11PINFile)); err != nil {
			return nil, fmt.Errorf("signing.central.pkcs11_pin_file: %w", err)
		}
	}
	if c.PKCS12PasswordFile != "" {
		if kc.PKCS12Password, err = readSecret(cfg.Path(c.PKCS12PasswordFile)); err != nil {
			return nil, fmt.Errorf("signing.central.pkcs12_password_file: %w", err)
		}
	}
	for _, k := range c.Keys {
		kc.Keys = append(kc.Keys, official.KeyConfig{Unit: k.Unit, KeyLabel: k.KeyLabel,
			CertFile: optionalPath(cfg, k.CertFile), PKCS12File: optionalPath(cfg, k.PKCS12File)})
	}
	return official.LoadKeys(kc, log)
}

func readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}
