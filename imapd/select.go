package imapd

import (
	"errors"
	"sort"
	"strings"
	"time"

	"congvu/imapd/wire"
	"congvu/internal/mailerr"
	"congvu/sharing"
	"congvu/storage"
)

// unselect drops the selected folder (RFC 9051 §6.4.2 UNSELECT).
func (c *conn) unselect() {
	if c.sel != nil {
		c.sel.close()
		c.sel = nil
	}
	c.state = stateAuth
}

// cmdSelect implements SELECT and EXAMINE (RFC 9051 §6.3.2, §6.3.3).
func (c *conn) cmdSelect(cmd *wire.Command) error {
	if c.sel != nil {
		c.unselect()
		// RFC 9051 §6.3.2 (RFC 7162 §3.2.11): the previous folder is closed.
		c.w.Status("*", "OK", "CLOSED", "Previous mailbox closed")
	}
	readOnly := cmd.BaseName() == "EXAMINE"
	p, err := c.resolve(cmd.Mailbox)
	if err != nil {
		return err
	}
	if !p.can("r") {
		if !p.can("l") {
			return errNoMailbox
		}
		return errNoPerm("read")
	}
	// RFC 4314 §4: without a right to change anything, read-only.
	readOnly = readOnly || !strings.ContainsAny(p.rights, "swte")
	if q := cmd.Select.QResync; q != nil && !c.qresync {
		// RFC 7162 §3.2.5: QRESYNC must be enabled first.
		return bad("", "QRESYNC parameter without ENABLE QRESYNC")
	}
	if cmd.Select.CondStore {
		c.condstore = true
	}
	st, err := p.mbox.Status(c.ctx, p.folder)
	if err != nil {
		return err
	}
	// Watch before listing so no change falls between the two.
	events, cancel, wakes := c.watch(p.mbox, st.Name)
	msgs, err := p.mbox.Messages(c.ctx, st.Name)
	if err != nil {
		cancel()
		return err
	}
	sel := newSelected()
	sel.mbox, sel.name, sel.rights = p.mbox, clientName(p.box, st.Name), p.rights
	sel.folder, sel.readOnly, sel.uidValidity, sel.last, sel.lastCheck = st.Name, readOnly, st.UIDValidity, st, time.Now()
	sel.events, sel.cancelWatch, sel.wakes = events, cancel, wakes
	sel.msgs = make([]snapMsg, len(msgs))
	for i, m := range msgs {
		sel.msgs[i] = sel.toSnap(m)
	}
	sel.learnAllKeywords()
	c.sel, c.state = sel, stateSelected

	uidNext := st.UIDNext
	if n := len(msgs); n > 0 && msgs[n-1].UID >= uidNext {
		uidNext = msgs[n-1].UID + 1 // delivered between Status and Messages
	}
	// RFC 3501 §6.3.1: SELECT takes \Recent for this session; EXAMINE
	// only looks (§6.3.2).
	first, err := p.mbox.ClaimRecent(c.ctx, st.Name, uidNext, !readOnly)
	if err != nil {
		return err
	}
	sel.addRecent(first, uidNext)
	w := c.w
	w.Raw("* FLAGS ")
	writeFlagList(w, sel.mailboxFlags())
	w.CRLF()
	if readOnly {
		w.Status("*", "OK", "PERMANENTFLAGS ()", "Read-only mailbox") // RFC 9051 §6.3.3
	} else {
		w.Status("*", "OK", "PERMANENTFLAGS ("+strings.Join(permanentFlags(p.rights), " ")+")", "Flags permitted")
	}
	w.Raw("* ").Num(uint64(len(msgs))).Raw(" EXISTS").CRLF()
	if !c.rev2 {
		w.Raw("* ").Num32(sel.recentCount()).Raw(" RECENT").CRLF()
		for i, m := range sel.msgs {
			if !hasFlag(sel.flagsOf(m), `\Seen`) {
				w.Status("*", "OK", "UNSEEN "+itoa(uint32(i+1)), "First unseen") // RFC 3501 §6.3.1
				break
			}
		}
	}
	w.Status("*", "OK", "UIDVALIDITY "+itoa(st.UIDValidity), "UIDs valid")
	w.Status("*", "OK", "UIDNEXT "+itoa(uidNext), "Predicted next UID")
	if c.condstore {
		// RFC 7162 §3.1.2.1.
		w.Status("*", "OK", "HIGHESTMODSEQ "+u64toa(st.HighestModSeq), "Highest mailbox modseq")
	}
	if c.rev2 {
		// RFC 9051 §6.3.2: the mailbox name as the server knows it.
		w.Raw(`* LIST () "/" `).Mailbox(sel.name).CRLF()
	}
	if q := cmd.Select.QResync; q != nil {
		if err := c.qresyncSelect(q); err != nil {
			return err
		}
	}
	if readOnly {
		c.okCode = "READ-ONLY"
	} else {
		c.okCode = "READ-WRITE"
	}
	c.okText = cmd.BaseName() + " completed"
	return nil
}

