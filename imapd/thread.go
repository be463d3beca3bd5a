package imapd

import (
	"sort"
	"strings"

	"github.com/emersion/go-message/textproto"

	"congvu/imapd/wire"
	"congvu/internal/bufsize"
)

// THREAD (RFC 5256 §3): ORDEREDSUBJECT groups by base subject;
// REFERENCES links messages by Message-ID, In-Reply-To and References,
// then merges threads with the same base subject.

// threadNode is a container of the REFERENCES algorithm; item is nil for
// a message that is only referenced (a dummy).
type threadNode struct {
	item     *sortItem
	parent   *threadNode
	children []*threadNode
	reply    bool // its subject was a reply or forward
}

// maxThreadRefs bounds the references followed per message.
const maxThreadRefs = 256

func (c *conn) cmdThread(cmd *wire.Command) error {
	sp := cmd.Search
	if err := checkCharset(sp.Charset); err != nil {
		return err
	}
	if sp.Thread != "REFERENCES" && sp.Thread != "ORDEREDSUBJECT" {
		return bad("", "Unsupported threading algorithm; use REFERENCES or ORDEREDSUBJECT")
	}
	res, err := c.search(&sp.Key)
	if err != nil {
		return err
	}
	items, err := c.loadSortItems(res, sp.Thread == "REFERENCES")
	if err != nil {
		return err
	}
	var roots []*threadNode
	if sp.Thread == "REFERENCES" {
		roots = threadReferences(items)
	} else {
		roots = threadOrderedSubject(items)
	}
	w := c.w
	w.Raw("* THREAD")
	if len(roots) > 0 {
		w.SP()
	}
	num := func(it *sortItem) uint32 {
		if cmd.UID {
			return it.uid
		}
		return uint32(it.idx + 1)
	}
	for _, r := range roots {
		w.Byte('(')
		writeThreadChain(w, r, num)
		w.Byte(')')
	}
	w.CRLF()
	return nil
}

// writeThreadChain writes a node and its descendants (RFC 5256 §4
// thread-members / thread-nested).
func writeThreadChain(w *wire.Writer, n *threadNode, num func(*sortItem) uint32) {
	if n.item != nil {
		w.Num32(num(n.item))
		switch len(n.children) {
		case 0:
			return
		case 1:
			w.SP()
			writeThreadChain(w, n.children[0], num)
			return
		}
		w.SP()
	}
	for _, ch := range n.children {
		w.Byte('(')
		writeThreadChain(w, ch, num)
		w.Byte(')')
	}
}

// threadDate is a node's date for ordering: its message's, or for a dummy
// its first child's (RFC 5256 §3 REFERENCES step 7).
func threadDate(n *threadNode) *sortItem {
	for n.item == nil && len(n.children) > 0 {
		n = n.children[0]
	}
	return n.item
}

func threadLess(a, b *threadNode) bool {
	ia, ib := threadDate(a), threadDate(b)
	if ia == nil || ib == nil {
		return ia != nil
	}
	if d := ia.sentDate().Compare(ib.sentDate()); d != 0 {
		return d < 0
	}
	return ia.idx < ib.idx
}

// sortThreads orders every set of siblings, then the roots.
func sortThreads(nodes []*threadNode) {
	for _, n := range nodes {
		sortThreads(n.children)
	}
	sort.SliceStable(nodes, func(i, j int) bool { return threadLess(nodes[i], nodes[j]) })
}

func threadOrderedSubject(items []*sortItem) []*threadNode {
	type keyed struct {
		subj string
		it   *sortItem
	}
	ks := make([]keyed, len(items))
	for i, it := range items {
		s, _ := baseSubject(it.subject())
		ks[i] = keyed{s, it}
	}
	sort.SliceStable(ks, func(i, j int) bool {
		if ks[i].subj != ks[j].subj {
			return ks[i].subj < ks[j].subj
		}
		if d := ks[i].it.sentDate().Compare(ks[j].it.sentDate()); d != 0 {
			return d < 0
		}
		return ks[i].it.idx < ks[j].it.idx
	})
	var roots []*threadNode
	for i := 0; i < len(ks); {
		root := &threadNode{item: ks[i].it}
		j := i + 1
		for ; j < len(ks) && ks[j].subj == ks[i].subj; j++ {
			root.children = append(root.children, &threadNode{item: ks[j].it, parent: root})
		}
		roots = append(roots, root)
		i = j
	}
	sort.SliceStable(roots, func(i, j int) bool { return threadLess(roots[i], roots[j]) })
	return roots
}

// msgIDs extracts the <id>s of a field value, without brackets.
func msgIDs(s string) []string {
	var out []string
	for len(out) < maxThreadRefs {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break
		}
		if id := strings.TrimSpace(s[i+1 : i+j]); id != "" {
			out = append(out, id)
		}
		s = s[i+j+1:]
	}
	return out
}

