package addressbook

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"strings"
)

// The snapshot's generation and the change log behind CardDAV sync
// tokens (RFC 6578). Each fetched snapshot is compared with the one
// before, entry by entry: when anything published differs, the
// generation goes up and the addresses that changed or left are logged
// for that generation. A client's token names a generation; the changes
// since it are the union of the logged generations after it. The log is
// kept in memory and bounded: a token older than the log, or from before
// a restart (another epoch), is no longer valid and the client syncs in
// full, as RFC 6578 §3.2 lets a server decide.

// Log bounds: generations kept, and addresses over all of them.
const (
	maxLogGenerations = 256
	maxLogAddresses   = 200000
)

// changeLog is a Book's history of generations.
type changeLog struct {
	gen     int64               // the newest generation (0 before the first snapshot)
	digests map[string][32]byte // per published address, of the newest generation
	units   map[string]string   // per published address, its unit in the newest generation
	tree    [32]byte            // the unit tree of the newest generation
	entries []logEntry          // oldest first, consecutive generations
	size    int                 // addresses in entries
}

// logEntry is what generation gen changed from gen-1.
type logEntry struct {
	gen         int64
	addresses   []string          // changed, added or removed
	before      map[string]string // their units in gen-1 (absent: not published then)
	treeChanged bool              // units added, removed, renamed or moved
}

// Changes is what changed in a book between two generations.
type Changes struct {
	// Addresses changed, added or removed, each once, sorted.
	Addresses []string
	// Before gives, for each of Addresses published at the token's
	// generation, its unit then; an address absent was not published
	// (so a book need not report it removed).
	Before map[string]string
	// TreeChanged: the unit tree changed, so a book of a subtree (a
	// unit's) may have gained or lost members wholesale.
	TreeChanged bool
}

// record compares snapshot s with the newest generation and gives s its
// generation: the same when nothing published changed, else the next one,
// logged.
func (l *changeLog) record(s *Snapshot) {
	digests := make(map[string][32]byte, len(s.Entries))
	units := make(map[string]string, len(s.Entries))
	for _, e := range s.Entries {
		digests[e.Address], units[e.Address] = entryDigest(e), e.UnitCode
	}
	tree := treeDigest(s)
	if l.gen == 0 {
		l.gen, l.digests, l.units, l.tree = 1, digests, units, tree
		s.Generation = l.gen
		return
	}
	var changed []string
	for a, d := range digests {
		if old, ok := l.digests[a]; !ok || old != d {
			changed = append(changed, a)
		}
	}
	for a := range l.digests {
		if _, ok := digests[a]; !ok {
			changed = append(changed, a)
		}
	}
	treeChanged := tree != l.tree
	if len(changed) == 0 && !treeChanged {
		s.Generation = l.gen
		return
	}
	slices.Sort(changed)
	before := map[string]string{}
	for _, a := range changed {
		if u, ok := l.units[a]; ok {
			before[a] = u
		}
	}
	l.gen++
	l.digests, l.units, l.tree = digests, units, tree
	l.entries = append(l.entries, logEntry{gen: l.gen, addresses: changed, before: before, treeChanged: treeChanged})
	l.size += len(changed)
	for len(l.entries) > 0 && (len(l.entries) > maxLogGenerations || l.size > maxLogAddresses) {
		l.size -= len(l.entries[0].addresses)
		l.entries = l.entries[1:]
	}
	s.Generation = l.gen
}

// between returns the changes after generation from up to generation to;
// ok=false when from is older than the log (or newer than to).
func (l *changeLog) between(from, to int64) (Changes, bool) {
	if from == to {
		return Changes{}, from >= 1 && from <= l.gen
	}
	if from < 1 || from > to || to > l.gen {
		return Changes{}, false
	}
	// The log must hold every generation from+1 … to.
	if len(l.entries) == 0 || l.entries[0].gen > from+1 {
		return Changes{}, false
	}
	c := Changes{Before: map[string]string{}}
	seen := map[string]bool{}
	for _, e := range l.entries {
		if e.gen <= from || e.gen > to {
			continue
		}
		c.TreeChanged = c.TreeChanged || e.treeChanged
		for _, a := range e.addresses {
			if !seen[a] {
				// The first change after the token tells how it was then.
				seen[a] = true
				c.Addresses = append(c.Addresses, a)
				if u, ok := e.before[a]; ok {
					c.Before[a] = u
				}
			}
		}
	}
	slices.Sort(c.Addresses)
	return c, true
}

// entryDigest covers everything a published card is made of.
func entryDigest(e Entry) [32]byte {
	h := sha256.New()
	for _, s := range []string{e.Address, e.Name, e.Surname, e.GivenName, e.Title, e.Unit, e.UnitCode, e.Phone,
		strings.Join(e.Members, ","), string(e.Certificate)} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	flags := []byte{0, 0}
	if e.IsUnit {
		flags[0] = 1
	}
	if e.IsGroup {
		flags[1] = 1
	}
	h.Write(flags)
	h.Write([]byte(e.Updated.UTC().Format("2006-01-02T15:04:05.999999999")))
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// treeDigest covers the published units and where they hang.
func treeDigest(s *Snapshot) [32]byte {
	h := sha256.New()
	if s.Tree != nil {
		codes := make([]string, 0, len(s.Units))
		for code := range s.Units {
			codes = append(codes, code)
		}
		slices.Sort(codes)
		for _, code := range codes {
			u := s.Units[code]
			h.Write([]byte(u.Code + "\x00" + u.ParentCode + "\x00" + u.Name + "\x00" + string(u.Kind) + "\n"))
		}
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}
