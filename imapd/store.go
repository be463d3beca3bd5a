package imapd

import (
	"errors"

	"congvu/imapd/wire"
	"congvu/sharing"
	"congvu/storage"
)

var errReadOnly = no("READ-ONLY", "Mailbox is read-only")

// cmdStore implements STORE and UID STORE (RFC 9051 §6.4.6).
func (c *conn) cmdStore(cmd *wire.Command) error {
	sel := c.sel
	if sel.readOnly {
		return errReadOnly
	}
	idx, err := sel.resolve(cmd.Set, cmd.UID)
	if err != nil {
		return err
	}
	st := cmd.Store
	// RFC 4314 §4: s for \Seen, t for \Deleted, w for the rest; a
	// replacement may touch them all.
	need := ""
	for _, f := range storeFlags(st.Flags) {
		need += flagRight(f)
	}
	if st.Op == 0 {
		need = "swt"
	}
	if !sharing.Has(sel.rights, need) {
		return errNoPerm("change these flags (" + sharing.Canonical(need) + ")")
	}
	if st.HasUnchanged {
		c.enableCondstore() // RFC 7162 §3.1: a CONDSTORE-enabling command
	}
	uids := sel.liveUIDs(idx)
	if len(uids) == 0 {
		return nil
	}
	if st.HasUnchanged && st.UnchangedSince == 0 {
		// RFC 7162 §3.1.3: UNCHANGEDSINCE 0 always fails.
		c.okCode = "MODIFIED " + c.numbersOf(idx, cmd.UID)
		c.okText = "Conditional STORE failed"
		return nil
	}
	op := storage.FlagsSet
	switch st.Op {
	case '+':
		op = storage.FlagsAdd
	case '-':
		op = storage.FlagsRemove
	}
	updated, failed, err := sel.mbox.SetFlags(c.ctx, sel.folder, uids, op, storeFlags(st.Flags), st.UnchangedSince)
	if err != nil {
		return err
	}
	if len(failed) > 0 {
		// RFC 7162 §3.1.3: the messages changed since are listed, by
		// sequence number for STORE and by UID for UID STORE.
		c.okCode = "MODIFIED " + c.numbersOf(sel.resolveUIDs(failed), cmd.UID)
		c.okText = "Conditional STORE failed for some messages"
	}
	byUID := make(map[uint32]storage.MessageInfo, len(updated))
	newKeyword := false
	for _, m := range updated {
		byUID[m.UID] = m
		newKeyword = sel.learnKeywords(m.Flags) || newKeyword
	}
	if newKeyword {
		// RFC 9051 §7.3.5: the client learns new keywords from FLAGS
		// before it sees them on a message.
		c.w.Raw("* FLAGS ")
		writeFlagList(c.w, sel.mailboxFlags())
		c.w.CRLF()
	}
	for _, i := range idx {
		m, ok := byUID[sel.msgs[i].uid]
		if !ok {
			continue
		}
		sel.setFlags(i, m.Flags)
		if st.Silent {
			continue
		}
		c.writeFlagsUpdate(i, m.ModSeq)
	}
	return nil
}

// numbersOf formats the view positions idx as sequence numbers or UIDs.
func (c *conn) numbersOf(idx []int, uid bool) string {
	nums := make([]uint32, len(idx))
	for i, j := range idx {
		if uid {
			nums[i] = c.sel.msgs[j].uid
		} else {
			nums[i] = uint32(j + 1)
		}
	}
	return uidSetString(nums)
}

// cmdExpunge implements EXPUNGE and UID EXPUNGE (RFC 9051 §6.4.3, §6.4.9).
func (c *conn) cmdExpunge(cmd *wire.Command) error {
	sel := c.sel
	if sel.readOnly {
		return errReadOnly
	}
	if !sharing.Has(sel.rights, "e") {
		return errNoPerm("expunge (e)")
	}
	var only []uint32
	if cmd.UID {
		idx, err := sel.resolve(cmd.Set, true)
		if err != nil {
			return err
		}
		if only = sel.liveUIDs(idx); len(only) == 0 {
			return nil
		}
	}
	removed, err := sel.mbox.Expunge(c.ctx, sel.folder, only)
	if err != nil {
		return err
	}
	c.expungeFromView(removed)
	return nil
}

// copyUIDCode is the COPYUID response code (RFC 4315 §3).
func copyUIDCode(res storage.CopyResult) string {
	return "COPYUID " + itoa(res.UIDValidity) + " " + uidSetString(res.SourceUIDs) + " " + uidSetString(res.DestUIDs)
}

