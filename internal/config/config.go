// Package config loads congvu's single TOML configuration file. Every option
// has a default here, and deploy/congvu.example.toml documents each of them;
// TestExampleMatchesDefaults keeps the two in step.
package config

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"
)

// Config is the whole configuration.
type Config struct {
	Server    Server    `toml:"server"`
	Log       Log       `toml:"log"`
	TLS       TLS       `toml:"tls"`
	Listen    Listen    `toml:"listen"`
	Directory Directory `toml:"directory"`
	Storage   Storage   `toml:"storage"`
	SMTP      SMTP      `toml:"smtp"`
	IMAP      IMAP      `toml:"imap"`
	Policy    Policy    `toml:"policy"`
	Web       Web       `toml:"web"`
	Password  Password  `toml:"password"`
	Outbound  Outbound  `toml:"outbound"`
	DKIM      DKIM      `toml:"dkim"`
	Inbound   Inbound   `toml:"inbound"`
	DNS       DNS       `toml:"dns"`
	Limits    Limits    `toml:"limits"`
	Scan      Scan      `toml:"scan"`
	// What clients and other servers are told (clients.go).
	Publish     Publish     `toml:"publish"`
	Sieve       Sieve       `toml:"sieve"`
	AddressBook AddressBook `toml:"addressbook"`
	// Production (acme.go, cluster.go).
	ACME    ACME    `toml:"acme"`
	Cluster Cluster `toml:"cluster"`
	Signing Signing `toml:"signing"`
	// Provisioning requests (requests.go).
	Requests Requests `toml:"requests"`
}

// Server holds identity and paths.
type Server struct {
	// Hostname is used in greetings and Received headers.
	Hostname string `toml:"hostname"`
	// DataDir holds the mail store, the directory database and generated
	// certificates; relative paths below are resolved against it.
	DataDir string `toml:"data_dir"`
	// LocalDomains are the domains whose mail this server stores.
	LocalDomains []string `toml:"local_domains"`
	// Domains holds per-domain overrides, keyed by a local domain.
	Domains map[string]ServerDomain `toml:"domains"`
}

// Log configures log/slog output.
type Log struct {
	Format string `toml:"format"` // "text" or "json"
	Level  string `toml:"level"`  // "debug", "info", "warn", "error"
}

// TLS names the certificate; with both empty a self-signed one is generated
// in DataDir (fine for quickstart, not for production).
type TLS struct {
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
}

// Listen holds one address per listener; an empty address disables it.
type Listen struct {
	SMTP        string `toml:"smtp"`
	Submission  string `toml:"submission"`
	Submissions string `toml:"submissions"`
	IMAP        string `toml:"imap"`
	IMAPS       string `toml:"imaps"`
	POP3        string `toml:"pop3"`
	POP3S       string `toml:"pop3s"`
	HTTP        string `toml:"http"`
	HTTPS       string `toml:"https"`
	// Admin serves /metrics and /healthz for operators and monitoring;
	// keep it on loopback or a management network.
	Admin       string `toml:"admin"`
	LDAP        string `toml:"ldap"`
	LDAPS       string `toml:"ldaps"`
	ManageSieve string `toml:"managesieve"`
	// Behind nginx's mail proxy (cluster.go): connections from
	// cluster.proxy_networks only, the client's address from the PROXY
	// protocol (IMAP, POP3) or XCLIENT (submission).
	IMAPProxy       string `toml:"imap_proxy"`
	POP3Proxy       string `toml:"pop3_proxy"`
	SubmissionProxy string `toml:"submission_proxy"`
	// Relay takes mail for this node's mailboxes from the other nodes
	// (SMTP over TLS, authenticated with cluster.secret_file).
	Relay string `toml:"relay"`
}

