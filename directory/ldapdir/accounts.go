package ldapdir

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"golang.org/x/text/unicode/norm"

	"congvu/directory"
	"congvu/directory/addr"
	"congvu/internal/mailerr"
)

// errRetired is ErrAccountDisabled with the retired wording (as sqldir).
var errRetired = mailerr.ErrAccountDisabled.WithMessage("Account is closed", "Tài khoản đã bị đóng")

// errADPasswordExpired: Active Directory accepted the password but wants
// it changed (expired, or "must change at next logon").
var errADPasswordExpired = mailerr.ErrPasswordExpired.WithMessage(
	"Mat khau da het han, hay doi mat khau khi dang nhap may tinh (Windows) / Password expired, change it when signing in to Windows",
	"Mật khẩu đã hết hạn, hãy đổi mật khẩu khi đăng nhập máy tính (Windows)")

// adBindReason returns the sub-code Active Directory puts in a failed
// bind's diagnostic ("… AcceptSecurityContext error, data 52e, v…"):
// 52e wrong password, 533 disabled, 532 password expired, 701 account
// expired, 773 must change password, 775 locked out. "" for other servers.
func adBindReason(err error) string {
	var le *ldap.Error
	if !errors.As(err, &le) || le.ResultCode != ldap.LDAPResultInvalidCredentials || le.Err == nil {
		return ""
	}
	_, rest, ok := strings.Cut(le.Err.Error(), ", data ")
	if !ok {
		return ""
	}
	code, _, _ := strings.Cut(rest, ",")
	return strings.ToLower(strings.TrimSpace(code))
}

// search runs a subtree or one-level search as the service account. A base
// that does not exist yet (empty directory) gives no entries. Large results
// are paged (RFC 2696) so that server size limits do not cut them.
func (d *Directory) search(ctx context.Context, base string, scope int, filter string, attrs []string) ([]*ldap.Entry, error) {
	req := ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases, 0, int(d.cfg.Timeout/time.Second), false,
		filter, attrs, nil)
	var res *ldap.SearchResult
	err := d.svc.do(ctx, func(c *ldap.Conn) error {
		var err error
		res, err = c.SearchWithPaging(req, 500)
		return err
	})
	if isCode(err, ldap.LDAPResultNoSuchObject) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return res.Entries, nil
}

// userFilter fills the configured filter with an escaped (RFC 4515) value.
func (d *Directory) userFilter(value string) string {
	return strings.ReplaceAll(d.cfg.UserFilter, "%s", ldap.EscapeFilter(value))
}

// find resolves a login or address to its entry. strict requires the form
// of an address (recipients); logins may be other names (AD).
func (d *Directory) find(ctx context.Context, login string, strict bool) (*ldap.Entry, *directory.Account, error) {
	key := directory.NormalizeAddress(login)
	if key == "" || len(key) > 254 || strict && directory.CheckAddress(key) != nil {
		return nil, nil, mailerr.ErrUnknownUser
	}
	entries, err := d.search(ctx, d.cfg.BaseDN, ldap.ScopeWholeSubtree, d.userFilter(key), d.attrs.list())
	if err != nil {
		return nil, nil, err
	}
	switch len(entries) {
	case 0:
		return nil, nil, mailerr.ErrUnknownUser
	case 1:
		return entries[0], d.toAccount(entries[0]), nil
	}
	// Several entries: the one whose primary address it is wins; otherwise
	// the directory is inconsistent, which is the operator's to fix, not a
	// reason to bounce mail permanently.
	for _, e := range entries {
		if a := d.toAccount(e); a.Address == key {
			return e, a, nil
		}
	}
	d.log.Warn("directory: address matches several LDAP entries", "address", key, "entries", len(entries))
	return nil, nil, mailerr.ErrDirectoryUnavailable.With(fmt.Errorf("%s matches %d entries", key, len(entries)))
}

// Lookup resolves an address or alias, case-insensitively, to its account,
// from the cache when it is fresh enough.
func (d *Directory) Lookup(ctx context.Context, address string) (*directory.Account, error) {
	key := directory.NormalizeAddress(address)
	if directory.CheckAddress(key) != nil {
		return nil, mailerr.ErrUnknownUser
	}
	now := time.Now()
	a, found, gen := d.cache.get(key, now)
	if found {
		if a == nil {
			return nil, mailerr.ErrUnknownUser
		}
		return a, nil
	}
	_, a, err := d.find(ctx, key, true)
	switch {
	case errors.Is(err, mailerr.ErrUnknownUser):
		d.cache.put(key, nil, gen, now)
		return nil, err
	case err != nil:
		return nil, err
	}
	d.cache.put(key, a, gen, now)
	return a, nil
}

