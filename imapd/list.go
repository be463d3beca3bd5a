package imapd

import (
	"sort"
	"strings"

	"congvu/imapd/wire"
	"congvu/sharing"
	"congvu/storage"
)

// listEntry is one LIST candidate: a folder, a hierarchy level that only
// exists because it has children (\Noselect), or a subscription whose
// folder does not exist (\NonExistent).
type listEntry struct {
	storage.FolderStatus
	virtual     bool // no such folder, but children exist
	nonExistent bool // subscribed, no such folder
	subscribed  bool
	hasChildren bool
	// subscribedChild: a descendant is subscribed (RFC 5258 CHILDINFO).
	subscribedChild bool
	specialChild    bool
	// A folder of a shared mailbox: its handle, its name there and the
	// user's rights; mbox nil for the user's own folders.
	mbox   storage.Mailbox
	folder string
	rights string
}

// maxPattern bounds a LIST pattern; matching is O(name × pattern).
const maxPattern = 512

// cmdList implements LIST (RFC 9051 §6.3.9) with LIST-EXTENDED selection
// and return options (RFC 5258), SPECIAL-USE (RFC 6154), LIST-STATUS
// (RFC 5819) and CHILDREN (RFC 3348).
func (c *conn) cmdList(l *wire.ListParams) error {
	if len(l.Patterns) == 1 && l.Patterns[0] == "" && !l.Extended {
		// RFC 9051 §6.3.9: LIST "" "" asks for the hierarchy delimiter
		// and the root of the reference.
		c.w.Raw(`* LIST (\Noselect) "/" ""`).CRLF()
		return nil
	}
	for _, p := range l.Patterns {
		if len(p)+len(l.Reference) > maxPattern {
			return bad("LIMIT", "LIST pattern too long")
		}
	}
	entries, err := c.listEntries()
	if err != nil {
		return err
	}
	var matchers []*listMatcher
	for _, p := range l.Patterns {
		matchers = append(matchers, newListMatcher(l.Reference, p))
	}
	selected := func(e *listEntry) bool {
		switch {
		case l.SelectSubscribed:
			return e.subscribed
		case l.SelectSpecialUse:
			return e.SpecialUse != "" && !e.nonExistent
		}
		// Names that are not mailboxes are listed when they have some.
		return !e.nonExistent && !e.virtual || e.hasChildren
	}
	filtering := l.SelectSubscribed || l.SelectSpecialUse
	for i := range entries {
		e := &entries[i]
		if !matchAny(matchers, e.Name) {
			continue
		}
		// RFC 5258 §3.5: with RECURSIVEMATCH, a name is also returned
		// (with CHILDINFO) when a descendant that the patterns do not
		// match satisfies the selection.
		childInfo := false
		if l.SelectRecursive && filtering {
			for j := range entries {
				d := &entries[j]
				if strings.HasPrefix(d.Name, e.Name+"/") && selected(d) && !matchAny(matchers, d.Name) {
					childInfo = true
					break
				}
			}
		}
		if !selected(e) && !childInfo {
			continue
		}
		c.writeListEntry(*e, l, childInfo)
		// RFC 5819 §2: no STATUS for a folder the user may not read.
		if l.ReturnStatus != nil && !e.virtual && !e.nonExistent && (e.mbox == nil || sharing.Has(e.rights, "r")) {
			mbox, st := c.mbox, e.FolderStatus
			if e.mbox != nil {
				mbox, st.Name = e.mbox, e.folder
			}
			ex, err := c.statusExtras(mbox, st, l.ReturnStatus)
			if err != nil {
				return err
			}
			c.writeStatus(e.Name, st, l.ReturnStatus, ex)
		}
	}
	return nil
}

