package reorg

import (
	"context"
	"fmt"
	"strings"

	"congvu/directory"
)

// RenameUnit gives a unit a new name and, when abbr is set, a new address
// abbreviation: the addresses of its people (and of its divisions' people
// and mailboxes) change under the convention, the old ones stay aliases.
func (s *Service) RenameUnit(ctx context.Context, actor, code, name, abbr string) (*Result, error) {
	return s.Run(ctx, KindRenameUnit, actor, Args{Unit: code, Name: name, Abbr: abbr})
}

// MoveUnit puts a unit under another parent, optionally as another kind
// (a department becoming a division of another department): addresses
// whose agency changes are renamed, the old ones stay aliases.
func (s *Service) MoveUnit(ctx context.Context, actor, code, parent string, kind directory.UnitKind) (*Result, error) {
	return s.Run(ctx, KindMoveUnit, actor, Args{Unit: code, Parent: parent, Kind: string(kind)})
}

// MergeUnits merges unit from into unit into: from's sub-units move under
// into, its officials into into itself (new addresses by the convention,
// the old ones aliases), its shared mailbox stays with its address and
// rights as a mailbox of into, and from is removed from the directory (its
// last version is kept for reports of earlier periods).
func (s *Service) MergeUnits(ctx context.Context, actor, from, into string) (*Result, error) {
	return s.Run(ctx, KindMergeUnits, actor, Args{From: from, Into: into})
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
