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
	"congvu/policy"
)

// OpenDirectory opens the directory backend named in the configuration,
// with congvu's own store (directory/orgdb) laid over it: domain aliases,
// transitional addresses, and with Active Directory the states and units
// AD cannot hold. OrgDB finds the store in the result.
func OpenDirectory(cfg config.Config, log *slog.Logger) (directory.Writer, error) {
	org, err := orgdb.Open(cfg.Path(cfg.Directory.OrgDBPath))
	if err != nil {
		return nil, err
	}
	w, err := openBackend(cfg, org, log)
	if err != nil {
		org.Close()
		return nil, err
	}
	return orgdb.NewResolver(w, org, log), nil
}

// OrgDB returns congvu's own directory-side store of a directory opened by
// OpenDirectory, nil for other directories.
func OrgDB(w directory.Directory) *orgdb.DB {
	if r, ok := directory.As[interface{ Org() *orgdb.DB }](w); ok {
		return r.Org()
	}
	return nil
}

// History is the directory of past periods for reports (policy.History):
// the organisation store of a directory opened by OpenDirectory, nil
// otherwise.
func History(w directory.Directory) policy.History {
	if org := OrgDB(w); org != nil {
		return org
	}
	return nil
}

func openBackend(cfg config.Config, org *orgdb.DB, log *slog.Logger) (directory.Writer, error) {
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
		return orgdb.NewOverlay(d, org, d.Close, log), nil
	default:
		return sqldir.Open(cfg.Path(cfg.Directory.SQLitePath), sqldir.Options{Logger: log})
	}
}