// Authenticate finds the login's entry as the service account, then binds
// as that entry with password on a connection used only for user binds: the
// directory checks the password. Unknown logins and wrong passwords are both
// mailerr.ErrAuthFailed; a right password on a locked or retired account
// returns the account with mailerr.ErrAccountDisabled.
func (d *Directory) Authenticate(ctx context.Context, login, password string) (*directory.Account, error) {
	// The same password typed with combining marks or precomposed
	// characters is one password (SetPassword stores the NFC form).
	password = norm.NFC.String(password)
	e, a, err := d.find(ctx, login, false)
	if errors.Is(err, mailerr.ErrUnknownUser) {
		return nil, mailerr.ErrAuthFailed
	}
	if err != nil {
		return nil, err
	}
	if password == "" { // an empty simple bind is anonymous (RFC 4513 5.1.2)
		return a, mailerr.ErrAuthFailed
	}
	err = d.auth.do(ctx, func(c *ldap.Conn) error { return c.Bind(e.DN, password) })
	switch adBindReason(err) {
	case "533", "701", "775":
		// Active Directory says so only for the right password: the
		// account is disabled, expired or locked out in AD itself.
		a.State = directory.StateLocked
		return a, mailerr.ErrAccountDisabled
	case "532", "773":
		// The right password, expired in AD or to be changed at the next
		// Windows sign-in: where to change it is AD's business.
		return a, errADPasswordExpired
	}
	switch {
	case isCode(err, ldap.LDAPResultInvalidCredentials, ldap.LDAPResultInappropriateAuthentication,
		ldap.LDAPResultInsufficientAccessRights, ldap.LDAPResultUnwillingToPerform):
		// The account, so a failure typed as sAMAccountName or UPN counts
		// against it (issue 15 §12).
		return a, mailerr.ErrAuthFailed
	case err != nil:
		return nil, unavailable(err)
	}
	switch a.State {
	case directory.StateLocked:
		return a, mailerr.ErrAccountDisabled
	case directory.StateRetired:
		return a, errRetired
	}
	return a, nil
}

// Accounts lists the accounts of a unit (all when unitCode is empty),
// ordered by address.
func (d *Directory) Accounts(ctx context.Context, unitCode string) ([]directory.Account, error) {
	filter := "(objectClass=" + ldap.EscapeFilter(d.attrs.AccountClass) + ")"
	if unitCode != "" {
		if d.attrs.UnitCode == "" {
			return nil, nil
		}
		filter = "(&" + filter + "(" + d.attrs.UnitCode + "=" + ldap.EscapeFilter(unitCode) + "))"
	}
	entries, err := d.search(ctx, d.cfg.BaseDN, ldap.ScopeWholeSubtree, filter, d.attrs.list())
	if err != nil {
		return nil, err
	}
	list := make([]directory.Account, 0, len(entries))
	for _, e := range entries {
		if a := d.toAccount(e); a.Address != "" {
			list = append(list, *a)
		}
	}
	slices.SortFunc(list, func(a, b directory.Account) int { return strings.Compare(a.Address, b.Address) })
	return list, nil
}

// toAccount reads an entry through the attribute mapping.
func (d *Directory) toAccount(e *ldap.Entry) *directory.Account {
	at := d.attrs
	get := func(name string) string {
		if name == "" {
			return ""
		}
		return e.GetEqualFoldAttributeValue(name)
	}
	a := &directory.Account{
		Address:            directory.NormalizeAddress(get(at.Mail)),
		DisplayName:        norm.NFC.String(get(at.DisplayName)),
		UnitCode:           get(at.UnitCode),
		Title:              norm.NFC.String(get(at.Title)),
		Phone:              get(at.Phone),
		Role:               directory.Role(strings.ToLower(get(at.Role))),
		State:              directory.State(strings.ToLower(get(at.State))),
		StateChanged:       parseTime(get(at.StateChanged)),
		StateReason:        norm.NFC.String(get(at.StateReason)),
		PasswordChanged:    parseTime(get(at.PasswordChanged)),
		MustChangePassword: strings.EqualFold(get(at.MustChangePassword), "TRUE"),
		MailHost:           strings.ToLower(get(at.MailHost)),
	}
	a.QuotaBytes, _ = strconv.ParseInt(get(at.Quota), 10, 64)
	if at.Aliases != "" {
		for _, v := range e.GetEqualFoldAttributeValues(at.Aliases) {
			if at.AliasPrefix != "" {
				if len(v) < len(at.AliasPrefix) || !strings.EqualFold(v[:len(at.AliasPrefix)], at.AliasPrefix) {
					continue
				}
				v = v[len(at.AliasPrefix):]
			}
			if v = directory.NormalizeAddress(v); v != "" && v != a.Address {
				a.Aliases = append(a.Aliases, v)
			}
		}
		slices.Sort(a.Aliases)
		a.Aliases = slices.Compact(a.Aliases)
	}
	if a.Role == "" && at.MemberOf != "" {
		for _, g := range e.GetEqualFoldAttributeValues(at.MemberOf) {
			if r, ok := d.roleGroups[strings.ToLower(g)]; ok && (a.Role == "" || roleRank(r) > roleRank(a.Role)) {
				a.Role = r
			}
		}
	}
	if a.Role == "" {
		a.Role = directory.RoleOfficial
	}
	if a.State == "" {
		a.State = directory.StateActive
	}
	if uac, err := strconv.ParseInt(get(at.AccountControl), 10, 64); err == nil && uac&2 != 0 {
		a.State = directory.StateLocked // AD ACCOUNTDISABLE
	}
	return a
}

