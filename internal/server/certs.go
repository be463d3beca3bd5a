package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"congvu/internal/certs"
	"congvu/internal/config"
	"congvu/internal/tlsutil"
)

// startCertificates loads the certificate every TLS listener presents
// (the configured files, or a self-signed pair made on first start) into
// a certs.Manager, and returns the one tls.Config the listeners share:
// it asks the manager at each handshake, so `congvu reload` and ACME
// renewals change the certificate without a restart.
func startCertificates(cfg config.Config, r *Running, log *slog.Logger) (*tls.Config, error) {
	certFile, keyFile := cfg.TLS.CertFile, cfg.TLS.KeyFile
	if certFile == "" {
		certFile = filepath.Join(cfg.Server.DataDir, "tls-cert.pem")
		keyFile = filepath.Join(cfg.Server.DataDir, "tls-key.pem")
	} else {
		certFile, keyFile = cfg.Path(certFile), cfg.Path(keyFile)
	}
	if _, err := tlsutil.LoadOrCreate(certFile, keyFile, certificateNames(cfg)); err != nil {
		return nil, err
	}
	r.CertPEM = certFile
	mgr, err := certs.New(certs.FileSource(certFile, keyFile), log.With("component", "tls"))
	if err != nil {
		return nil, err
	}
	r.certs = mgr
	tlsCfg := tlsutil.ServerConfig(tls.Certificate{})
	tlsCfg.Certificates = nil
	tlsCfg.GetCertificate = mgr.GetCertificate
	return tlsCfg, nil
}

// startACME prepares the ACME client when [acme] is on and mounts its
// http-01 answers on the plain HTTP listener's mux; run starts it once
// the listeners are bound.
func startACME(cfg config.Config, r *Running, mux *http.ServeMux, log *slog.Logger) (run func(context.Context), err error) {
	if !cfg.ACME.Enabled {
		return nil, nil
	}
	client := http.DefaultClient
	if cfg.ACME.CAFile != "" {
		pem, err := os.ReadFile(cfg.Path(cfg.ACME.CAFile))
		if err != nil {
			return nil, fmt.Errorf("acme.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("acme.ca_file %s: no certificate", cfg.ACME.CAFile)
		}
		client = &http.Client{Timeout: time.Minute, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	}
	a, err := certs.NewACME(certs.ACMEConfig{DirectoryURL: cfg.ACME.DirectoryURL, Email: cfg.ACME.Email,
		Names: cfg.CertificateNames(), Dir: cfg.Path(cfg.ACME.Path), RenewBefore: cfg.ACME.RenewBefore,
		HTTPClient: client, Logger: log.With("component", "acme")}, r.certs)
	if err != nil {
		return nil, err
	}
	// RFC 8555 §8.3: the CA fetches http://NAME/.well-known/acme-challenge/TOKEN.
	mux.Handle("GET /.well-known/acme-challenge/", a.HTTPHandler())
	return a.Run, nil
}