// cmdCopy implements COPY and UID COPY with COPYUID (RFC 9051 §6.4.7,
// RFC 4315); the target needs the i right (RFC 4314 §4).
func (c *conn) cmdCopy(cmd *wire.Command) error {
	res, err := c.copyMessages(cmd, false)
	if err == nil && len(res.DestUIDs) > 0 {
		c.okCode = copyUIDCode(res)
	}
	return err
}

// cmdMove implements MOVE and UID MOVE (RFC 9051 §6.4.8, RFC 6851): the
// untagged COPYUID first, then one EXPUNGE per moved message. The source
// needs t and e, the target i (RFC 4314 §4).
func (c *conn) cmdMove(cmd *wire.Command) error {
	sel := c.sel
	if sel.readOnly {
		return errReadOnly
	}
	if !sharing.Has(sel.rights, "te") {
		return errNoPerm("move messages out (t, e)")
	}
	res, err := c.copyMessages(cmd, true)
	if err != nil {
		return err
	}
	if len(res.DestUIDs) > 0 {
		c.w.Status("*", "OK", copyUIDCode(res), "Moved")
	}
	c.expungeFromView(res.SourceUIDs)
	return nil
}

// copyMessages copies (or moves) the messages of cmd.Set to cmd.Mailbox.
// Within one store mailbox the store does it in one transaction; between
// the user's own mailbox and a shared one the messages are appended
// (atomically, with the flags the target's rights allow) and, for a
// move, then expunged from the source.
func (c *conn) copyMessages(cmd *wire.Command, move bool) (storage.CopyResult, error) {
	sel := c.sel
	idx, err := sel.resolve(cmd.Set, cmd.UID)
	if err != nil {
		return storage.CopyResult{}, err
	}
	dest, err := c.resolve(cmd.Mailbox)
	if err != nil {
		if errors.Is(err, errNoMailbox) {
			return storage.CopyResult{}, no("TRYCREATE", "No such mailbox")
		}
		return storage.CopyResult{}, err
	}
	if !dest.can("i") {
		return storage.CopyResult{}, errNoPerm("add messages (i)")
	}
	uids := sel.liveUIDs(idx)
	if len(uids) == 0 {
		return storage.CopyResult{}, nil
	}
	if dest.mbox == sel.mbox {
		if move {
			// MOVE into the selected folder itself gives the messages
			// new UIDs, as Dovecot does: RFC 6851 §3.3 allows it.
			return sel.mbox.Move(c.ctx, sel.folder, uids, dest.folder)
		}
		return sel.mbox.Copy(c.ctx, sel.folder, uids, dest.folder)
	}
	return c.copyAcross(idx, dest, move)
}

// copyAcross appends the messages at idx to another mailbox.
func (c *conn) copyAcross(idx []int, dest *place, move bool) (storage.CopyResult, error) {
	sel := c.sel
	if _, err := dest.mbox.Status(c.ctx, dest.folder); err != nil {
		return storage.CopyResult{}, err
	}
	var msgs []storage.SpooledMessage
	defer func() {
		for _, m := range msgs {
			m.Msg.Discard()
		}
	}()
	var src []uint32
	for _, i := range idx {
		m := sel.msgs[i]
		if m.gone() {
			continue
		}
		v := sel.view(i)
		r, err := sel.mbox.Open(c.ctx, sel.folder, v.uid)
		if err != nil {
			if isGone(err) {
				continue
			}
			return storage.CopyResult{}, err
		}
		sp, err := dest.mbox.Spool(c.ctx, r, v.date)
		r.Close()
		if err != nil {
			return storage.CopyResult{}, err
		}
		msgs = append(msgs, storage.SpooledMessage{Msg: sp, Flags: permittedFlags(dest.rights, v.flags)})
		src = append(src, v.uid)
	}
	if len(msgs) == 0 {
		return storage.CopyResult{}, nil
	}
	results, err := dest.mbox.AppendSpooled(c.ctx, dest.folder, msgs)
	if err != nil {
		return storage.CopyResult{}, err
	}
	res := storage.CopyResult{UIDValidity: results[0].UIDValidity, SourceUIDs: src}
	for _, r := range results {
		res.DestUIDs = append(res.DestUIDs, r.UID)
	}
	if move {
		if _, _, err := sel.mbox.SetFlags(c.ctx, sel.folder, src, storage.FlagsAdd, []string{`\Deleted`}, 0); err != nil {
			return storage.CopyResult{}, err
		}
		removed, err := sel.mbox.Expunge(c.ctx, sel.folder, src)
		if err != nil {
			return storage.CopyResult{}, err
		}
		res.SourceUIDs = removed
	}
	return res, nil
}
