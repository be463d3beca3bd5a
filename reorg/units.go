package reorg

import (
	"context"
	"fmt"
	"strings"

	"congvu/directory"
	"congvu/policy"
)

// RenameUnit gives a unit a new name and, when abbr is set, a new address
// abbreviation: the addresses of its people (and of its divisions' people
// and mailboxes) change under the convention, the old ones stay aliases.
func (s *Service) RenameUnit(ctx context.Context, actor, code, name, abbr string) (*Result, error) {
	t, err := s.tree(ctx)
	if err != nil {
		return nil, err
	}
	old, u, err := renamed(t, code, name, abbr)
	if err != nil {
		return nil, err
	}
	res, err := s.changeUnit(ctx, t, old, u, "đổi tên đơn vị / unit renamed")
	if err != nil {
		return res, err
	}
	s.audit(ctx, actor, code, policy.ActionUnitChange, fmt.Sprintf("%s (%s) → %s (%s); %d địa chỉ đổi / addresses changed",
		old.Name, old.Abbr, u.Name, u.Abbr, len(res.Changes)))
	return res, nil
}

// MoveUnit puts a unit under another parent, optionally as another kind
// (a department becoming a division of another department): addresses
// whose agency changes are renamed, the old ones stay aliases.
func (s *Service) MoveUnit(ctx context.Context, actor, code, parent string, kind directory.UnitKind) (*Result, error) {
	t, err := s.tree(ctx)
	if err != nil {
		return nil, err
	}
	old, u, err := moved(t, code, parent, kind)
	if err != nil {
		return nil, err
	}
	res, err := s.changeUnit(ctx, t, old, u, "chuyển đơn vị / unit moved")
	if err != nil {
		return res, err
	}
	s.audit(ctx, actor, code, policy.ActionUnitChange, fmt.Sprintf("%s: cấp trên/parent %s → %s, loại/kind %s → %s; %d địa chỉ đổi / addresses changed",
		u.Name, old.ParentCode, u.ParentCode, old.Kind, u.Kind, len(res.Changes)))
	return res, nil
}

