package reorg

import (
	"context"
	"fmt"
	"strings"

	"congvu/directory"
	"congvu/directory/addr"
)

// Preview tells what Run(kind, a) would change now, writing nothing: the
// confirmation step of the admin web lists it before the operation runs.
// The addresses are those the operation would give if nothing changes in
// between (Run computes them again).
func (s *Service) Preview(ctx context.Context, kind string, a Args) (*Result, error) {
	t, err := s.tree(ctx)
	if err != nil {
		return nil, err
	}
	p := &preview{s: s, planned: map[string]bool{}, res: &Result{}}
	switch kind {
	case KindMoveAccount:
		acct, err := s.deps.Dir.Lookup(ctx, a.Address)
		if err != nil {
			return nil, err
		}
		if _, ok := t.Units[a.Unit]; !ok {
			return nil, ErrReorg.With(fmt.Errorf("no unit %q", a.Unit))
		}
		if acct.UnitCode == a.Unit {
			return nil, ErrReorg.With(fmt.Errorf("%s is already in unit %s", acct.Address, a.Unit))
		}
		p.relocate(ctx, t, *acct, a.Unit)
	case KindRenameUnit:
		_, u, err := renamed(t, a.Unit, a.Name, a.Abbr)
		if err != nil {
			return nil, err
		}
		if err := p.changeUnit(ctx, t, u); err != nil {
			return nil, err
		}
	case KindMoveUnit:
		_, u, err := moved(t, a.Unit, a.Parent, directory.UnitKind(a.Kind))
		if err != nil {
			return nil, err
		}
		if err := p.changeUnit(ctx, t, u); err != nil {
			return nil, err
		}
	case KindMergeUnits:
		if _, _, err := mergeable(t, a.From, a.Into); err != nil {
			return nil, err
		}
		for _, child := range t.Children[a.From] {
			cu := t.Units[child]
			cu.ParentCode = a.Into
			if err := p.changeUnit(ctx, t, cu); err != nil {
				return nil, err
			}
			t = withUnit(t, cu)
		}
		accounts, err := s.deps.Dir.Accounts(ctx, a.From)
		if err != nil {
			return nil, err
		}
		for _, acct := range accounts {
			if acct.Role == directory.RoleUnit {
				p.res.Changes = append(p.res.Changes, Change{OldAddress: acct.Address, NewAddress: acct.Address, OldUnit: a.From, NewUnit: a.Into})
				continue
			}
			p.relocate(ctx, t, acct, a.Into)
		}
	case KindDomainAliasAdd:
		old, nw := normDomainName(a.Old), normDomainName(a.New)
		if old == "" || nw == "" || old == nw || directory.CheckAddress("x@"+old) != nil || directory.CheckAddress("x@"+nw) != nil {
			return nil, ErrReorg.With(fmt.Errorf("domain alias %q → %q", a.Old, a.New))
		}
		accounts, err := s.deps.Dir.Accounts(ctx, "")
		if err != nil {
			return nil, err
		}
		for _, acct := range accounts {
			if directory.Domain(acct.Address) != old {
				continue
			}
			local := localPart(acct.Address)
			newLocal := addr.Allocate(local, "", s.taken(ctx, acct.Address, nw, p.planned))
			p.planned[newLocal+"@"+nw] = true
			p.res.Changes = append(p.res.Changes, Change{OldAddress: acct.Address, NewAddress: newLocal + "@" + nw, OldUnit: acct.UnitCode, NewUnit: acct.UnitCode})
		}
	case KindDomainAliasRemove:
	default:
		return nil, ErrReorg.With(fmt.Errorf("unknown operation %q", kind))
	}
	return p.res, nil
}

func normDomainName(d string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
}

// preview collects the changes an operation would make.
type preview struct {
	s       *Service
	planned map[string]bool // addresses given so far
	res     *Result
}

func (p *preview) relocate(ctx context.Context, t *directory.Tree, a directory.Account, unit string) string {
	na := p.s.conventionalAddress(ctx, t, a, unit, p.planned)
	p.planned[na] = true
	if na != a.Address || unit != a.UnitCode {
		p.res.Changes = append(p.res.Changes, Change{OldAddress: a.Address, NewAddress: na, OldUnit: a.UnitCode, NewUnit: unit})
	}
	return na
}

// changeUnit is changeUnit's and readdressUnit's plan: unit u replaces
// its version in t; the accounts of the units whose agency changed get
// the convention's addresses.
func (p *preview) changeUnit(ctx context.Context, t *directory.Tree, u directory.Unit) error {
	nt := withUnit(t, u)
	for _, code := range nt.Subtree(u.Code) {
		before, after := t.Units[code], nt.Units[code]
		if t.Agency(code).Abbr == nt.Agency(code).Abbr && before.Abbr == after.Abbr && before.Kind == after.Kind {
			continue
		}
		accounts, err := p.s.deps.Dir.Accounts(ctx, code)
		if err != nil {
			return err
		}
		for _, a := range accounts {
			if a.Role == directory.RoleUnit && a.Address == after.Address {
				p.relocate(ctx, nt, a, code)
			}
		}
		for _, a := range accounts {
			if !(a.Role == directory.RoleUnit && a.Address == after.Address) {
				p.relocate(ctx, nt, a, code)
			}
		}
	}
	return nil
}

// withUnit is t with u in place of its unit of the same code.
func withUnit(t *directory.Tree, u directory.Unit) *directory.Tree {
	units := make([]directory.Unit, 0, len(t.Units))
	for code, x := range t.Units {
		if code != u.Code {
			units = append(units, x)
		}
	}
	return directory.NewTree(append(units, u))
}
