package addressbook

import (
	"fmt"
	"slices"
	"testing"
)

func snapOf(entries ...Entry) *Snapshot {
	s := &Snapshot{byAddress: map[string]int{}}
	for _, e := range entries {
		s.add(e)
	}
	return s
}

// The generation moves only when something published changes; changes
// between two generations are the union of the logged ones, each address
// once with its unit at the older generation; a generation older than
// the bounded log, or newer than the snapshot, cannot be answered.
func TestChangeLog(t *testing.T) {
	var l changeLog
	a := Entry{Address: "a@x", Name: "A", UnitCode: "u1"}
	b := Entry{Address: "b@x", Name: "B", UnitCode: "u2"}
	s1 := snapOf(a, b)
	l.record(s1)
	same := snapOf(a, b)
	l.record(same)
	if s1.Generation != 1 || same.Generation != 1 {
		t.Fatalf("generations %d %d, want 1 1", s1.Generation, same.Generation)
	}
	a2 := a
	a2.Title = "Chuyên viên"
	c := Entry{Address: "c@x", Name: "C", UnitCode: "u1"}
	s2 := snapOf(a2, b, c) // a changed, c added
	l.record(s2)
	s3 := snapOf(a2, c) // b removed
	l.record(s3)
	if s3.Generation != 3 {
		t.Fatalf("generation %d, want 3", s3.Generation)
	}
	ch, ok := l.between(1, 3)
	if !ok || !slices.Equal(ch.Addresses, []string{"a@x", "b@x", "c@x"}) || ch.Before["b@x"] != "u2" || ch.Before["a@x"] != "u1" {
		t.Errorf("changes 1→3: %+v %v", ch, ok)
	}
	if _, had := ch.Before["c@x"]; had {
		t.Error("c@x was not published at generation 1")
	}
	if ch, ok := l.between(3, 3); !ok || len(ch.Addresses) != 0 {
		t.Errorf("no change: %+v %v", ch, ok)
	}
	if _, ok := l.between(4, 3); ok {
		t.Error("a generation to come was answered")
	}
	for i := range maxLogGenerations + 10 {
		x := a2
		x.Phone = fmt.Sprint(i)
		l.record(snapOf(x, c))
	}
	if _, ok := l.between(1, l.gen); ok {
		t.Error("a generation older than the log was answered")
	}
	if ch, ok := l.between(l.gen-5, l.gen); !ok || !slices.Equal(ch.Addresses, []string{"a@x"}) {
		t.Errorf("recent changes: %+v %v", ch, ok)
	}
}
