package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A delivery's commit writes five index pages to the WAL: the messages
// row, its (folder, modseq) index entry, the cache row, the folder's
// counters and the account's usage. Each page more is a 4 KiB write and
// B-tree work in every delivery (issue 16): the folder's name index (a
// counters update that also set the name) and the cache's own index
// (before schema 6) were two.
func TestDeliveryCommitWritesFivePages(t *testing.T) {
	s, dir := newStore(t)
	const user = "b@angiang.gov.vn"
	body := strings.Repeat("Noi dung cong van so 123/UBND-VP ve viec hop giao ban. ", 180)
	send := func(i int) {
		deliver(t, s, fmt.Sprintf("From: a@angiang.gov.vn\r\nTo: %s\r\nSubject: Cong van %d\r\nDate: Sun, 06 Dec 2026 09:30:00 +0700\r\nMessage-ID: <%d@angiang.gov.vn>\r\n\r\n%s",
			user, i, i, body), Recipient{User: user})
	}
	// Enough messages first that the tables have grown past their root pages.
	for i := range 40 {
		send(i)
	}
	wal := filepath.Join(dir, "users", "angiang.gov.vn", "b", indexFile+"-wal")
	before, err := os.Stat(wal)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	for i := range n {
		send(40 + i)
	}
	b, err := os.ReadFile(wal)
	if err != nil {
		t.Fatal(err)
	}
	const frame = 24 + 4096 // WAL frame header and page (https://sqlite.org/walformat.html)
	var pages []uint32
	for off := int(before.Size()); off+frame <= len(b); off += frame {
		pages = append(pages, uint32(b[off])<<24|uint32(b[off+1])<<16|uint32(b[off+2])<<8|uint32(b[off+3]))
	}
	// A page split now and then adds a new leaf and its parent (the cache
	// rows fill a page every few messages).
	if len(pages) > 5*n+n/2 {
		last := pages[max(0, len(pages)-10):]
		slices.Sort(last)
		t.Fatalf("%d deliveries wrote %d WAL frames (%.1f each), want 5 each and some splits; pages of the last ones: %v",
			n, len(pages), float64(len(pages))/n, slices.Compact(last))
	}
}
