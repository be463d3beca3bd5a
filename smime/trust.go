package smime

import (
	"bytes"
	"crypto/x509"
	"embed"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
)

// defaultRoots are the trust anchors shipped in the binary: the
// Government's special-use root "RootCA chuyên dùng Chính phủ G2" (Ban Cơ
// yếu Chính phủ), which issues the agencies' and officials' signing
// certificates.
//
//go:embed trustdata/*.pem
var defaultRoots embed.FS

// TrustConfig says where the trust anchors come from.
type TrustConfig struct {
	// Dir holds PEM files (*.pem, *.crt) an operator drops in:
	// self-signed CA certificates become trust anchors, the others
	// intermediates. Missing is the same as empty.
	Dir string
	// Intermediates is an optional PEM bundle of intermediate CAs for
	// messages that do not carry their chain.
	Intermediates string
	// NoDefaults leaves out the roots shipped in the binary (tests).
	NoDefaults bool
}

// TrustStore holds the anchors and intermediates; Reload swaps them at
// once, so verifications in progress keep the set they started with.
type TrustStore struct {
	cfg  TrustConfig
	snap atomic.Pointer[trustSet]
}

type trustSet struct {
	roots         *x509.CertPool
	rootList      []*x509.Certificate
	intermediates []*x509.Certificate
}

// NewTrustStore loads the anchors.
func NewTrustStore(cfg TrustConfig) (*TrustStore, error) {
	t := &TrustStore{cfg: cfg}
	if err := t.Reload(); err != nil {
		return nil, err
	}
	return t, nil
}

// Reload rereads the directory and the bundle (SIGHUP, `congvu reload`).
// On error the previous set stays.
func (t *TrustStore) Reload() error {
	s := &trustSet{roots: x509.NewCertPool()}
	var certs []*x509.Certificate
	if !t.cfg.NoDefaults {
		err := fs.WalkDir(defaultRoots, "trustdata", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := defaultRoots.ReadFile(p)
			if err != nil {
				return err
			}
			cs, err := ParsePEMCertificates(b)
			certs = append(certs, cs...)
			return err
		})
		if err != nil {
			return fmt.Errorf("trust: built-in roots: %w", err)
		}
	}
	if t.cfg.Dir != "" {
		entries, err := os.ReadDir(t.cfg.Dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("trust: %w", err)
		}
		names := make([]string, 0, len(entries))
		for _, e := range entries {
			n := e.Name()
			if !e.IsDir() && (strings.HasSuffix(n, ".pem") || strings.HasSuffix(n, ".crt")) {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			b, err := os.ReadFile(filepath.Join(t.cfg.Dir, n))
			if err != nil {
				return fmt.Errorf("trust: %w", err)
			}
			cs, err := ParsePEMCertificates(b)
			if err != nil {
				return fmt.Errorf("trust: %s: %w", n, err)
			}
			certs = append(certs, cs...)
		}
	}
	for _, c := range certs {
		if isSelfSigned(c) {
			s.roots.AddCert(c)
			s.rootList = append(s.rootList, c)
		} else {
			s.intermediates = append(s.intermediates, c)
		}
	}
	if t.cfg.Intermediates != "" {
		b, err := os.ReadFile(t.cfg.Intermediates)
		if err != nil {
			return fmt.Errorf("trust: intermediates: %w", err)
		}
		cs, err := ParsePEMCertificates(b)
		if err != nil {
			return fmt.Errorf("trust: intermediates: %w", err)
		}
		s.intermediates = append(s.intermediates, cs...)
	}
	t.snap.Store(s)
	return nil
}

// Roots returns the trust anchors.
func (t *TrustStore) Roots() []*x509.Certificate { return t.snap.Load().rootList }

func (t *TrustStore) set() *trustSet { return t.snap.Load() }

// ParsePEMCertificates reads every CERTIFICATE block of a PEM file (other
// blocks are skipped); a file without one is an error.
func ParsePEMCertificates(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no CERTIFICATE in PEM data")
	}
	return out, nil
}

func isSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil
}