func containsItem(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func (c *conn) writeListEntry(e listEntry, l *wire.ListParams, childInfo bool) {
	w := c.w
	var attrs []string
	if e.nonExistent || e.virtual {
		// RFC 5258 §3.4: \NonExistent (which implies \Noselect) for a
		// name the selection returns that is no mailbox; \Noselect for a
		// level of the hierarchy.
		if l.SelectSubscribed || l.SelectSpecialUse || !e.hasChildren {
			attrs = append(attrs, `\NonExistent`)
		} else {
			attrs = append(attrs, `\Noselect`)
		}
	}
	if e.hasChildren {
		attrs = append(attrs, `\HasChildren`)
	} else {
		attrs = append(attrs, `\HasNoChildren`)
	}
	if e.subscribed && (l.SelectSubscribed || l.ReturnSubscribed) {
		attrs = append(attrs, `\Subscribed`)
	}
	// RFC 6154 §2: special-use attributes are returned in every LIST;
	// Thunderbird and iOS Mail rely on it.
	if e.SpecialUse != "" {
		attrs = append(attrs, e.SpecialUse)
	}
	w.Raw("* LIST ")
	writeFlagList(w, attrs)
	w.Raw(` "/" `).Mailbox(e.Name)
	if childInfo {
		if l.SelectSubscribed {
			w.Raw(` ("CHILDINFO" ("SUBSCRIBED"))`)
		} else {
			w.Raw(` ("CHILDINFO" ("SPECIAL-USE"))`)
		}
	}
	w.CRLF()
}

// cmdLsub implements LSUB (RFC 3501 §6.3.9): subscribed names; a level
// that "%" stops at and that only has subscribed children is returned
// with \Noselect.
func (c *conn) cmdLsub(ref, pattern string) error {
	if len(ref)+len(pattern) > maxPattern {
		return bad("LIMIT", "LSUB pattern too long")
	}
	entries, err := c.listEntries()
	if err != nil {
		return err
	}
	m := newListMatcher(ref, pattern)
	for _, e := range entries {
		if !m.match(e.Name) {
			continue
		}
		var attrs []string
		switch {
		case e.subscribed:
			if e.nonExistent || e.virtual {
				attrs = append(attrs, `\Noselect`)
			}
		case e.subscribedChild && strings.Contains(pattern, "%"):
			attrs = append(attrs, `\Noselect`)
		default:
			continue
		}
		c.w.Raw("* LSUB ")
		writeFlagList(c.w, attrs)
		c.w.Raw(` "/" `).Mailbox(e.Name).CRLF()
	}
	return nil
}

// listEntries returns the folders, the subscriptions whose folder was
// deleted, and the hierarchy levels implied by either, INBOX first then
// by name.
func (c *conn) listEntries() ([]listEntry, error) {
	folders, err := c.mbox.Folders(c.ctx)
	if err != nil {
		return nil, err
	}
	subs, err := c.mbox.Subscriptions(c.ctx)
	if err != nil {
		return nil, err
	}
	byName := map[string]*listEntry{}
	var names []string
	add := func(e listEntry) *listEntry {
		if old := byName[e.Name]; old != nil {
			return old
		}
		p := &e
		byName[e.Name] = p
		names = append(names, e.Name)
		return p
	}
	for _, f := range folders {
		add(listEntry{FolderStatus: f, subscribed: f.Subscribed})
	}
	for _, n := range subs {
		if isSharedName(n) && c.srv.deps.Sharing != nil {
			continue // the shared namespace is listed from the shared mailboxes
		}
		e := add(listEntry{FolderStatus: storage.FolderStatus{Name: n}, nonExistent: true})
		e.subscribed = true
	}
	if err := c.sharedEntries(add); err != nil {
		return nil, err
	}
	for _, n := range append([]string(nil), names...) {
		e := byName[n]
		for _, parent := range parentNames(n) {
			p := add(listEntry{FolderStatus: storage.FolderStatus{Name: parent}, virtual: true})
			if !e.nonExistent {
				p.hasChildren = true
			}
			if e.subscribed {
				p.subscribedChild = true
			}
			if e.SpecialUse != "" {
				p.specialChild = true
			}
		}
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := names[i], names[j]
		if (a == storage.Inbox) != (b == storage.Inbox) {
			return a == storage.Inbox
		}
		return a < b
	})
	out := make([]listEntry, len(names))
	for i, n := range names {
		out[i] = *byName[n]
	}
	return out, nil
}