// isAncestor reports whether a is b or one of b's ancestors.
func isAncestor(a, b *threadNode) bool {
	for n := b; n != nil; n = n.parent {
		if n == a {
			return true
		}
	}
	return false
}

func unlink(n *threadNode) {
	if p := n.parent; p != nil {
		for i, ch := range p.children {
			if ch == n {
				p.children = append(p.children[:i], p.children[i+1:]...)
				break
			}
		}
		n.parent = nil
	}
}

func link(parent, child *threadNode) {
	unlink(child)
	child.parent = parent
	parent.children = append(parent.children, child)
}

func threadReferences(items []*sortItem) []*threadNode {
	byID := map[string]*threadNode{}
	var all []*threadNode
	get := func(id string) *threadNode {
		n := byID[id]
		if n == nil {
			n = &threadNode{}
			byID[id] = n
			all = append(all, n)
		}
		return n
	}
	// Step 1: link references and messages.
	for _, it := range items {
		var refs []string
		if len(it.header) > 0 {
			h, _ := textproto.ReadHeader(bufsize.Bytes(it.header))
			refs = msgIDs(h.Get("References"))
		}
		if len(refs) == 0 && it.env != nil && len(it.env.InReplyTo) > 0 {
			refs = it.env.InReplyTo[:1]
		}
		for i := 1; i < len(refs); i++ {
			parent, child := get(refs[i-1]), get(refs[i])
			if child.parent == nil && !isAncestor(child, parent) {
				link(parent, child)
			}
		}
		id := ""
		if it.env != nil {
			id = it.env.MessageID
		}
		if id == "" || byID[id] != nil && byID[id].item != nil {
			// No or a duplicate Message-ID: a container of its own.
			id = "\x00" + itoa(it.uid)
		}
		n := get(id)
		n.item = it
		_, n.reply = baseSubject(it.subject())
		unlink(n)
		if len(refs) > 0 {
			if last := get(refs[len(refs)-1]); !isAncestor(n, last) {
				link(last, n)
			}
		}
	}
	// Step 2: the root set.
	var roots []*threadNode
	for _, n := range all {
		if n.parent == nil {
			roots = append(roots, n)
		}
	}
	// Step 4: prune dummies.
	roots = pruneDummies(roots, true)
	// Step 5: sort the roots by date (after ordering their children).
	sortThreads(roots)
	// Step 6: gather roots with the same base subject.
	roots = groupBySubject(roots)
	// Step 7: order siblings and roots again.
	sortThreads(roots)
	return roots
}

// pruneDummies removes dummies without children, and replaces a dummy by
// its children unless it is a root with several.
func pruneDummies(nodes []*threadNode, root bool) []*threadNode {
	var out []*threadNode
	for _, n := range nodes {
		n.children = pruneDummies(n.children, false)
		for _, ch := range n.children {
			ch.parent = n
		}
		if n.item != nil {
			out = append(out, n)
			continue
		}
		switch {
		case len(n.children) == 0:
		case root && len(n.children) > 1:
			out = append(out, n)
		default:
			for _, ch := range n.children {
				ch.parent = n.parent
			}
			out = append(out, n.children...)
		}
	}
	return out
}

// groupBySubject merges root threads with the same base subject (RFC 5256
// §3 REFERENCES step 6).
func groupBySubject(roots []*threadNode) []*threadNode {
	subjectOf := func(n *threadNode) (string, bool) {
		m := n
		if m.item == nil && len(m.children) > 0 {
			m = m.children[0]
		}
		if m.item == nil {
			return "", false
		}
		return baseSubject(m.item.subject())
	}
	table := map[string]*threadNode{}
	for _, r := range roots {
		s, _ := subjectOf(r)
		if s == "" {
			continue
		}
		cur, ok := table[s]
		if !ok || cur.item != nil && (r.item == nil || cur.reply && !r.reply) {
			table[s] = r
		}
	}
	var out []*threadNode
	replaced := map[*threadNode]*threadNode{}
	for _, r := range roots {
		s, _ := subjectOf(r)
		t := table[s]
		if s == "" || t == nil || t == r {
			if rep := replaced[r]; rep != nil {
				r = rep // merged into a new dummy while it waited its turn
			}
			out = append(out, r)
			continue
		}
		if rep := replaced[t]; rep != nil {
			t = rep
		}
		switch {
		case t.item == nil && r.item == nil:
			for _, ch := range r.children {
				ch.parent = t
			}
			t.children = append(t.children, r.children...)
		case t.item == nil:
			link(t, r)
		case r.reply && !t.reply:
			link(t, r)
		default:
			d := &threadNode{}
			replaced[t] = d
			link(d, t)
			link(d, r)
			for i, o := range out {
				if o == t {
					out[i] = d
				}
			}
		}
	}
	// The table's message may come after r in the root order.
	final := out[:0]
	for _, r := range out {
		if r.parent == nil {
			final = append(final, r)
		}
	}
	return final
}