// changeUnit writes unit u (formerly old), then renames the addresses the
// change affects: the unit's own mailbox and every account of the units
// whose agency (the abbreviation in their addresses) changed.
func (s *Service) changeUnit(ctx context.Context, t *directory.Tree, old, u directory.Unit, why string) (*Result, error) {
	if err := s.deps.Org.RecordUnitVersion(ctx, old, s.deps.Now()); err != nil {
		return nil, err
	}
	if err := s.deps.Dir.PutUnit(ctx, u); err != nil {
		return nil, err
	}
	nt, err := s.tree(ctx)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	for _, code := range nt.Subtree(u.Code) {
		before, after := t.Units[code], nt.Units[code]
		if t.Agency(code).Abbr == nt.Agency(code).Abbr && before.Abbr == after.Abbr && before.Kind == after.Kind {
			continue
		}
		if err := s.readdressUnit(ctx, nt, after, why, res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// readdressUnit renames the accounts of unit u to the convention of tree
// t, its shared mailbox first (and records the unit's new mailbox
// address).
func (s *Service) readdressUnit(ctx context.Context, t *directory.Tree, u directory.Unit, why string, res *Result) error {
	accounts, err := s.deps.Dir.Accounts(ctx, u.Code)
	if err != nil {
		return err
	}
	mailbox := ""
	for _, a := range accounts {
		if a.Role != directory.RoleUnit || a.Address != u.Address {
			continue
		}
		mailbox = a.Address
		c, err := s.relocate(ctx, t, a, u.Code, why)
		if err != nil {
			return err
		}
		if c.NewAddress != c.OldAddress {
			res.Changes = append(res.Changes, c)
			u.Address = c.NewAddress
			if err := s.deps.Dir.PutUnit(ctx, u); err != nil {
				return err
			}
			t.Units[u.Code] = u
		}
	}
	for _, a := range accounts {
		if a.Address == mailbox {
			continue
		}
		c, err := s.relocate(ctx, t, a, u.Code, why)
		if err != nil {
			return err
		}
		if c.NewAddress != c.OldAddress {
			res.Changes = append(res.Changes, c)
		}
	}
	return nil
}

// MergeUnits merges unit from into unit into: from's sub-units move under
// into, its officials into into itself (new addresses by the convention,
// the old ones aliases), its shared mailbox stays with its address and
// rights as a mailbox of into, and from is removed from the directory (its
// last version is kept for reports of earlier periods).
func (s *Service) MergeUnits(ctx context.Context, actor, from, into string) (*Result, error) {
	t, err := s.tree(ctx)
	if err != nil {
		return nil, err
	}
	fu, iu, err := mergeable(t, from, into)
	if err != nil {
		return nil, err
	}
	rm, ok := s.deps.Dir.(directory.UnitRemover)
	if !ok {
		return nil, ErrReorg.With(fmt.Errorf("the directory cannot remove units"))
	}
	why := fmt.Sprintf("sáp nhập %s vào %s / %s merged into %s", fu.Name, iu.Name, from, into)
	res := &Result{}
	for _, child := range t.Children[from] {
		cu := t.Units[child]
		old := cu
		cu.ParentCode = into
		r, err := s.changeUnit(ctx, t, old, cu, why)
		if r != nil {
			res.Changes = append(res.Changes, r.Changes...)
		}
		if err != nil {
			return res, err
		}
		if t, err = s.tree(ctx); err != nil {
			return res, err
		}
	}
	accounts, err := s.deps.Dir.Accounts(ctx, from)
	if err != nil {
		return res, err
	}
	for _, a := range accounts {
		var c Change
		if a.Role == directory.RoleUnit {
			// The merged unit's mailbox keeps its address (and whoever
			// reads it keeps doing so) as a mailbox of the new unit.
			c = Change{OldAddress: a.Address, NewAddress: a.Address, OldUnit: from, NewUnit: into}
			err = s.apply(ctx, a, c, why)
		} else {
			c, err = s.relocate(ctx, t, a, into, why)
		}
		if err != nil {
			return res, err
		}
		res.Changes = append(res.Changes, c)
	}
	if err := s.deps.Org.RecordUnitVersion(ctx, fu, s.deps.Now()); err != nil {
		return res, err
	}
	if err := rm.DeleteUnit(ctx, from); err != nil {
		return res, err
	}
	s.audit(ctx, actor, from, policy.ActionMerge, fmt.Sprintf("%s (%s) → %s (%s); %d tài khoản / accounts",
		fu.Name, from, iu.Name, into, len(accounts)))
	res.Notes = append(res.Notes, fmt.Sprintf("Đã sáp nhập %s vào %s / %s merged into %s", fu.Name, iu.Name, from, into))
	return res, nil
}

// renamed is unit code of t with a new name and/or abbreviation.
func renamed(t *directory.Tree, code, name, abbr string) (old, u directory.Unit, err error) {
	u, ok := t.Units[code]
	if !ok {
		return u, u, ErrReorg.With(fmt.Errorf("no unit %q", code))
	}
	old = u
	if name = strings.TrimSpace(name); name != "" {
		u.Name = name
	}
	if abbr = strings.ToLower(strings.TrimSpace(abbr)); abbr != "" {
		u.Abbr = abbr
	}
	if u == old {
		return old, u, ErrReorg.With(fmt.Errorf("unit %s: nothing to change", code))
	}
	return old, u, nil
}

// moved is unit code of t under parent (as kind, when set).
func moved(t *directory.Tree, code, parent string, kind directory.UnitKind) (old, u directory.Unit, err error) {
	u, ok := t.Units[code]
	if !ok {
		return u, u, ErrReorg.With(fmt.Errorf("no unit %q", code))
	}
	if _, ok := t.Units[parent]; !ok {
		return u, u, ErrReorg.With(fmt.Errorf("no unit %q", parent))
	}
	if t.SubtreeSet(code)[parent] {
		return u, u, ErrReorg.With(fmt.Errorf("unit %s cannot move under its own sub-unit %s", code, parent))
	}
	old = u
	u.ParentCode = parent
	if kind != "" {
		if !directory.ValidUnitKind(kind) {
			return old, u, ErrReorg.With(fmt.Errorf("unit kind %q", kind))
		}
		u.Kind = kind
	}
	if u == old {
		return old, u, ErrReorg.With(fmt.Errorf("unit %s is already under %s", code, parent))
	}
	return old, u, nil
}

// mergeable checks that unit from of t can merge into unit into.
func mergeable(t *directory.Tree, from, into string) (fu, iu directory.Unit, err error) {
	fu, ok := t.Units[from]
	if !ok {
		return fu, iu, ErrReorg.With(fmt.Errorf("no unit %q", from))
	}
	iu, ok = t.Units[into]
	if !ok {
		return fu, iu, ErrReorg.With(fmt.Errorf("no unit %q", into))
	}
	if from == into || t.SubtreeSet(from)[into] {
		return fu, iu, ErrReorg.With(fmt.Errorf("unit %s cannot merge into %s", from, into))
	}
	return fu, iu, nil
}
