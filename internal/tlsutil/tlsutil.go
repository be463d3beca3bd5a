// Package tlsutil loads the server certificate or generates a self-signed one
// for demos and tests, and builds the one tls.Config every listener uses.
package tlsutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

// ServerConfig returns a TLS configuration with TLS 1.2 as the minimum
// version (Circular 39/2017 requires TLS 1.2) and, for TLS 1.2, only AEAD
// suites with forward secrecy (RFC 7525 §4.2): Go's defaults without the
// CBC-SHA ones. TLS 1.3 suites are all AEAD and not configurable.
func ServerConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		CipherSuites: AEADSuites(),
	}
}

// AEADSuites lists the TLS 1.2 cipher suites congvu offers: ECDHE key
// exchange with AES-GCM or ChaCha20-Poly1305.
func AEADSuites() []uint16 {
	return []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	}
}

// LoadOrCreate loads certFile/keyFile; when neither exists it generates a
// self-signed certificate valid for hosts and stores both files (key 0600).
func LoadOrCreate(certFile, keyFile string, hosts []string) (tls.Certificate, error) {
	if _, err := os.Stat(certFile); errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat(keyFile); errors.Is(err, os.ErrNotExist) {
			certPEM, keyPEM, err := SelfSigned(hosts)
			if err != nil {
				return tls.Certificate{}, err
			}
			if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
				return tls.Certificate{}, err
			}
			if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
				return tls.Certificate{}, err
			}
		}
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls: %w", err)
	}
	return cert, nil
}

// SelfSigned makes a P-256 certificate for hosts (DNS names or IPs), valid
// for ten years, usable as its own trust anchor by clients (CA:TRUE).
func SelfSigned(hosts []string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hosts[0], Organization: []string{"congvu self-signed"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}
