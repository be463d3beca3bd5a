// Package ldapdir is the directory on LDAP: OpenLDAP with the congvu schema
// (deploy/ldap/congvu.ldif) in production, Active Directory where an agency
// already has one (read and authenticate only; see ADAttributes).
//
// Layout of the tree under Config.BaseDN (OpenLDAP):
//
//	ou=units,BASE      congvuUnitCode=<code>,ou=units,BASE   organizationalUnit + congvuUnit
//	ou=people,BASE     uid=<address>,ou=people,BASE          inetOrgPerson + congvuAccount
//
// The tree is flat on purpose: the organisation tree is carried by
// congvuParentUnitCode (units) and congvuUnitCode (accounts), so moving a
// unit or an official is an attribute change, never a subtree rename, and
// an account's DN never changes while its address stays. Searches for
// accounts cover the whole BaseDN subtree, so entries provisioned elsewhere
// by other tools are found too. The containers are created on first write.
//
// Passwords never leave the directory: Authenticate binds as the user on a
// connection of its own, SetPassword uses the Password Modify extended
// operation (RFC 3062) so that slapd hashes with its olcPasswordHash.
//
// Recipient lookups go through a bounded TTL cache with short negative
// caching; this process's own writes invalidate it. A directory that cannot
// be reached gives mailerr.ErrDirectoryUnavailable (temporary), never
// "unknown user", and the pool recovers by itself when the server returns.
package ldapdir

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"congvu/directory"
	"congvu/internal/mailerr"
)

// Schemas a Config may name.
const (
	SchemaOpenLDAP = "openldap"
	SchemaAD       = "ad"
)

// DefaultUserFilter finds an account by primary address or alias; every %s
// is replaced by the escaped (RFC 4515) normalised address.
const DefaultUserFilter = "(&(objectClass=congvuAccount)(|(mail=%s)(congvuMailAlias=%s)))"

// ADUserFilter is the Active Directory counterpart: logins by UPN,
// sAMAccountName or any SMTP address, disabled accounts included (they are
// reported as locked, see Attributes.AccountControl).
const ADUserFilter = "(&(objectCategory=person)(objectClass=user)(|(userPrincipalName=%s)(sAMAccountName=%s)(mail=%s)(proxyAddresses=smtp:%s)))"

// Attributes maps the fields of directory.Account to attribute names. An
// empty name means the directory does not hold that field.
type Attributes struct {
	// AccountClass is the object class of accounts (Accounts filter and new
	// entries).
	AccountClass string
	Mail         string // primary address (required)
	Aliases      string // other addresses
	// AliasPrefix is stripped (case-insensitively) from alias values, and
	// values without it are ignored: "smtp:" for AD proxyAddresses.
	AliasPrefix        string
	DisplayName        string
	Title              string
	Phone              string
	UnitCode           string
	Role               string
	State              string
	StateChanged       string
	StateReason        string
	Quota              string
	MustChangePassword string
	PasswordChanged    string
	MailHost           string
	// MemberOf lists group DNs; Config.RoleGroups maps them to roles.
	MemberOf string
	// AccountControl is AD's userAccountControl: the ACCOUNTDISABLE bit
	// (0x2) makes the account locked.
	AccountControl string
}

// OpenLDAPAttributes is the mapping for the congvu schema.
func OpenLDAPAttributes() Attributes {
	return Attributes{
		AccountClass: "congvuAccount", Mail: "mail", Aliases: "congvuMailAlias",
		DisplayName: "displayName", Title: "title", Phone: "telephoneNumber",
		UnitCode: "congvuUnitCode", Role: "congvuRole", State: "congvuMailboxState",
		StateChanged: "congvuStateChanged", StateReason: "congvuStateReason", Quota: "congvuQuotaBytes",
		MustChangePassword: "congvuMustChangePassword", PasswordChanged: "congvuPasswordChanged",
		MailHost: "congvuMailHost",
	}
}

// ADAttributes is the documented mapping for Active Directory, used with
// UserFilter = ADUserFilter and RoleGroups. Aliases come from
// proxyAddresses ("smtp:" values; the "SMTP:" primary equals mail), the unit
// from department (put the unit code there), the role from memberOf through
// Config.RoleGroups (default official), the state from userAccountControl.
// AD has no place for quota, must-change or state dates; the Writer methods
// are for OpenLDAP only (AD passwords are set with AD's own tools).
func ADAttributes() Attributes {
	return Attributes{
		AccountClass: "user", Mail: "mail", Aliases: "proxyAddresses", AliasPrefix: "smtp:",
		DisplayName: "displayName", Title: "title", Phone: "telephoneNumber",
		UnitCode: "department", MemberOf: "memberOf", AccountControl: "userAccountControl",
	}
}