// permanentFlags are the flags the rights let the user change (RFC 4314
// §4, RFC 9051 §7.1 PERMANENTFLAGS).
func permanentFlags(rights string) []string {
	var out []string
	for _, f := range systemFlags {
		if sharing.Has(rights, flagRight(f)) {
			out = append(out, f)
		}
	}
	if sharing.Has(rights, "w") {
		out = append(out, `\*`)
	}
	return out
}

// cmdClose implements CLOSE (RFC 9051 §6.4.1): a silent expunge, then
// unselect. A read-only folder is left untouched without an error.
func (c *conn) cmdClose() error {
	sel := c.sel
	if !sel.readOnly && sharing.Has(sel.rights, "e") {
		if _, err := sel.mbox.Expunge(c.ctx, sel.folder, nil); err != nil {
			return err
		}
	}
	c.unselect()
	return nil
}

// pollAfter sends what changed in the selected folder since the client
// was last told (RFC 9051 §7: unilateral responses before the tagged
// reply). EXPUNGE is held back after commands that use sequence numbers
// (RFC 9051 §7.5.1).
func (c *conn) pollAfter(cmd *wire.Command) error {
	allowExpunge := true
	switch cmd.Name {
	case "FETCH", "STORE", "SEARCH", "COPY", "SORT", "THREAD":
		allowExpunge = false
	}
	return c.refresh(allowExpunge, false)
}

// refreshInterval bounds how long a session trusts change events alone:
// changes made by other processes (congvu storage import-maildir) are
// found by comparing with the store at least this often.
const refreshInterval = 2 * time.Second

