package policy

import "congvu/directory"

// unitTree is the organisation tree in depth-first order (parents before
// children, siblings in the directory's order), with parent links.
type unitTree struct {
	order    []directory.Unit
	byCode   map[string]directory.Unit
	children map[string][]string
	depth    map[string]int
}

func newUnitTree(units []directory.Unit) *unitTree {
	t := &unitTree{byCode: map[string]directory.Unit{}, children: map[string][]string{}, depth: map[string]int{}}
	for _, u := range units {
		t.byCode[u.Code] = u
	}
	var roots []string
	for _, u := range units {
		if _, ok := t.byCode[u.ParentCode]; u.ParentCode == "" || !ok || u.ParentCode == u.Code {
			roots = append(roots, u.Code)
		} else {
			t.children[u.ParentCode] = append(t.children[u.ParentCode], u.Code)
		}
	}
	seen := map[string]bool{}
	var walk func(code string, depth int)
	walk = func(code string, depth int) {
		if seen[code] {
			return // a cycle in bad data must not loop forever
		}
		seen[code] = true
		t.order = append(t.order, t.byCode[code])
		t.depth[code] = depth
		for _, c := range t.children[code] {
			walk(c, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	return t
}

// subtree returns code and all units below it, in tree order.
func (t *unitTree) subtree(code string) []directory.Unit {
	var out []directory.Unit
	var walk func(string)
	walk = func(c string) {
		out = append(out, t.byCode[c])
		for _, ch := range t.children[c] {
			walk(ch)
		}
	}
	if _, ok := t.byCode[code]; ok {
		walk(code)
	}
	return out
}

// divisions returns the division units below code (recursively through
// divisions only): the phòng of a department or commune.
func (t *unitTree) divisions(code string) []string {
	var out []string
	for _, c := range t.children[code] {
		if t.byCode[c].Kind == directory.UnitDivision {
			out = append(out, c)
			out = append(out, t.divisions(c)...)
		}
	}
	return out
}

// parentKind is the kind of u's parent, "" for a root.
func (t *unitTree) parentKind(u directory.Unit) directory.UnitKind {
	if p, ok := t.byCode[u.ParentCode]; ok {
		return p.Kind
	}
	return ""
}

// name is the unit's name, or its code when unknown.
func (t *unitTree) name(code string) string {
	if u, ok := t.byCode[code]; ok && u.Name != "" {
		return u.Name
	}
	return code
}
