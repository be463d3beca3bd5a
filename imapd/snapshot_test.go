package imapd

import (
	"slices"
	"testing"
	"time"
	"unsafe"

	"congvu/storage"
)

// TestSnapshotEntries: the per-message view entry stays 16 bytes, shares
// flag sets, and still gives back exact flags and internal dates, also
// dates a 32-bit second count cannot hold.
func TestSnapshotEntries(t *testing.T) {
	if n := unsafe.Sizeof(snapMsg{}); n != 16 {
		t.Errorf("snapMsg is %d bytes; every idle session keeps one per message", n)
	}
	sel := newSelected()
	seen := []string{`\Seen`}
	old := time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC)
	far := time.Date(2107, 1, 1, 0, 0, 0, 0, time.UTC)
	now := time.Date(2025, 3, 3, 8, 15, 0, 0, time.UTC)
	for i, m := range []storage.MessageInfo{
		{UID: 1, Flags: seen, InternalDate: now, Size: 1234},
		{UID: 2, Flags: seen, InternalDate: old, Size: 1},
		{UID: 3, Flags: []string{`\Seen`}, InternalDate: far},
		{UID: 4, InternalDate: now},
	} {
		sel.msgs = append(sel.msgs, sel.toSnap(m))
		v := sel.view(i)
		if v.uid != m.UID || v.size != m.Size || !v.date.Equal(m.InternalDate) || !slices.Equal(v.flags, m.Flags) {
			t.Errorf("UID %d: view %+v, want %+v", m.UID, v, m)
		}
	}
	if len(sel.flagSets) != 2 {
		t.Errorf("%d flag sets, want 2 (none, \\Seen): %q", len(sel.flagSets), sel.flagSets)
	}
	sel.setFlags(3, []string{`\Seen`, "$Label1"})
	sel.msgs[3].markGone()
	if v := sel.view(3); !slices.Equal(v.flags, []string{`\Seen`, "$Label1"}) || !sel.msgs[3].gone() {
		t.Errorf("after STORE and expunge by another session: %+v gone=%v", v, sel.msgs[3].gone())
	}
	if !sel.learnAllKeywords() || sel.keywords["$label1"] != "$Label1" {
		t.Errorf("keywords %v", sel.keywords)
	}
}