// refresh compares the store with the client's view and writes the
// differences as unilateral responses (RFC 9051 §7.4.1 EXPUNGE, §7.3.1
// EXISTS, §7.5.2 FETCH FLAGS). With force the store is always read.
func (c *conn) refresh(allowExpunge, force bool) error {
	sel := c.sel
	w := c.w
	if allowExpunge && sel.ghosts > 0 {
		// Report messages found gone during FETCH/STORE/SEARCH, highest
		// sequence number first so each number is valid when sent.
		for i := len(sel.msgs) - 1; i >= 0; i-- {
			if sel.msgs[i].gone() {
				c.writeExpunge(uint32(i+1), sel.msgs[i].uid)
				sel.msgs = append(sel.msgs[:i], sel.msgs[i+1:]...)
			}
		}
		sel.ghosts = 0
		c.flushVanished()
	}
drain:
	for {
		select {
		case <-sel.events:
			sel.dirty = true
		default:
			break drain
		}
	}
	if !sel.dirty && !force && time.Since(sel.lastCheck) < refreshInterval {
		return w.Err()
	}
	sel.dirty, sel.lastCheck = false, time.Now()
	st, err := sel.mbox.Status(c.ctx, sel.folder)
	if err != nil {
		if errors.Is(err, mailerr.ErrNoSuchFolder) {
			// Deleted or renamed by another session: the view cannot be
			// kept consistent, so end the session (RFC 9051 §7.1.5 BYE).
			c.log.Info("selected folder disappeared", "folder", sel.folder)
			return byeError{"Selected folder was deleted or renamed"}
		}
		c.log.Warn("imap poll status failed", "folder", sel.folder, "err", err)
		return nil
	}
	if st.UIDValidity != sel.uidValidity {
		// RFC 9051 §2.3.1.1: UIDs of this view are no longer valid.
		return byeError{"Folder UIDVALIDITY changed, please reconnect"}
	}
	if st.UIDNext == sel.last.UIDNext && st.HighestModSeq == sel.last.HighestModSeq && st.Messages == sel.last.Messages {
		return w.Err()
	}
	// What changed since the last look, through the store's MODSEQ index
	// and expunge log: the cost follows the changes, not the folder.
	if since := sel.last.HighestModSeq; since > 0 {
		vanished, complete, verr := sel.mbox.Vanished(c.ctx, sel.folder, since)
		if verr == nil && complete {
			changed, cerr := sel.mbox.ChangedSince(c.ctx, sel.folder, since)
			if cerr == nil {
				sel.last = st
				c.applyDiff(vanished, changed, allowExpunge)
				return w.Err()
			}
		}
	}
	cur, err := sel.mbox.Messages(c.ctx, sel.folder)
	if err != nil {
		c.log.Warn("imap poll list failed", "folder", sel.folder, "err", err)
		return nil
	}
	sel.last = st
	c.applyChanges(cur, allowExpunge)
	return w.Err()
}

// find returns the view position of uid (the view is in UID order).
func (sel *selected) find(uid uint32) (int, bool) {
	i := sort.Search(len(sel.msgs), func(i int) bool { return sel.msgs[i].uid >= uid })
	return i, i < len(sel.msgs) && sel.msgs[i].uid == uid
}

// applyChanges diffs the view against cur, the whole folder by UID.
func (c *conn) applyChanges(cur []storage.MessageInfo, allowExpunge bool) {
	sel := c.sel
	present := make(map[uint32]bool, len(cur))
	for _, m := range cur {
		present[m.UID] = true
	}
	var gone []uint32
	for _, m := range sel.msgs {
		if !present[m.uid] {
			gone = append(gone, m.uid)
		}
	}
	c.applyDiff(gone, cur, allowExpunge)
}

// applyDiff brings the view up to date: gone are expunged UIDs, changed
// are rows (by UID) whose flags may differ or which are new.
func (c *conn) applyDiff(gone []uint32, changed []storage.MessageInfo, allowExpunge bool) {
	sel := c.sel
	var maxUID uint32
	if n := len(sel.msgs); n > 0 {
		maxUID = sel.msgs[n-1].uid
	}
	// Expunged by others, highest sequence number first.
	for k := len(gone) - 1; k >= 0; k-- {
		i, ok := sel.find(gone[k])
		if !ok || sel.msgs[i].gone() {
			continue
		}
		if !allowExpunge {
			sel.msgs[i].markGone()
			sel.ghosts++
			continue
		}
		c.writeExpunge(uint32(i+1), gone[k])
		sel.msgs = append(sel.msgs[:i], sel.msgs[i+1:]...)
	}
	c.flushVanished()
	// Flags changed by others; a keyword the client has not seen yet is
	// announced with FLAGS before the first FETCH that carries it
	// (RFC 9051 §7.3.5). New messages: UIDs only grow (RFC 9051 §2.3.1.1).
	type change struct {
		uid    uint32
		flags  []string
		modseq uint64
	}
	var changes []change
	newKeyword := false
	start := len(sel.msgs)
	for _, m := range changed {
		if m.UID > maxUID {
			sel.msgs = append(sel.msgs, sel.toSnap(m))
			newKeyword = sel.learnKeywords(m.Flags) || newKeyword
			continue
		}
		i, ok := sel.find(m.UID)
		if !ok || sameFlags(sel.flagsOf(sel.msgs[i]), m.Flags) {
			continue
		}
		changes = append(changes, change{m.UID, m.Flags, m.ModSeq})
		newKeyword = sel.learnKeywords(m.Flags) || newKeyword
	}
	if newKeyword {
		c.w.Raw("* FLAGS ")
		writeFlagList(c.w, sel.mailboxFlags())
		c.w.CRLF()
	}
	for _, ch := range changes {
		if i, ok := sel.find(ch.uid); ok {
			sel.setFlags(i, ch.flags)
			c.writeFlagsUpdate(i, ch.modseq)
		}
	}
	if len(sel.msgs) > start {
		// New mail is \Recent for the first session to see it (RFC 3501
		// §2.3.2); a read-only session only looks.
		next := sel.msgs[len(sel.msgs)-1].uid + 1
		if first, err := sel.mbox.ClaimRecent(c.ctx, sel.folder, next, !sel.readOnly); err == nil {
			sel.addRecent(max(first, sel.msgs[start].uid), next)
		}
		c.w.Raw("* ").Num(uint64(len(sel.msgs))).Raw(" EXISTS").CRLF()
		if !c.rev2 {
			c.w.Raw("* ").Num32(sel.recentCount()).Raw(" RECENT").CRLF()
		}
	}
}

