package groups

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"congvu/directory"
	"congvu/directory/orgdb"
	"congvu/internal/mailerr"
	"congvu/policy"
)

// Auditor records administrators' actions (policy.DB).
type Auditor interface {
	AppendAudit(ctx context.Context, entries ...policy.AuditEntry) error
}

// Admin changes groups for the CLI and the admin web (the same code):
// it checks each change against the directory, writes it to the store
// and records it in the audit log with the actor, before → after and IP.
// The store is SQLite in WAL mode shared with the running server, which
// reads groups at each delivery: a change applies to the next message.
type Admin struct {
	Dir          directory.Directory
	Org          *orgdb.DB
	Audit        Auditor
	LocalDomains []string
}

// Actor names who changes a group, from where.
type Actor struct {
	Name string // the administrator's address, or "cli:USER"
	IP   string
}

func (ad *Admin) audit(ctx context.Context, who Actor, subject, detail string) error {
	if ad.Audit == nil {
		return nil
	}
	return ad.Audit.AppendAudit(ctx, policy.AuditEntry{At: time.Now(), Actor: who.Name, Subject: subject,
		Action: policy.ActionGroup, IP: who.IP, Detail: detail})
}

// Describe is a group in one line, for the audit log's before → after.
func Describe(g *orgdb.Group) string {
	if g == nil {
		return "(không có / none)"
	}
	s := fmt.Sprintf("%s %q kind=%s policy=%s", g.Address, g.Name, g.Kind, g.Policy)
	if g.UnitCode != "" {
		s += " unit=" + g.UnitCode
	}
	if g.SubUnits {
		s += " sub-units"
	}
	if g.Kind == orgdb.GroupCustom {
		s += fmt.Sprintf(" members=%d", len(g.Members))
	}
	return s
}

// ErrAddressTaken: a group cannot take an account's address.
var ErrAddressTaken = orgdb.ErrGroup.WithMessage("The address belongs to an account", "Địa chỉ này đã là của một tài khoản")

// Create adds a group after checking that its address is free and in a
// local domain, its unit exists and its members are known.
func (ad *Admin) Create(ctx context.Context, g orgdb.Group, who Actor) error {
	if err := orgdb.CheckGroup(&g); err != nil {
		return err
	}
	if !slices.Contains(ad.LocalDomains, directory.Domain(g.Address)) {
		return orgdb.ErrGroup.With(fmt.Errorf("%s is not in a local domain (%s)", g.Address, strings.Join(ad.LocalDomains, ", ")))
	}
	if _, err := ad.Dir.Lookup(ctx, g.Address); err == nil {
		return ErrAddressTaken.With(fmt.Errorf("%s", g.Address))
	} else if !errors.Is(err, mailerr.ErrUnknownUser) {
		return err
	}
	if err := ad.checkUnit(ctx, g.UnitCode); err != nil {
		return err
	}
	for i, m := range g.Members {
		m, err := ad.checkMember(ctx, g.Address, m)
		if err != nil {
			return err
		}
		g.Members[i] = m
	}
	g.Actor = who.Name
	if err := ad.Org.AddGroup(ctx, g); err != nil {
		return err
	}
	return ad.audit(ctx, who, g.Address, "tạo nhóm / group created: "+Describe(&g))
}

func (ad *Admin) checkUnit(ctx context.Context, code string) error {
	if code == "" {
		return nil
	}
	units, err := ad.Dir.Units(ctx)
	if err != nil {
		return err
	}
	if _, ok := directory.NewTree(units).Units[code]; !ok {
		return orgdb.ErrGroup.With(fmt.Errorf("no unit %q", code))
	}
	return nil
}

// checkMember resolves a member to an account's primary address or a
// group's, refusing unknown addresses and nesting that would loop.
func (ad *Admin) checkMember(ctx context.Context, group, m string) (string, error) {
	m = directory.NormalizeAddress(m)
	a, err := ad.Dir.Lookup(ctx, m)
	if err == nil {
		if a.State == directory.StateRetired {
			return "", orgdb.ErrGroup.With(fmt.Errorf("%s is retired", m))
		}
		return a.Address, nil
	}
	if !errors.Is(err, mailerr.ErrUnknownUser) {
		return "", err
	}
	sub, err := ad.Org.GetGroup(ctx, m)
	if err != nil {
		return "", err
	}
	if sub == nil {
		return "", orgdb.ErrGroup.With(fmt.Errorf("%s is neither an account nor a group", m))
	}
	// Would group be reachable from sub? Then adding sub makes a loop.
	if depth, loops, err := ad.nesting(ctx, sub, directory.NormalizeAddress(group), 1); err != nil {
		return "", err
	} else if loops {
		return "", orgdb.ErrGroup.With(fmt.Errorf("%s contains %s: a loop", m, group))
	} else if depth+1 > MaxDepth {
		return "", orgdb.ErrGroup.With(fmt.Errorf("groups nested more than %d deep", MaxDepth))
	}
	return sub.Address, nil
}

