package directory

// Tree is the organisation tree of a list of units, with the parent links
// resolved once so that pages and reports can walk it. A unit whose parent
// is empty, unknown or itself is a root; walks visit every unit at most
// once, so cycles in bad data never loop. Children keep the order of the
// list (Units gives parents before children, siblings sorted).
type Tree struct {
	Units    map[string]Unit     // by code
	Children map[string][]string // parent code → child codes
	Roots    []string
}

// NewTree builds the tree of units.
func NewTree(units []Unit) *Tree {
	t := &Tree{Units: make(map[string]Unit, len(units)), Children: map[string][]string{}}
	for _, u := range units {
		t.Units[u.Code] = u
	}
	for _, u := range units {
		if _, ok := t.Units[u.ParentCode]; ok && u.ParentCode != u.Code {
			t.Children[u.ParentCode] = append(t.Children[u.ParentCode], u.Code)
		} else {
			t.Roots = append(t.Roots, u.Code)
		}
	}
	return t
}

// Walk visits the subtree of code depth-first, parents before children,
// with depth 0 at code; code "" walks every root. An unknown code visits
// nothing.
func (t *Tree) Walk(code string, fn func(u Unit, depth int)) {
	seen := map[string]bool{}
	var walk func(c string, depth int)
	walk = func(c string, depth int) {
		if seen[c] {
			return
		}
		seen[c] = true
		fn(t.Units[c], depth)
		for _, ch := range t.Children[c] {
			walk(ch, depth+1)
		}
	}
	if code == "" {
		for _, r := range t.Roots {
			walk(r, 0)
		}
		return
	}
	if _, ok := t.Units[code]; ok {
		walk(code, 0)
	}
}

// Subtree returns the codes of code and every unit below it, in tree order.
func (t *Tree) Subtree(code string) []string {
	var out []string
	t.Walk(code, func(u Unit, _ int) { out = append(out, u.Code) })
	return out
}

// SubtreeSet is Subtree as a set, for scope checks.
func (t *Tree) SubtreeSet(code string) map[string]bool {
	set := map[string]bool{}
	t.Walk(code, func(u Unit, _ int) { set[u.Code] = true })
	return set
}

// ManagedBy is the set of units a unit administrator of code manages: the
// unit and everything below it. Unlike SubtreeSet, an empty or unknown code
// manages nothing: an administrator whose directory entry lacks a unit (an
// AD account in the admin group without a department, an LDAP entry without
// congvuUnitCode) must not fall through to "every root".
func (t *Tree) ManagedBy(code string) map[string]bool {
	if code == "" {
		return map[string]bool{}
	}
	return t.SubtreeSet(code)
}

// Path returns the units from the root down to code (empty when unknown).
func (t *Tree) Path(code string) []Unit {
	var p []Unit
	seen := map[string]bool{}
	for c := code; c != "" && !seen[c]; c = t.Units[c].ParentCode {
		seen[c] = true
		u, ok := t.Units[c]
		if !ok {
			break
		}
		p = append([]Unit{u}, p...)
	}
	return p
}