// writeExpunge reports one expunged message: EXPUNGE (RFC 9051 §7.5.1),
// or with QRESYNC its UID, gathered into one VANISHED (RFC 7162 §3.2.10)
// by flushVanished.
func (c *conn) writeExpunge(seq, uid uint32) {
	if c.qresync {
		c.vanished = append(c.vanished, uid)
		return
	}
	c.w.Raw("* ").Num32(seq).Raw(" EXPUNGE").CRLF()
}

// flushVanished sends the UIDs gathered by writeExpunge.
func (c *conn) flushVanished() {
	if len(c.vanished) > 0 {
		c.w.Raw("* VANISHED ").Raw(uidSetString(c.vanished)).CRLF()
		c.vanished = c.vanished[:0]
	}
}

// writeFlagsUpdate reports the flags of the message at view index i as
// FETCH (UID FLAGS), with MODSEQ once CONDSTORE is on (RFC 7162 §3.1.4);
// UID helps clients that track by UID (RFC 9051 §7.5.2).
func (c *conn) writeFlagsUpdate(i int, modseq uint64) {
	sel := c.sel
	m := sel.msgs[i]
	c.w.Raw("* ").Num(uint64(i + 1)).Raw(" FETCH (UID ").Num32(m.uid).Raw(" FLAGS ")
	c.writeMsgFlags(m.uid, sel.flagsOf(m))
	if c.condstore && modseq > 0 {
		c.w.Raw(" MODSEQ (").Num(modseq).Byte(')')
	}
	c.w.Raw(")").CRLF()
}

// writeMsgFlags writes a message's flag list, with \Recent for IMAP4rev1
// sessions (RFC 3501 §2.3.2; IMAP4rev2 has no \Recent).
func (c *conn) writeMsgFlags(uid uint32, flags []string) {
	if !c.rev2 && c.sel.isRecent(uid) {
		flags = append(append(make([]string, 0, len(flags)+1), flags...), `\Recent`)
	}
	writeFlagList(c.w, flags)
}

// expungeFromView removes uids from the view, writing one EXPUNGE per
// message, highest sequence number first (or one VANISHED).
func (c *conn) expungeFromView(uids []uint32) {
	sel := c.sel
	gone := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		gone[u] = true
	}
	for i := len(sel.msgs) - 1; i >= 0; i-- {
		uid := sel.msgs[i].uid
		if !gone[uid] {
			continue
		}
		if sel.msgs[i].gone() {
			sel.ghosts--
		}
		sel.msgs = append(sel.msgs[:i], sel.msgs[i+1:]...)
		c.writeExpunge(uint32(i+1), uid)
	}
	c.flushVanished()
}
