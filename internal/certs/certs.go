// Package certs holds the server certificate every TLS listener presents,
// and replaces it while the server runs: on SIGHUP (`congvu reload`, after
// the files were renewed by some other tool) and when its own ACME client
// (RFC 8555, acme.go) has renewed it. Listeners share one tls.Config whose
// GetCertificate reads the current certificate at each handshake, so a new
// certificate needs no restart and sessions already open keep theirs.
package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Source loads the certificate to present: the configured files, the
// self-signed demo pair or the ACME client's latest.
type Source func() (*tls.Certificate, error)

// Manager is the current certificate. Safe for concurrent use.
type Manager struct {
	current atomic.Pointer[tls.Certificate]
	source  atomic.Pointer[Source]
	log     *slog.Logger

	notAfter prometheus.Gauge
	reloads  *prometheus.CounterVec
}

// New loads the first certificate from src.
func New(src Source, log *slog.Logger) (*Manager, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Manager{log: log,
		notAfter: prometheus.NewGauge(prometheus.GaugeOpts{Name: "congvu_tls_certificate_expiry_timestamp_seconds",
			Help: "When the certificate the listeners present expires (Unix time)."}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "congvu_tls_certificate_reloads_total",
			Help: "Certificate changes while running, by cause (reload, acme) and result (ok, error)."}, []string{"cause", "result"}),
	}
	cert, err := src()
	if err != nil {
		return nil, err
	}
	m.source.Store(&src)
	m.set(cert)
	return m, nil
}

// Register adds congvu_tls_certificate_expiry_timestamp_seconds and
// congvu_tls_certificate_reloads_total to reg.
func (m *Manager) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.notAfter, m.reloads} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// GetCertificate is tls.Config.GetCertificate: the current certificate.
func (m *Manager) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c := m.current.Load()
	if c == nil {
		return nil, errors.New("certs: no certificate")
	}
	return c, nil
}

// Current returns the certificate being presented.
func (m *Manager) Current() *tls.Certificate { return m.current.Load() }

// SetSource changes where Reload reads from (the ACME client, once it
// has a certificate of its own).
func (m *Manager) SetSource(src Source) { m.source.Store(&src) }

// Reload reads the certificate again from its source (SIGHUP). On error
// the current one stays.
func (m *Manager) Reload() error { return m.reload("reload") }

func (m *Manager) reload(cause string) error {
	cert, err := (*m.source.Load())()
	if err != nil {
		m.reloads.WithLabelValues(cause, "error").Inc()
		return err
	}
	m.set(cert)
	m.reloads.WithLabelValues(cause, "ok").Inc()
	return nil
}

// Install presents cert from now on (the ACME client after a renewal).
func (m *Manager) Install(cert *tls.Certificate, cause string) {
	m.set(cert)
	m.reloads.WithLabelValues(cause, "ok").Inc()
}

func (m *Manager) set(cert *tls.Certificate) {
	if cert.Leaf == nil && len(cert.Certificate) > 0 {
		cert.Leaf, _ = x509.ParseCertificate(cert.Certificate[0])
	}
	old := m.current.Swap(cert)
	if cert.Leaf != nil {
		m.notAfter.Set(float64(cert.Leaf.NotAfter.Unix()))
		if old != nil && old.Leaf != nil && old.Leaf.SerialNumber.Cmp(cert.Leaf.SerialNumber) != 0 {
			m.log.Info("tls: new certificate in use", "names", cert.Leaf.DNSNames, "serial", cert.Leaf.SerialNumber.Text(16),
				"not_after", cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
		}
	}
}

// FileSource reads a PEM certificate chain and key from two files (which
// may be the same file holding both).
func FileSource(certFile, keyFile string) Source {
	return func() (*tls.Certificate, error) {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		return &c, nil
	}
}
