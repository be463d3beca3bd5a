package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"congvu/directory"
	"congvu/directory/ldapdir"
	"congvu/directory/orgdb"
	"congvu/directory/sqldir"
	"congvu/internal/config"
)

// OpenDirectory opens the directory backend named in the configuration.
func OpenDirectory(cfg config.Config, log *slog.Logger) (directory.Writer, error) {
	switch cfg.Directory.Backend {
	case "ldap":
		l := cfg.Directory.LDAP
		lc := ldapdir.Config{
			URL:        l.URL,
			BaseDN:     l.BaseDN,
			BindDN:     l.BindDN,
			StartTLS:   l.StartTLS,
			PoolSize:   l.PoolSize,
			Timeout:    time.Duration(l.TimeoutSeconds) * time.Second,
			CacheTTL:   time.Duration(l.CacheTTLSeconds) * time.Second,
			Schema:     l.Schema,
			RoleGroups: map[string]directory.Role{},
		}
		for dn, role := range l.RoleGroups {
			lc.RoleGroups[dn] = directory.Role(role)
		}
		if l.BindPasswordFile != "" {
			b, err := os.ReadFile(cfg.Path(l.BindPasswordFile))
			if err != nil {
				return nil, fmt.Errorf("directory.ldap.bind_password_file: %w", err)
			}
			lc.BindPassword = strings.TrimRight(string(b), "\r\n")
		}
		if l.CAFile != "" {
			pem, err := os.ReadFile(cfg.Path(l.CAFile))
			if err != nil {
				return nil, fmt.Errorf("directory.ldap.ca_file: %w", err)
			}
			roots := x509.NewCertPool()
			if !roots.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("directory.ldap.ca_file: no certificate in %s", l.CAFile)
			}
			lc.TLS = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		}
		d, err := ldapdir.Open(lc, ldapdir.Options{Logger: log})
		if err != nil || l.Schema != ldapdir.SchemaAD {
			return d, err
		}
		// Active Directory holds no congvu state: locks and units are
		// kept in congvu's own store, laid over what AD says.
		org, err := orgdb.Open(cfg.Path(cfg.Directory.OrgDBPath))
		if err != nil {
			d.Close()
			return nil, err
		}
		return orgdb.NewOverlay(d, org, d.Close, log), nil
	default:
		return sqldir.Open(cfg.Path(cfg.Directory.SQLitePath), sqldir.Options{Logger: log})
	}
}