// Directory selects the directory backend.
type Directory struct {
	Backend    string `toml:"backend"`     // "sqlite" or "ldap"
	SQLitePath string `toml:"sqlite_path"` // relative to DataDir
	// OrgDBPath is congvu's own directory-side store (package
	// directory/orgdb): domain aliases, groups, transitional addresses,
	// membership history, provisioning requests, and with Active
	// Directory the account states and units. Relative to DataDir.
	OrgDBPath string `toml:"org_db_path"`
	// TransitionalMonths is how long an address that changed (transfer,
	// merged or renamed unit) keeps delivering as an alias.
	TransitionalMonths int `toml:"transitional_months"`
	// OldAddressNotice tells the sender of mail to an old address (a
	// transitional address or one at an alias domain) the new one, in
	// Vietnamese and English; the mail itself is delivered as always. Off
	// by default: the notice goes to the envelope sender, which whoever
	// sends can choose, so an operator turns it on knowingly. Never to the
	// null sender, automatic mail or mailing lists (RFC 3834).
	OldAddressNotice bool `toml:"old_address_notice"`
	// OldAddressNoticeDays: at most one notice per sender and old address
	// in this many days (remembered across restarts).
	OldAddressNoticeDays int  `toml:"old_address_notice_days"`
	LDAP                 LDAP `toml:"ldap"`
}

// LDAP configures the LDAP v3 directory (OpenLDAP with deploy/ldap/congvu.ldif).
type LDAP struct {
	// Schema is "openldap" (the congvu schema, deploy/ldap/congvu.ldif;
	// congvu provisions accounts) or "ad" (Active Directory: congvu reads
	// and authenticates — logins by sAMAccountName, userPrincipalName or
	// any SMTP address, aliases from proxyAddresses, the unit code from
	// department, roles from memberOf through RoleGroups, disabled
	// accounts from userAccountControl — and keeps the states AD has no
	// place for, and the units, in org_db_path).
	Schema string `toml:"schema"`
	// RoleGroups maps group DNs (memberOf) to congvu roles: "unitadmin",
	// "operator", "clerk", "unit"; accounts in none are officials.
	RoleGroups map[string]string `toml:"role_groups"`
	URL        string            `toml:"url"`     // ldap://host:389/ or ldaps://host:636/
	BaseDN     string            `toml:"base_dn"` // e.g. dc=khanhhoa,dc=gov,dc=vn
	BindDN     string            `toml:"bind_dn"` // service account that searches and provisions
	// BindPasswordFile holds the service account's password, so the secret
	// stays out of this file (relative to DataDir).
	BindPasswordFile string `toml:"bind_password_file"`
	StartTLS         bool   `toml:"start_tls"`
	// CAFile is a PEM bundle to trust for the directory's certificate;
	// empty means the system roots.
	CAFile          string `toml:"ca_file"`
	PoolSize        int    `toml:"pool_size"`
	TimeoutSeconds  int    `toml:"timeout_seconds"`
	CacheTTLSeconds int    `toml:"cache_ttl_seconds"`
}

// Storage configures the mail store.
type Storage struct {
	Path              string `toml:"path"` // relative to DataDir
	DefaultQuotaBytes int64  `toml:"default_quota_bytes"`
	// MaxMessages bounds the messages of one mailbox (IMAP QUOTA MESSAGE
	// resource, RFC 9208); negative means no limit.
	MaxMessages int64 `toml:"max_messages"`
}

// SMTP configures smtpd.
type SMTP struct {
	// MaxMessageBytes is the largest message, sized so that an attachment
	// of MaxAttachmentBytes still fits after base64 (4/3 and a CRLF every
	// 76 characters: 30 MiB becomes about 41 MiB).
	MaxMessageBytes int64 `toml:"max_message_bytes"`
	// MaxAttachmentBytes bounds each part of a message after its transfer
	// encoding is decoded (the regulation's "attachments up to 30 MB").
	MaxAttachmentBytes int64 `toml:"max_attachment_bytes"`
	MaxRecipients      int   `toml:"max_recipients"`
	// Outbound enables delivery to other domains through the outbound
	// queue (the [outbound] section).
	Outbound bool `toml:"outbound"`
}

// IMAP configures imapd.
type IMAP struct {
	IdleTimeoutSeconds int `toml:"idle_timeout_seconds"`
	// SharedACLPath is the database of the rights administrators gave on
	// the units' shared mailboxes (SETACL), relative to data_dir.
	SharedACLPath string `toml:"shared_acl_path"`
}