// roleRank orders roles when groups give several: the most powerful wins.
func roleRank(r directory.Role) int {
	return slices.Index([]directory.Role{directory.RoleUnit, directory.RoleOfficial, directory.RoleClerk,
		directory.RoleAdmin, directory.RoleOperator}, r)
}

// writable refuses writes through a mapping without the congvu attributes.
func (d *Directory) writable() error {
	if d.attrs.State == "" || d.attrs.Role == "" || d.attrs.StateChanged == "" || d.attrs.PasswordChanged == "" {
		return directory.ErrInvalid.With(errors.New("ldapdir: writes need the congvu schema attributes"))
	}
	return nil
}

// withFolded returns s and, when it differs, its form without diacritics, so
// that address-book searches typed without diacritics ("nguyen") find
// "Nguyễn" (LDAP matching rules fold case, not diacritics).
func withFolded(s string) []string {
	if f := addr.Fold(s); f != strings.ToLower(s) {
		return []string{s, f}
	}
	return []string{s}
}

// accountAttrs returns the attributes PutAccount writes, in a fixed order;
// empty value lists delete the attribute on modify.
func (d *Directory) accountAttrs(a directory.Account, stateChanged, pwdChanged time.Time) []ldap.Attribute {
	at := d.attrs
	one := func(s string) []string {
		if s == "" {
			return nil
		}
		return []string{s}
	}
	// Vietnamese names put the family name first: "Nguyễn Ngọc Thành" has
	// sn Nguyễn and givenName Thành. A nameless entry uses its local part.
	words := strings.Fields(a.DisplayName)
	local, _, _ := strings.Cut(a.Address, "@")
	cn, sn, given := []string{local}, []string{local}, []string(nil)
	if len(words) > 0 {
		cn, sn = withFolded(a.DisplayName), withFolded(words[0])
		if a.Role == directory.RoleUnit {
			sn = cn
		} else if len(words) > 1 {
			given = withFolded(words[len(words)-1])
		}
	}
	quota, stateTime, pwdTime := "", "", ""
	if a.QuotaBytes > 0 {
		quota = strconv.FormatInt(a.QuotaBytes, 10)
	}
	if !stateChanged.IsZero() {
		stateTime = formatTime(stateChanged)
	}
	if !pwdChanged.IsZero() {
		pwdTime = formatTime(pwdChanged)
	}
	must := "FALSE"
	if a.MustChangePassword {
		must = "TRUE"
	}
	list := []ldap.Attribute{
		{Type: "cn", Vals: cn}, {Type: "sn", Vals: sn}, {Type: "givenName", Vals: given},
		{Type: at.Mail, Vals: []string{a.Address}}, {Type: at.Aliases, Vals: a.Aliases},
		{Type: at.DisplayName, Vals: one(a.DisplayName)}, {Type: at.Title, Vals: one(a.Title)},
		{Type: at.Phone, Vals: one(a.Phone)}, {Type: at.UnitCode, Vals: one(a.UnitCode)},
		{Type: at.Role, Vals: one(string(a.Role))}, {Type: at.State, Vals: one(string(a.State))},
		{Type: at.StateChanged, Vals: one(stateTime)}, {Type: at.StateReason, Vals: one(a.StateReason)},
		{Type: at.Quota, Vals: one(quota)},
		{Type: at.MustChangePassword, Vals: one(must)}, {Type: at.PasswordChanged, Vals: one(pwdTime)},
		{Type: at.MailHost, Vals: one(a.MailHost)},
	}
	return slices.DeleteFunc(list, func(x ldap.Attribute) bool { return x.Type == "" })
}

