package addressbook

import (
	"context"

	"congvu/directory"
	"congvu/directory/orgdb"
)

// publishRules are the publishing controls resolved against the unit
// tree: a unit's control covers its sub-units too.
type publishRules struct {
	account    map[string]map[string]bool // address → withheld attributes
	unit       map[string]map[string]bool // unit code → withheld attributes (inherited)
	hiddenUnit map[string]bool            // units hidden with their sub-units
	raw        []orgdb.Withheld
}

func readControls(ctx context.Context, ctl Controls) (*publishRules, []orgdb.Group, error) {
	r := &publishRules{account: map[string]map[string]bool{}, unit: map[string]map[string]bool{}, hiddenUnit: map[string]bool{}}
	if ctl == nil {
		return r, nil, nil
	}
	ws, err := ctl.WithheldAll(ctx)
	if err != nil {
		return nil, nil, err
	}
	groups, err := ctl.Groups(ctx)
	if err != nil {
		return nil, nil, err
	}
	r.raw = ws
	for _, w := range ws {
		if w.Scope == orgdb.ScopeAccount {
			if r.account[w.Key] == nil {
				r.account[w.Key] = map[string]bool{}
			}
			r.account[w.Key][w.Attribute] = true
		}
	}
	return r, groups, nil
}

// visibleUnits resolves the unit controls over the whole tree and
// returns the units that stay published.
func (r *publishRules) visibleUnits(units []directory.Unit) []directory.Unit {
	tree := directory.NewTree(units)
	for _, w := range r.raw {
		if w.Scope != orgdb.ScopeUnit {
			continue
		}
		tree.Walk(w.Key, func(u directory.Unit, _ int) {
			if r.unit[u.Code] == nil {
				r.unit[u.Code] = map[string]bool{}
			}
			r.unit[u.Code][w.Attribute] = true
			if w.Attribute == orgdb.AttrEntry {
				r.hiddenUnit[u.Code] = true
			}
		})
	}
	if len(r.hiddenUnit) == 0 {
		return units
	}
	out := make([]directory.Unit, 0, len(units))
	for _, u := range units {
		if !r.hiddenUnit[u.Code] {
			out = append(out, u)
		}
	}
	return out
}

// withheld reports whether attribute of the account is withheld, by a
// control on the person or on their unit (or a unit above it).
func (r *publishRules) withheld(address, unitCode, attribute string) bool {
	return r.account[address][attribute] || r.unit[unitCode][attribute]
}