// sharedEntries adds the folders of the shared mailboxes the user may
// see, under "Shared/<name>", always subscribed. Their special uses are
// not shown: a client must not take a unit's Sent for the user's own.
func (c *conn) sharedEntries(add func(listEntry) *listEntry) error {
	boxes, err := c.boxes()
	if err != nil || len(boxes) == 0 {
		return err
	}
	for i := range boxes {
		b := &boxes[i]
		m, err := c.boxMailbox(b)
		if err != nil {
			return err
		}
		folders, err := m.Folders(c.ctx)
		if err != nil {
			return err
		}
		for _, f := range folders {
			st := f
			st.Name, st.SpecialUse = clientName(b, f.Name), ""
			add(listEntry{FolderStatus: st, subscribed: true, mbox: m, folder: f.Name, rights: b.Rights})
		}
	}
	return nil
}

// parentNames returns the superior names of a folder, outermost first:
// "a/b/c" gives ["a", "a/b"].
func parentNames(name string) []string {
	var out []string
	for i := 0; i < len(name); i++ {
		if name[i] == delim {
			out = append(out, name[:i])
		}
	}
	return out
}

func matchAny(ms []*listMatcher, name string) bool {
	for _, m := range ms {
		if m.match(name) {
			return true
		}
	}
	return false
}

// listMatcher matches folder names against a LIST reference and pattern
// (RFC 9051 §6.3.9): "*" matches anything, "%" anything but the hierarchy
// delimiter. INBOX matches in any case (RFC 9051 §5.1).
type listMatcher struct{ pattern string }

func newListMatcher(ref, pattern string) *listMatcher {
	full := pattern
	if ref != "" && !strings.HasPrefix(pattern, string(delim)) {
		full = ref + pattern
	} else if ref != "" {
		full = strings.TrimSuffix(ref, string(delim)) + pattern
	}
	// Runs of wildcards with a "*" in them are one "*".
	var b strings.Builder
	for i := 0; i < len(full); i++ {
		ch := full[i]
		if ch == '*' || ch == '%' {
			j := i
			star := false
			for j < len(full) && (full[j] == '*' || full[j] == '%') {
				star = star || full[j] == '*'
				j++
			}
			if star {
				b.WriteByte('*')
			} else {
				b.WriteByte('%')
			}
			i = j - 1
			continue
		}
		b.WriteByte(ch)
	}
	return &listMatcher{pattern: upperInbox(b.String())}
}

// upperInbox upper-cases a leading "inbox" hierarchy component.
func upperInbox(s string) string {
	n := len(storage.Inbox)
	if len(s) >= n && strings.EqualFold(s[:n], storage.Inbox) && (len(s) == n || s[n] == delim) {
		return storage.Inbox + s[n:]
	}
	return s
}

// match runs a dynamic program over pattern positions: O(len(name) ×
// len(pattern)) time, O(len(pattern)) space, no backtracking blow-up.
func (m *listMatcher) match(name string) bool {
	p := m.pattern
	cur := make([]bool, len(p)+1)
	next := make([]bool, len(p)+1)
	cur[0] = true
	// Wildcards may match the empty string.
	closeEmpty := func(states []bool) {
		for j := 0; j < len(p); j++ {
			if states[j] && (p[j] == '*' || p[j] == '%') {
				states[j+1] = true
			}
		}
	}
	closeEmpty(cur)
	for i := 0; i < len(name); i++ {
		ch := name[i]
		for j := range next {
			next[j] = false
		}
		any := false
		for j := 0; j < len(p); j++ {
			if !cur[j] {
				continue
			}
			switch p[j] {
			case '*':
				next[j] = true
			case '%':
				if ch != delim {
					next[j] = true
				}
			default:
				if p[j] == ch {
					next[j+1] = true
				}
			}
		}
		closeEmpty(next)
		for _, v := range next {
			any = any || v
		}
		if !any {
			return false
		}
		cur, next = next, cur
	}
	return cur[len(p)]
}
