package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// ACME configures certificates from an ACME CA (RFC 8555): congvu obtains
// and renews the certificate itself, answering http-01 challenges on the
// HTTP listener, and every TLS listener switches to a renewed certificate
// without a restart. tls.cert_file/key_file (or the self-signed pair) are
// presented until the first certificate arrives.
type ACME struct {
	Enabled      bool   `toml:"enabled"`
	DirectoryURL string `toml:"directory_url"`
	// Email is the CA account's contact (expiry warnings); "" for none.
	Email string `toml:"email"`
	// Names of the certificate; empty means server.hostname and the
	// hostnames of [server.domains]. Each must resolve to this server.
	Names []string `toml:"names"`
	// CAFile is a PEM bundle to trust for the CA's own HTTPS endpoint; ""
	// means the system roots.
	CAFile string `toml:"ca_file"`
	// RenewBefore: renew when less is left (or a third of the lifetime).
	RenewBefore time.Duration `toml:"renew_before"`
	// Path holds the account key and the certificate (relative to data_dir).
	Path string `toml:"path"`
}

func defaultACME() ACME {
	return ACME{DirectoryURL: "https://acme-v02.api.letsencrypt.org/directory", Names: []string{},
		RenewBefore: 30 * 24 * time.Hour, Path: "acme"}
}

// CertificateNames are the names the ACME certificate is asked for.
func (c *Config) CertificateNames() []string {
	if len(c.ACME.Names) > 0 {
		return c.ACME.Names
	}
	return c.Server.ClientHostnames()
}

func (c *Config) validateACME() error {
	a := c.ACME
	if !a.Enabled {
		return nil
	}
	u, err := url.Parse(a.DirectoryURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("acme.directory_url must be an https:// URL, not %q", a.DirectoryURL)
	}
	if a.Path == "" || a.RenewBefore <= 0 {
		return fmt.Errorf("acme.path must be set and acme.renew_before positive")
	}
	for _, n := range c.CertificateNames() {
		if n == "" || strings.ContainsAny(n, " /:@") || !strings.Contains(n, ".") {
			return fmt.Errorf("acme: %q is not a DNS name a CA can certify", n)
		}
	}
	if c.Listen.HTTP == "" {
		return fmt.Errorf("acme needs listen.http: the CA fetches http-01 answers there (port 80)")
	}
	return nil
}
