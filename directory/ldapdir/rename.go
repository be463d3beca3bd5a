package ldapdir

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"congvu/directory"
)

var (
	_ directory.Renamer     = (*Directory)(nil)
	_ directory.UnitRemover = (*Directory)(nil)
)

// RenameAccount implements directory.Renamer: the entry keeps its password
// (userPassword is never touched); an entry named uid=<old address> is
// renamed to uid=<new address> (ModifyDN, RFC 4511 4.9) and its attributes
// rewritten.
func (d *Directory) RenameAccount(ctx context.Context, oldAddress string, a directory.Account) error {
	if err := d.writable(); err != nil {
		return err
	}
	a, err := directory.CleanAccount(a)
	if err != nil {
		return err
	}
	e, old, err := d.find(ctx, oldAddress, true)
	if err != nil {
		return err
	}
	defer d.cache.purge()
	at := d.attrs
	var or strings.Builder
	for _, x := range append([]string{a.Address}, a.Aliases...) {
		fmt.Fprintf(&or, "(%s=%s)(%s=%s)", at.Mail, ldap.EscapeFilter(x), at.Aliases, ldap.EscapeFilter(at.AliasPrefix+x))
	}
	others, err := d.search(ctx, d.cfg.BaseDN, ldap.ScopeWholeSubtree,
		"(&(objectClass="+ldap.EscapeFilter(at.AccountClass)+")(|"+or.String()+"))", at.list())
	if err != nil {
		return err
	}
	for _, o := range others {
		if !strings.EqualFold(o.DN, e.DN) {
			return directory.ErrAddressTaken.With(fmt.Errorf("an address of %s belongs to %s", a.Address, d.toAccount(o).Address))
		}
	}
	dn := e.DN
	if parsed, perr := ldap.ParseDN(dn); perr == nil && len(parsed.RDNs) > 0 && len(parsed.RDNs[0].Attributes) == 1 &&
		strings.EqualFold(parsed.RDNs[0].Attributes[0].Type, "uid") && old.Address != a.Address {
		rdn := "uid=" + ldap.EscapeDN(a.Address)
		req := ldap.NewModifyDNRequest(dn, rdn, true, "")
		if err := d.writeErr(d.svc.do(ctx, func(c *ldap.Conn) error { return c.ModifyDN(req) })); err != nil {
			return err
		}
		_, parent, _ := strings.Cut(dn, ",")
		dn = rdn + "," + parent
	}
	stateChanged, pwdChanged := a.StateChanged, a.PasswordChanged
	if stateChanged.IsZero() {
		stateChanged = old.StateChanged
		if old.State != a.State {
			stateChanged = time.Now()
		}
	}
	if pwdChanged.IsZero() {
		pwdChanged = old.PasswordChanged
	}
	mod := ldap.NewModifyRequest(dn, nil)
	for _, x := range d.accountAttrs(a, stateChanged, pwdChanged) {
		mod.Replace(x.Type, x.Vals)
	}
	if err := d.writeErr(d.svc.do(ctx, func(c *ldap.Conn) error { return c.Modify(mod) })); err != nil {
		return err
	}
	d.log.Info("directory: account renamed", "from", old.Address, "to", a.Address, "unit", a.UnitCode)
	return nil
}

// DeleteUnit implements directory.UnitRemover; a unit that still has
// accounts or sub-units is refused.
func (d *Directory) DeleteUnit(ctx context.Context, code string) error {
	if err := d.writable(); err != nil {
		return err
	}
	entries, err := d.allUnits(ctx)
	if err != nil {
		return err
	}
	dn := ""
	for _, e := range entries {
		u := toUnit(e)
		if u.ParentCode == code {
			return directory.ErrInvalid.With(fmt.Errorf("unit %s still has sub-unit %s", code, u.Code))
		}
		if u.Code == code {
			dn = e.DN
		}
	}
	if dn == "" {
		return directory.ErrInvalid.With(fmt.Errorf("no unit %s", code))
	}
	if list, err := d.Accounts(ctx, code); err != nil {
		return err
	} else if len(list) > 0 {
		return directory.ErrInvalid.With(fmt.Errorf("unit %s still has %d accounts", code, len(list)))
	}
	defer d.cache.purge()
	if err := d.writeErr(d.svc.do(ctx, func(c *ldap.Conn) error { return c.Del(ldap.NewDelRequest(dn, nil)) })); err != nil {
		return err
	}
	d.log.Info("directory: unit deleted", "code", code)
	return nil
}