// Default returns the configuration used when a file leaves options out.
func Default() Config {
	return Config{
		Server: Server{
			Hostname:     "localhost",
			DataDir:      "/var/lib/congvu",
			LocalDomains: nil,
		},
		Log: Log{Format: "text", Level: "info"},
		Listen: Listen{
			SMTP:        "127.0.0.1:2525",
			Submission:  "127.0.0.1:2587",
			Submissions: "127.0.0.1:2465",
			IMAP:        "127.0.0.1:2143",
			IMAPS:       "127.0.0.1:2993",
			POP3:        "127.0.0.1:2110",
			POP3S:       "127.0.0.1:2995",
			HTTP:        "127.0.0.1:8080",
			HTTPS:       "127.0.0.1:8443",
			Admin:       "127.0.0.1:8081",
			LDAP:        "127.0.0.1:2389",
			LDAPS:       "127.0.0.1:2636",
			ManageSieve: "127.0.0.1:24190",
		},
		Directory: Directory{Backend: "sqlite", SQLitePath: "directory.db", OrgDBPath: "org.db", TransitionalMonths: 12, OldAddressNoticeDays: 30,
			LDAP: LDAP{Schema: "openldap", RoleGroups: map[string]string{}, PoolSize: 8, TimeoutSeconds: 5, CacheTTLSeconds: 60}},
		Requests: defaultRequests(),
		Storage:  Storage{Path: "mail", DefaultQuotaBytes: 2 << 30, MaxMessages: 1_000_000},
		SMTP:     SMTP{MaxMessageBytes: 42 << 20, MaxAttachmentBytes: 30 << 20, MaxRecipients: 100},
		IMAP:     IMAP{IdleTimeoutSeconds: 1800, SharedACLPath: "shared-acl.db"},
		Policy:   DefaultPolicy(),
		Web:      defaultWeb(),
		Password: defaultPassword(),
		// Mail between servers (outbound.go).
		Outbound: defaultOutbound(), DKIM: defaultDKIM(), Inbound: defaultInbound(), DNS: defaultDNS(),
		Limits: defaultLimits(), Scan: defaultScan(),
		// Clients (clients.go).
		Publish: defaultPublish(), Sieve: defaultSieve(), AddressBook: defaultAddressBook(),
		ACME: defaultACME(), Cluster: defaultCluster(),
		// Digital signatures (signing.go).
		Signing: defaultSigning(),
	}
}

// Load reads a TOML file over the defaults and validates the result.
// Unknown keys are errors, so a typo never silently falls back to a default.
func Load(path string) (Config, error) {
	cfg := Default()
	md, err := toml.DecodeFile(path, &cfg)
	if err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	if undec := md.Undecoded(); len(undec) > 0 {
		keys := make([]string, len(undec))
		for i, k := range undec {
			keys[i] = k.String()
		}
		return cfg, fmt.Errorf("config %s: unknown options: %s", path, strings.Join(keys, ", "))
	}
	if !filepath.IsAbs(cfg.Server.DataDir) {
		cfg.Server.DataDir = filepath.Join(filepath.Dir(path), cfg.Server.DataDir)
	}
	return cfg, cfg.Validate()
}

