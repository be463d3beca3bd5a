package directory

import (
	"slices"
	"testing"
)

func TestTree(t *testing.T) {
	units := []Unit{
		{Code: "P", Name: "Tỉnh"},
		{Code: "S1", ParentCode: "P"}, {Code: "S2", ParentCode: "P"},
		{Code: "D1", ParentCode: "S1"}, {Code: "D2", ParentCode: "S1"},
		{Code: "ORPHAN", ParentCode: "GONE"},                       // parent unknown: a root
		{Code: "SELF", ParentCode: "SELF"},                         // its own parent: a root
		{Code: "A", ParentCode: "B"}, {Code: "B", ParentCode: "A"}, // a cycle: reachable only from inside
	}
	tr := NewTree(units)
	if want := []string{"P", "ORPHAN", "SELF"}; !slices.Equal(tr.Roots, want) {
		t.Errorf("roots %v, want %v", tr.Roots, want)
	}
	var order []string
	var depths []int
	tr.Walk("", func(u Unit, d int) { order = append(order, u.Code); depths = append(depths, d) })
	if want := []string{"P", "S1", "D1", "D2", "S2", "ORPHAN", "SELF"}; !slices.Equal(order, want) {
		t.Errorf("walk %v, want %v", order, want)
	}
	if want := []int{0, 1, 2, 2, 1, 0, 0}; !slices.Equal(depths, want) {
		t.Errorf("depths %v, want %v", depths, want)
	}
	if got := tr.Subtree("S1"); !slices.Equal(got, []string{"S1", "D1", "D2"}) {
		t.Errorf("subtree S1 %v", got)
	}
	if got := tr.Subtree("A"); !slices.Equal(got, []string{"A", "B"}) {
		t.Errorf("subtree of a cycle %v, want each unit once", got)
	}
	if got := tr.Subtree("NOPE"); got != nil {
		t.Errorf("subtree of an unknown unit %v", got)
	}
	if s := tr.SubtreeSet("S1"); len(s) != 3 || !s["D2"] || s["S2"] {
		t.Errorf("subtree set %v", s)
	}
	var path []string
	for _, u := range tr.Path("D2") {
		path = append(path, u.Code)
	}
	if !slices.Equal(path, []string{"P", "S1", "D2"}) {
		t.Errorf("path %v", path)
	}
	if p := tr.Path("A"); len(p) != 2 {
		t.Errorf("path inside a cycle %v, want A and B once", p)
	}
}