// list returns the attribute names to request in searches.
func (a Attributes) list() []string {
	var out []string
	for _, s := range []string{a.Mail, a.Aliases, a.DisplayName, a.Title, a.Phone, a.UnitCode, a.Role, a.State,
		a.StateChanged, a.StateReason, a.Quota, a.MustChangePassword, a.PasswordChanged, a.MailHost, a.MemberOf, a.AccountControl} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Config configures the LDAP directory. Zero fields take the defaults given.
type Config struct {
	// URL is ldap://host[:port]/ or ldaps://host[:port]/, or several
	// separated by spaces or commas (as in OpenLDAP's ldap.conf URI):
	// replicated providers, tried in turn when one does not answer.
	URL    string
	BaseDN string
	// UnitsDN and PeopleDN hold new units and accounts; default
	// ou=units,BaseDN and ou=people,BaseDN.
	UnitsDN, PeopleDN string
	// BindDN and BindPassword are the service account: it searches, and it
	// writes (it needs write access to the congvu attributes and the
	// right to set passwords).
	BindDN, BindPassword string
	// StartTLS upgrades ldap:// connections (RFC 4513 3); use it or ldaps://
	// whenever the directory is not on the same host.
	StartTLS bool
	// TLS for ldaps:// and StartTLS; nil uses the system roots. The minimum
	// version is raised to TLS 1.2 in any case.
	TLS *tls.Config
	// PoolSize bounds the service connections, and separately the
	// connections used for user binds (default 8 each).
	PoolSize int
	// Timeout bounds dialing and each request (default 5s).
	Timeout time.Duration
	// HealthCheckAfter: an idle connection older than this is checked
	// before use (default 30s).
	HealthCheckAfter time.Duration
	// CacheTTL is how long a Lookup result is reused (default 60s;
	// negative disables the cache). NegativeCacheTTL is the same for
	// unknown addresses (default 10s; negative disables).
	CacheTTL, NegativeCacheTTL time.Duration
	// CacheSize bounds the cached addresses (default 10000).
	CacheSize int
	// Schema selects the attribute mapping and user filter when
	// Attributes and UserFilter are left zero: "openldap" (or "") for the
	// congvu schema, "ad" for Active Directory (ADAttributes, ADUserFilter).
	Schema string
	// UserFilter finds an account by login or address (DefaultUserFilter).
	UserFilter string
	// Attributes maps account fields; zero value: OpenLDAPAttributes().
	Attributes Attributes
	// RoleGroups maps group DNs (from Attributes.MemberOf, compared
	// case-insensitively) to roles, for directories without congvuRole.
	RoleGroups map[string]directory.Role
}

// Options are the dependencies of a Directory.
type Options struct {
	// Logger receives account changes and backend problems; never
	// passwords. Nil discards.
	Logger *slog.Logger
}

// Directory is a directory.Writer on LDAP, safe for concurrent use.
type Directory struct {
	cfg   Config
	attrs Attributes
	log   *slog.Logger
	svc   *pool // bound as the service account: searches and writes
	auth  *pool // user binds only, so a bind never changes a search identity
	cache *cache
	// roleGroups is Config.RoleGroups with lower-case keys.
	roleGroups map[string]directory.Role
}

var _ directory.Writer = (*Directory)(nil)

// Open checks cfg and returns a Directory. It does not contact the server:
// a directory that is down at start-up gives ErrDirectoryUnavailable on use
// and works as soon as it comes back. Use Ping to check at start-up.
func Open(cfg Config, opts Options) (*Directory, error) {
	urls := SplitURLs(cfg.URL)
	if len(urls) == 0 || cfg.BaseDN == "" {
		return nil, errors.New("ldapdir: URL and BaseDN are required")
	}
	var u *url.URL
	for _, s := range urls {
		var err error
		u, err = url.Parse(s)
		if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
			return nil, fmt.Errorf("ldapdir: URL %q is not ldap://host/ or ldaps://host/", s)
		}
		if cfg.StartTLS && u.Scheme == "ldaps" {
			return nil, errors.New("ldapdir: StartTLS with ldaps:// makes no sense")
		}
	}
	if _, err := ldap.ParseDN(cfg.BaseDN); err != nil {
		return nil, fmt.Errorf("ldapdir: BaseDN %q: %w", cfg.BaseDN, err)
	}
	if cfg.UnitsDN == "" {
		cfg.UnitsDN = "ou=units," + cfg.BaseDN
	}
	if cfg.PeopleDN == "" {
		cfg.PeopleDN = "ou=people," + cfg.BaseDN
	}
	cfg.PoolSize = cmp.Or(cfg.PoolSize, 8)
	cfg.Timeout = cmp.Or(cfg.Timeout, 5*time.Second)
	cfg.HealthCheckAfter = cmp.Or(cfg.HealthCheckAfter, 30*time.Second)
	cfg.CacheTTL = cmp.Or(cfg.CacheTTL, 60*time.Second)
	cfg.NegativeCacheTTL = cmp.Or(cfg.NegativeCacheTTL, 10*time.Second)
	cfg.CacheSize = cmp.Or(cfg.CacheSize, 10000)
	switch cfg.Schema {
	case "", SchemaOpenLDAP:
		cfg.UserFilter = cmp.Or(cfg.UserFilter, DefaultUserFilter)
	case SchemaAD:
		cfg.UserFilter = cmp.Or(cfg.UserFilter, ADUserFilter)
		if cfg.Attributes == (Attributes{}) {
			cfg.Attributes = ADAttributes()
		}
	default:
		return nil, fmt.Errorf("ldapdir: schema %q is not %q or %q", cfg.Schema, SchemaOpenLDAP, SchemaAD)
	}
	if !strings.Contains(cfg.UserFilter, "%s") {
		return nil, fmt.Errorf("ldapdir: UserFilter %q has no %%s", cfg.UserFilter)
	}
	if _, err := ldap.CompileFilter(strings.ReplaceAll(cfg.UserFilter, "%s", "x")); err != nil {
		return nil, fmt.Errorf("ldapdir: UserFilter %q: %w", cfg.UserFilter, err)
	}
	attrs := cfg.Attributes
	if attrs == (Attributes{}) {
		attrs = OpenLDAPAttributes()
	}
	if attrs.Mail == "" || attrs.AccountClass == "" {
		return nil, errors.New("ldapdir: Attributes.Mail and AccountClass are required")
	}
	tlsCfg := &tls.Config{}
	if cfg.TLS != nil {
		tlsCfg = cfg.TLS.Clone()
	}
	tlsCfg.MinVersion = max(tlsCfg.MinVersion, tls.VersionTLS12)
	if tlsCfg.ServerName == "" && len(urls) == 1 {
		tlsCfg.ServerName = u.Hostname() // several: each dial names its own host
	}
	cfg.TLS = tlsCfg
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d := &Directory{cfg: cfg, attrs: attrs, log: logger,
		cache: newCache(cfg.CacheSize, cfg.CacheTTL, cfg.NegativeCacheTTL)}
	d.roleGroups = make(map[string]directory.Role, len(cfg.RoleGroups))
	for g, r := range cfg.RoleGroups {
		if !directory.ValidRole(r) {
			return nil, fmt.Errorf("ldapdir: RoleGroups: unknown role %q for %s", r, g)
		}
		d.roleGroups[strings.ToLower(g)] = r
	}
	servers := &servers{urls: urls}
	d.svc = newPool(cfg, true, servers)
	d.auth = newPool(cfg, false, servers)
	return d, nil
}