// PutAccount creates or updates an account. A non-empty password is set
// with the Password Modify operation (the server hashes it); an empty one
// keeps the stored password. The aliases replace the stored ones. An address
// or alias held by another account is directory.ErrAddressTaken.
func (d *Directory) PutAccount(ctx context.Context, a directory.Account, password string) error {
	if err := d.writable(); err != nil {
		return err
	}
	a, err := directory.CleanAccount(a)
	if err != nil {
		return err
	}
	password = norm.NFC.String(password)
	defer d.cache.purge() // also after partial failures
	// A concurrent PutAccount of the same new address makes our Add fail
	// with entryAlreadyExists: the second round modifies it instead.
	for attempt := 0; ; attempt++ {
		dn, created, err := d.putAccountEntry(ctx, a, password != "")
		if isCode(err, ldap.LDAPResultEntryAlreadyExists) {
			if attempt == 0 {
				continue
			}
			return directory.ErrAddressTaken.With(err)
		}
		if err != nil {
			return err
		}
		if password != "" {
			if err := d.passwordModify(ctx, dn, password); err != nil {
				return err
			}
		}
		d.log.Info("directory: account saved", "address", a.Address, "created", created,
			"unit", a.UnitCode, "role", a.Role, "state", a.State, "password_set", password != "")
		return nil
	}
}

// putAccountEntry writes the entry of a (not the password) and returns its DN.
func (d *Directory) putAccountEntry(ctx context.Context, a directory.Account, newPassword bool) (dn string, created bool, err error) {
	at := d.attrs
	var or strings.Builder
	for _, x := range append([]string{a.Address}, a.Aliases...) {
		fmt.Fprintf(&or, "(%s=%s)(%s=%s)", at.Mail, ldap.EscapeFilter(x), at.Aliases, ldap.EscapeFilter(at.AliasPrefix+x))
	}
	filter := "(&(objectClass=" + ldap.EscapeFilter(at.AccountClass) + ")(|" + or.String() + "))"
	entries, err := d.search(ctx, d.cfg.BaseDN, ldap.ScopeWholeSubtree, filter, at.list())
	if err != nil {
		return "", false, err
	}
	var old *directory.Account
	for _, e := range entries {
		other := d.toAccount(e)
		if other.Address != a.Address {
			return "", false, directory.ErrAddressTaken.With(fmt.Errorf("an address of %s belongs to %s", a.Address, other.Address))
		}
		old, dn = other, e.DN
	}
	now := time.Now()
	stateChanged := a.StateChanged
	if stateChanged.IsZero() {
		if old == nil || old.State != a.State {
			stateChanged = now
		} else {
			stateChanged = old.StateChanged
		}
	}
	pwdChanged := a.PasswordChanged
	if newPassword {
		pwdChanged = now
	} else if pwdChanged.IsZero() && old != nil {
		pwdChanged = old.PasswordChanged
	}
	if a.MailHost == "" && old != nil {
		a.MailHost = old.MailHost // "" keeps the home node (directory.Account)
	}
	attrs := d.accountAttrs(a, stateChanged, pwdChanged)
	if old != nil {
		mod := ldap.NewModifyRequest(dn, nil)
		for _, x := range attrs {
			mod.Replace(x.Type, x.Vals)
		}
		err = d.svc.do(ctx, func(c *ldap.Conn) error { return c.Modify(mod) })
		return dn, false, d.writeErr(err)
	}
	dn = "uid=" + ldap.EscapeDN(a.Address) + "," + d.cfg.PeopleDN
	add := ldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"inetOrgPerson", at.AccountClass})
	add.Attribute("uid", []string{a.Address})
	for _, x := range attrs {
		if len(x.Vals) > 0 {
			add.Attribute(x.Type, x.Vals)
		}
	}
	return dn, true, d.addEntry(ctx, add, d.cfg.PeopleDN, "people")
}

