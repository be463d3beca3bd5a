package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The example file documents every option with its default; if a default
// changes in code without the example (or the reverse) this test fails.
func TestExampleMatchesDefaults(t *testing.T) {
	got, err := Load("../../deploy/congvu.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Server.LocalDomains = []string{"khanhhoa.gov.vn"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("example differs from defaults:\n got %+v\nwant %+v", got, want)
	}
}

func TestUnknownOptionRejected(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(p, []byte("[server]\nlocal_domains=[\"a.gov.vn\"]\nhostnme=\"x\"\n"), 0o600)
	_, err := Load(p)
	if err == nil || !strings.Contains(err.Error(), "server.hostnme") {
		t.Fatalf("want unknown option error naming server.hostnme, got %v", err)
	}
}

func TestValidate(t *testing.T) {
	for name, mutate := range map[string]func(*Config){
		"no domains":                      func(c *Config) { c.Server.LocalDomains = nil },
		"bad listen":                      func(c *Config) { c.Listen.IMAP = "localhost" },
		"half tls":                        func(c *Config) { c.TLS.CertFile = "x.pem" },
		"bad log":                         func(c *Config) { c.Log.Format = "xml" },
		"zero size":                       func(c *Config) { c.SMTP.MaxMessageBytes = 0 },
		"bad backend":                     func(c *Config) { c.Directory.Backend = "nis" },
		"domain space":                    func(c *Config) { c.Server.LocalDomains = []string{"a b"} },
		"ldap no url":                     func(c *Config) { c.Directory.Backend = "ldap" },
		"bad https":                       func(c *Config) { c.Listen.HTTPS = "8443" },
		"no idle":                         func(c *Config) { c.Web.SessionIdleMinutes = 0 },
		"idle > max":                      func(c *Config) { c.Web.SessionIdleMinutes = 13 * 60 },
		"min length":                      func(c *Config) { c.Password.MinLength = 0 },
		"max age":                         func(c *Config) { c.Password.MaxAgeDays = -1 },
		"no retries":                      func(c *Config) { c.Outbound.RetryIntervals = nil },
		"bad smarthost":                   func(c *Config) { c.Outbound.Smarthost = "relay" },
		"smarthost user without password": func(c *Config) { c.Outbound.SmarthostUser = "congvu" },
		"bad dmarc policy":                func(c *Config) { c.Inbound.DMARCPolicy = "ignore" },
		"bad spoof action":                func(c *Config) { c.Inbound.SpoofAction = "accept" },
		"bad dns server":                  func(c *Config) { c.DNS.Servers = []string{"127.0.0.1"} },
		"ldap plaintext to another host": func(c *Config) {
			c.Directory.Backend = "ldap"
			c.Directory.LDAP.URL, c.Directory.LDAP.BaseDN = "ldap://ldap.khanhhoa.gov.vn/", "dc=khanhhoa"
		},
	} {
		c := Default()
		c.Server.LocalDomains = []string{"a.gov.vn"}
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: want error", name)
		}
	}
	for _, url := range []string{"ldap://127.0.0.1:3890/", "ldaps://ldap.khanhhoa.gov.vn/"} {
		c := Default()
		c.Server.LocalDomains = []string{"a.gov.vn"}
		c.Directory.Backend = "ldap"
		c.Directory.LDAP.URL, c.Directory.LDAP.BaseDN = url, "dc=khanhhoa"
		if err := c.Validate(); err != nil {
			t.Errorf("ldap %s: %v", url, err)
		}
	}
	c := Default()
	c.Server.LocalDomains = []string{"KhanhHoa.Gov.VN"}
	if err := c.Validate(); err != nil || c.Server.LocalDomains[0] != "khanhhoa.gov.vn" {
		t.Errorf("valid config: err=%v domains=%v", err, c.Server.LocalDomains)
	}
}