// Close closes every connection. Operations after Close fail.
func (d *Directory) Close() error {
	d.svc.close()
	d.auth.close()
	return nil
}

// Ping checks that the directory answers to the service account.
func (d *Directory) Ping(ctx context.Context) error {
	if err := d.svc.do(ctx, ping); err != nil {
		return unavailable(err)
	}
	return nil
}

// unavailable wraps a backend failure: temporary, never "unknown user".
func unavailable(err error) error {
	if e := mailerr.As(err); e != nil {
		return e
	}
	return mailerr.ErrDirectoryUnavailable.With(err)
}

// isCode reports whether err is an LDAP result with one of codes.
func isCode(err error, codes ...uint16) bool {
	var le *ldap.Error
	if !errors.As(err, &le) {
		return false
	}
	for _, c := range codes {
		if le.ResultCode == c {
			return true
		}
	}
	return false
}

// brokenConn reports whether err means the connection itself is unusable
// (as opposed to a refused operation), so the pool must discard it.
func brokenConn(err error) bool {
	if err == nil {
		return false
	}
	var le *ldap.Error
	if !errors.As(err, &le) {
		// Dial and I/O errors; not our own refusals or the caller giving up.
		return mailerr.As(err) == nil && !errors.Is(err, errClosed) &&
			!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	}
	switch le.ResultCode {
	case ldap.ErrorNetwork, ldap.LDAPResultTimeout, ldap.LDAPResultServerDown, ldap.LDAPResultConnectError,
		ldap.LDAPResultUnavailable, ldap.LDAPResultBusy, ldap.ErrorUnexpectedResponse, ldap.ErrorUnexpectedMessage,
		ldap.ErrorMalformedPacket, ldap.LDAPResultProtocolError:
		return true
	}
	return false
}

// generalizedTime is the LDAP GeneralizedTime form written (RFC 4517 3.3.13).
const generalizedTime = "20060102150405.000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(generalizedTime) }

// parseTime reads GeneralizedTime with or without fraction; bad values give
// the zero time.
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	// Go accepts a fraction after the seconds even if the layout has none.
	for _, layout := range []string{"20060102150405Z0700", "20060102150405Z07"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
