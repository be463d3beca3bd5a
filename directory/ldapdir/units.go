package ldapdir

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"
	"golang.org/x/text/unicode/norm"

	"congvu/directory"
)

// maxUnitDepth bounds the walk up the tree when checking for cycles; real
// trees are 3–4 levels deep.
const maxUnitDepth = 32

// Unit entries: organizationalUnit + congvuUnit. ou holds the name (and its
// form without diacritics, for address-book search); displayName holds the
// name exactly as given, since ou is multi-valued.
var unitAttrs = []string{"ou", "displayName", "congvuUnitCode", "congvuUnitKind", "congvuUnitAbbr",
	"congvuParentUnitCode", "mail"}

// unitsFilter selects unit entries.
const unitsFilter = "(objectClass=congvuUnit)"

func toUnit(e *ldap.Entry) directory.Unit {
	u := directory.Unit{
		Code:       e.GetEqualFoldAttributeValue("congvuUnitCode"),
		Name:       norm.NFC.String(e.GetEqualFoldAttributeValue("displayName")),
		Abbr:       e.GetEqualFoldAttributeValue("congvuUnitAbbr"),
		Kind:       directory.UnitKind(strings.ToLower(e.GetEqualFoldAttributeValue("congvuUnitKind"))),
		ParentCode: e.GetEqualFoldAttributeValue("congvuParentUnitCode"),
		Address:    directory.NormalizeAddress(e.GetEqualFoldAttributeValue("mail")),
	}
	if u.Name == "" {
		u.Name = norm.NFC.String(e.GetEqualFoldAttributeValue("ou"))
	}
	return u
}

// allUnits reads every unit entry with its DN.
func (d *Directory) allUnits(ctx context.Context) ([]*ldap.Entry, error) {
	return d.search(ctx, d.cfg.BaseDN, ldap.ScopeWholeSubtree, unitsFilter, unitAttrs)
}

// PutUnit creates or updates a unit. Its parent need not exist yet (imports
// may come in any order), but a unit may not become its own ancestor.
func (d *Directory) PutUnit(ctx context.Context, u directory.Unit) error {
	u.Code = strings.TrimSpace(u.Code)
	u.ParentCode = strings.TrimSpace(u.ParentCode)
	u.Name = norm.NFC.String(strings.TrimSpace(u.Name))
	u.Abbr = strings.ToLower(strings.TrimSpace(u.Abbr))
	if u.Code == "" || u.Name == "" || !directory.ValidUnitKind(u.Kind) || u.ParentCode == u.Code {
		return directory.ErrInvalid.With(fmt.Errorf("unit %q (%q): kind %q, parent %q", u.Code, u.Name, u.Kind, u.ParentCode))
	}
	if u.Address != "" {
		u.Address = directory.NormalizeAddress(u.Address)
		if err := directory.CheckAddress(u.Address); err != nil {
			return directory.ErrBadAddress.With(err)
		}
	}
	entries, err := d.allUnits(ctx)
	if err != nil {
		return err
	}
	parent := make(map[string]string, len(entries))
	dn := ""
	for _, e := range entries {
		x := toUnit(e)
		parent[x.Code] = x.ParentCode
		if x.Code == u.Code {
			dn = e.DN
		}
	}
	// Walk up from the new parent; meeting u.Code again would close a cycle.
	for p, depth := u.ParentCode, 0; p != ""; p, depth = parent[p], depth+1 {
		if p == u.Code || depth > maxUnitDepth {
			return directory.ErrInvalid.With(fmt.Errorf("unit %s: parent %s would make a cycle", u.Code, u.ParentCode))
		}
	}
	one := func(s string) []string {
		if s == "" {
			return nil
		}
		return []string{s}
	}
	attrs := []ldap.Attribute{
		{Type: "ou", Vals: withFolded(u.Name)}, {Type: "displayName", Vals: []string{u.Name}},
		{Type: "congvuUnitKind", Vals: []string{string(u.Kind)}}, {Type: "congvuUnitAbbr", Vals: one(u.Abbr)},
		{Type: "congvuParentUnitCode", Vals: one(u.ParentCode)}, {Type: "mail", Vals: one(u.Address)},
	}
	defer d.cache.purge()
	if dn != "" {
		mod := ldap.NewModifyRequest(dn, nil)
		for _, x := range attrs {
			mod.Replace(x.Type, x.Vals)
		}
		err = d.writeErr(d.svc.do(ctx, func(c *ldap.Conn) error { return c.Modify(mod) }))
	} else {
		add := ldap.NewAddRequest("congvuUnitCode="+ldap.EscapeDN(u.Code)+","+d.cfg.UnitsDN, nil)
		add.Attribute("objectClass", []string{"organizationalUnit", "congvuUnit"})
		add.Attribute("congvuUnitCode", []string{u.Code})
		for _, x := range attrs {
			if len(x.Vals) > 0 {
				add.Attribute(x.Type, x.Vals)
			}
		}
		err = d.addEntry(ctx, add, d.cfg.UnitsDN, "units")
		if isCode(err, ldap.LDAPResultEntryAlreadyExists) {
			// Created concurrently: write ours over it.
			mod := ldap.NewModifyRequest(add.DN, nil)
			for _, x := range attrs {
				mod.Replace(x.Type, x.Vals)
			}
			err = d.writeErr(d.svc.do(ctx, func(c *ldap.Conn) error { return c.Modify(mod) }))
		}
	}
	if err != nil {
		return err
	}
	d.log.Info("directory: unit saved", "code", u.Code, "abbr", u.Abbr, "parent", u.ParentCode)
	return nil
}

// Units lists every unit in depth-first pre-order: each parent before its
// children, siblings by kind (province, departments, communes, divisions)
// then code. Units whose parent is not in the directory are roots.
func (d *Directory) Units(ctx context.Context) ([]directory.Unit, error) {
	entries, err := d.allUnits(ctx)
	if err != nil {
		return nil, err
	}
	all := make([]directory.Unit, 0, len(entries))
	for _, e := range entries {
		all = append(all, toUnit(e))
	}
	return directory.SortUnits(all), nil
}