// addEntry adds an entry, creating its container (an organizationalUnit)
// the first time.
func (d *Directory) addEntry(ctx context.Context, add *ldap.AddRequest, container, ou string) error {
	err := d.svc.do(ctx, func(c *ldap.Conn) error { return c.Add(add) })
	if isCode(err, ldap.LDAPResultNoSuchObject) {
		ca := ldap.NewAddRequest(container, nil)
		ca.Attribute("objectClass", []string{"organizationalUnit"})
		ca.Attribute("ou", []string{ou})
		cerr := d.svc.do(ctx, func(c *ldap.Conn) error { return c.Add(ca) })
		if cerr != nil && !isCode(cerr, ldap.LDAPResultEntryAlreadyExists) {
			return d.writeErr(cerr)
		}
		err = d.svc.do(ctx, func(c *ldap.Conn) error { return c.Add(add) })
	}
	if isCode(err, ldap.LDAPResultEntryAlreadyExists) {
		return err // the caller retries as a modify
	}
	return d.writeErr(err)
}

// writeErr classifies the result of a write.
func (d *Directory) writeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case isCode(err, ldap.LDAPResultConstraintViolation):
		// slapo-unique (deploy/ldap) refused a duplicate address.
		return directory.ErrAddressTaken.With(err)
	case isCode(err, ldap.LDAPResultObjectClassViolation, ldap.LDAPResultInvalidAttributeSyntax,
		ldap.LDAPResultUndefinedAttributeType, ldap.LDAPResultInvalidDNSyntax, ldap.LDAPResultNamingViolation):
		return directory.ErrInvalid.With(err)
	}
	return unavailable(err)
}

// passwordModify sets a password with the Password Modify extended
// operation (RFC 3062): it travels to the server, which hashes it
// (olcPasswordHash) — congvu never sees or stores a hash.
func (d *Directory) passwordModify(ctx context.Context, dn, password string) error {
	req := ldap.NewPasswordModifyRequest(dn, "", password)
	return d.writeErr(d.svc.do(ctx, func(c *ldap.Conn) error {
		_, err := c.PasswordModify(req)
		return err
	}))
}

// SetPassword replaces the password of the account at address (or alias)
// and sets whether it must be changed at the next login.
func (d *Directory) SetPassword(ctx context.Context, address, password string, mustChange bool) error {
	if err := d.writable(); err != nil {
		return err
	}
	password = norm.NFC.String(password)
	if password == "" {
		return directory.ErrWeakPassword.WithMessage("Empty password", "Mật khẩu trống")
	}
	e, a, err := d.find(ctx, address, true)
	if err != nil {
		return err
	}
	defer d.cache.purge()
	if err := d.passwordModify(ctx, e.DN, password); err != nil {
		return err
	}
	must := "FALSE"
	if mustChange {
		must = "TRUE"
	}
	mod := ldap.NewModifyRequest(e.DN, nil)
	mod.Replace(d.attrs.PasswordChanged, []string{formatTime(time.Now())})
	if d.attrs.MustChangePassword != "" {
		mod.Replace(d.attrs.MustChangePassword, []string{must})
	}
	if err := d.writeErr(d.svc.do(ctx, func(c *ldap.Conn) error { return c.Modify(mod) })); err != nil {
		return err
	}
	d.log.Info("directory: password changed", "address", a.Address, "must_change", mustChange)
	return nil
}

// SetState moves the account at address (or alias) to state s. StateChanged
// moves only when the state really changes.
func (d *Directory) SetState(ctx context.Context, address string, s directory.State) error {
	return d.SetStateReason(ctx, address, s, "")
}

// SetStateReason is SetState that also records why (congvuStateReason); an
// active account keeps no reason.
func (d *Directory) SetStateReason(ctx context.Context, address string, s directory.State, reason string) error {
	if err := d.writable(); err != nil {
		return err
	}
	if !directory.ValidState(s) {
		return directory.ErrInvalid.With(fmt.Errorf("state %q", s))
	}
	reason = norm.NFC.String(strings.TrimSpace(reason))
	if s == directory.StateActive {
		reason = ""
	}
	e, a, err := d.find(ctx, address, true)
	if err != nil {
		return err
	}
	if a.State == s && (a.StateReason == reason || d.attrs.StateReason == "") {
		return nil
	}
	defer d.cache.purge()
	mod := ldap.NewModifyRequest(e.DN, nil)
	if a.State != s {
		mod.Replace(d.attrs.State, []string{string(s)})
		mod.Replace(d.attrs.StateChanged, []string{formatTime(time.Now())})
	}
	if d.attrs.StateReason != "" {
		var vals []string
		if reason != "" {
			vals = []string{reason}
		}
		mod.Replace(d.attrs.StateReason, vals)
	}
	if err := d.writeErr(d.svc.do(ctx, func(c *ldap.Conn) error { return c.Modify(mod) })); err != nil {
		return err
	}
	d.log.Info("directory: state changed", "address", a.Address, "state", s, "reason", reason)
	return nil
}
