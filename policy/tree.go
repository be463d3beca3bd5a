package policy

import "congvu/directory"

// unitTree is the organisation tree in depth-first order (parents before
// children, siblings in the directory's order) with each unit's depth.
type unitTree struct {
	*directory.Tree
	order []directory.Unit
	depth map[string]int
}

func newUnitTree(units []directory.Unit) *unitTree {
	t := &unitTree{Tree: directory.NewTree(units), depth: map[string]int{}}
	t.Walk("", func(u directory.Unit, depth int) {
		t.order = append(t.order, u)
		t.depth[u.Code] = depth
	})
	return t
}

// subtree returns code and all units below it, in tree order.
func (t *unitTree) subtree(code string) []directory.Unit {
	var out []directory.Unit
	t.Walk(code, func(u directory.Unit, _ int) { out = append(out, u) })
	return out
}

// divisions returns the division units below code (recursively through
// divisions only): the phòng of a department or commune.
func (t *unitTree) divisions(code string) []string {
	var out []string
	for _, c := range t.Children[code] {
		if t.Units[c].Kind == directory.UnitDivision {
			out = append(out, c)
			out = append(out, t.divisions(c)...)
		}
	}
	return out
}

// parentKind is the kind of u's parent, "" for a root.
func (t *unitTree) parentKind(u directory.Unit) directory.UnitKind {
	if p, ok := t.Units[u.ParentCode]; ok {
		return p.Kind
	}
	return ""
}

// name is the unit's name, or its code when unknown.
func (t *unitTree) name(code string) string {
	if u, ok := t.Units[code]; ok && u.Name != "" {
		return u.Name
	}
	return code
}