// Validate checks values that would otherwise fail late or insecurely.
func (c *Config) Validate() error {
	if c.Server.DataDir == "" {
		return fmt.Errorf("server.data_dir must be set")
	}
	if len(c.Server.LocalDomains) == 0 {
		return fmt.Errorf("server.local_domains must list at least one domain")
	}
	for i, d := range c.Server.LocalDomains {
		d = strings.ToLower(strings.TrimSpace(d))
		if d == "" || strings.ContainsAny(d, " @/") {
			return fmt.Errorf("server.local_domains: invalid domain %q", c.Server.LocalDomains[i])
		}
		c.Server.LocalDomains[i] = d
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return fmt.Errorf("tls.cert_file and tls.key_file must be set together")
	}
	for name, addr := range c.Listen.byName() {
		if addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("listen.%s: %w", name, err)
		}
	}
	if err := c.Limits.validate(); err != nil {
		return err
	}
	if err := c.Scan.validate(); err != nil {
		return err
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return fmt.Errorf("log.format must be text or json, not %q", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level must be debug, info, warn or error, not %q", c.Log.Level)
	}
	switch c.Directory.Backend {
	case "sqlite":
	case "ldap":
		l := c.Directory.LDAP
		if l.URL == "" || l.BaseDN == "" {
			return fmt.Errorf("directory.ldap.url and directory.ldap.base_dn must be set for the ldap backend")
		}
		// Several URLs (replicated providers) are separated by spaces or commas.
		for _, u := range strings.FieldsFunc(l.URL, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
			if !strings.HasPrefix(u, "ldaps://") && !l.StartTLS && !isLoopbackURL(u) {
				return fmt.Errorf("directory.ldap: %s is not encrypted; use ldaps:// or start_tls = true", u)
			}
		}
		if l.PoolSize <= 0 || l.TimeoutSeconds <= 0 {
			return fmt.Errorf("directory.ldap.pool_size and timeout_seconds must be positive")
		}
		if l.Schema != "openldap" && l.Schema != "ad" {
			return fmt.Errorf("directory.ldap.schema must be \"openldap\" or \"ad\", not %q", l.Schema)
		}
		for dn, role := range l.RoleGroups {
			switch role {
			case "official", "clerk", "unitadmin", "operator", "unit":
			default:
				return fmt.Errorf("directory.ldap.role_groups: %q maps to unknown role %q", dn, role)
			}
		}
	default:
		return fmt.Errorf("directory.backend %q is not supported (sqlite or ldap)", c.Directory.Backend)
	}
	if err := c.Requests.validate(); err != nil {
		return err
	}
	if c.Directory.OrgDBPath == "" || c.Directory.TransitionalMonths <= 0 || c.Directory.OldAddressNoticeDays <= 0 {
		return fmt.Errorf("directory.org_db_path must be set, directory.transitional_months and old_address_notice_days positive")
	}
	if c.SMTP.MaxMessageBytes <= 0 || c.SMTP.MaxRecipients <= 0 || c.Storage.DefaultQuotaBytes <= 0 || c.SMTP.MaxAttachmentBytes < 0 {
		return fmt.Errorf("smtp.max_message_bytes, smtp.max_recipients and storage.default_quota_bytes must be positive, smtp.max_attachment_bytes not negative")
	}
	if err := c.validateWeb(); err != nil {
		return err
	}
	if err := c.Policy.Validate(); err != nil {
		return err
	}
	if err := c.validateClients(); err != nil {
		return err
	}
	if err := c.validateACME(); err != nil {
		return err
	}
	if err := c.validateCluster(); err != nil {
		return err
	}
	if err := c.Signing.validate(); err != nil {
		return err
	}
	return c.validateMail()
}

// isLoopbackURL reports whether an ldap:// URL points at this machine, the
// only place a directory may be reached without TLS.
func isLoopbackURL(u string) bool {
	host := strings.TrimPrefix(u, "ldap://")
	host, _, _ = strings.Cut(host, "/")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (l Listen) byName() map[string]string {
	return map[string]string{
		"smtp": l.SMTP, "submission": l.Submission, "submissions": l.Submissions,
		"imap": l.IMAP, "imaps": l.IMAPS, "pop3": l.POP3, "pop3s": l.POP3S, "http": l.HTTP,
		"https": l.HTTPS, "admin": l.Admin, "ldap": l.LDAP, "ldaps": l.LDAPS, "managesieve": l.ManageSieve,
		"imap_proxy": l.IMAPProxy, "pop3_proxy": l.POP3Proxy, "submission_proxy": l.SubmissionProxy, "relay": l.Relay,
	}
}

// Path resolves p against the data directory.
func (c *Config) Path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Server.DataDir, p)
}

// Write stores c as TOML at path with mode 0600.
func Write(path string, c Config) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if err := toml.NewEncoder(f).Encode(c); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