// nesting returns how deep groups go below g and whether target is among
// them.
func (ad *Admin) nesting(ctx context.Context, g *orgdb.Group, target string, level int) (int, bool, error) {
	if g.Address == target {
		return 0, true, nil
	}
	if level > MaxDepth+1 {
		return level, false, nil
	}
	deepest := 1
	for _, m := range g.Members {
		sub, err := ad.Org.GetGroup(ctx, m)
		if err != nil {
			return 0, false, err
		}
		if sub == nil {
			continue
		}
		d, loops, err := ad.nesting(ctx, sub, target, level+1)
		if err != nil || loops {
			return 0, loops, err
		}
		deepest = max(deepest, d+1)
	}
	return deepest, false, nil
}

func (ad *Admin) get(ctx context.Context, address string) (*orgdb.Group, error) {
	g, err := ad.Org.GetGroup(ctx, address)
	if err != nil {
		return nil, err
	}
	if g == nil {
		return nil, orgdb.ErrNoGroup.With(fmt.Errorf("group %s", address))
	}
	return g, nil
}

// Remove deletes a group.
func (ad *Admin) Remove(ctx context.Context, address string, who Actor) error {
	g, err := ad.get(ctx, address)
	if err != nil {
		return err
	}
	if _, err := ad.Org.RemoveGroup(ctx, g.Address); err != nil {
		return err
	}
	return ad.audit(ctx, who, g.Address, "xoá nhóm / group removed: "+Describe(g))
}

// AddMember adds an account or a group to a custom group.
func (ad *Admin) AddMember(ctx context.Context, group, member string, who Actor) error {
	g, err := ad.get(ctx, group)
	if err != nil {
		return err
	}
	m, err := ad.checkMember(ctx, g.Address, member)
	if err != nil {
		return err
	}
	added, err := ad.Org.AddGroupMember(ctx, g.Address, m)
	if err != nil || !added {
		return err
	}
	return ad.audit(ctx, who, g.Address, fmt.Sprintf("thêm thành viên / member added: %s (%d → %d)", m, len(g.Members), len(g.Members)+1))
}

// RemoveMember removes a member of a custom group.
func (ad *Admin) RemoveMember(ctx context.Context, group, member string, who Actor) error {
	g, err := ad.get(ctx, group)
	if err != nil {
		return err
	}
	member = directory.NormalizeAddress(member)
	if !slices.Contains(g.Members, member) {
		// An alias of a member: remove the account's primary address.
		if a, err := ad.Dir.Lookup(ctx, member); err == nil {
			member = a.Address
		}
	}
	removed, err := ad.Org.RemoveGroupMember(ctx, g.Address, member)
	if err != nil {
		return err
	}
	if !removed {
		return orgdb.ErrGroup.With(fmt.Errorf("%s is not a member of %s", member, g.Address))
	}
	return ad.audit(ctx, who, g.Address, fmt.Sprintf("bớt thành viên / member removed: %s (%d → %d)", member, len(g.Members), len(g.Members)-1))
}

// Update changes a group's name, unit, sub-unit choice and sending rule.
func (ad *Admin) Update(ctx context.Context, g orgdb.Group, who Actor) error {
	before, err := ad.get(ctx, g.Address)
	if err != nil {
		return err
	}
	g.Kind = before.Kind
	if err := ad.checkUnit(ctx, g.UnitCode); err != nil {
		return err
	}
	if err := ad.Org.UpdateGroup(ctx, g); err != nil {
		return err
	}
	after, err := ad.get(ctx, g.Address)
	if err != nil {
		return err
	}
	return ad.audit(ctx, who, g.Address, "sửa nhóm / group changed: "+Describe(before)+" → "+Describe(after))
}

// Groups lists every group with its members.
func (ad *Admin) Groups(ctx context.Context) ([]orgdb.Group, error) { return ad.Org.Groups(ctx) }

// Withheld lists every publishing control.
func (ad *Admin) Withheld(ctx context.Context) ([]orgdb.Withheld, error) {
	return ad.Org.WithheldAll(ctx)
}
