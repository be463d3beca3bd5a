package imapd

import (
	"congvu/imapd/wire"
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
	updated, failed, err := c.mbox.SetFlags(c.ctx, sel.folder, uids, op, storeFlags(st.Flags), st.UnchangedSince)
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
	removed, err := c.mbox.Expunge(c.ctx, sel.folder, only)
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
// RFC 4315).
func (c *conn) cmdCopy(cmd *wire.Command) error {
	sel := c.sel
	idx, err := sel.resolve(cmd.Set, cmd.UID)
	if err != nil {
		return err
	}
	uids := sel.liveUIDs(idx)
	if len(uids) == 0 {
		return nil
	}
	res, err := c.mbox.Copy(c.ctx, sel.folder, uids, cleanFolder(cmd.Mailbox))
	if err != nil {
		return err
	}
	if len(res.DestUIDs) > 0 {
		c.okCode = copyUIDCode(res)
	}
	return nil
}

// cmdMove implements MOVE and UID MOVE (RFC 9051 §6.4.8, RFC 6851): the
// untagged COPYUID first, then one EXPUNGE per moved message.
func (c *conn) cmdMove(cmd *wire.Command) error {
	sel := c.sel
	if sel.readOnly {
		return errReadOnly
	}
	dest := cleanFolder(cmd.Mailbox)
	idx, err := sel.resolve(cmd.Set, cmd.UID)
	if err != nil {
		return err
	}
	uids := sel.liveUIDs(idx)
	if len(uids) == 0 {
		return nil
	}
	// MOVE into the selected folder itself gives the messages new UIDs,
	// as Dovecot does: RFC 6851 §3.3 allows it like COPY.
	res, err := c.mbox.Move(c.ctx, sel.folder, uids, dest)
	if err != nil {
		return err
	}
	if len(res.DestUIDs) > 0 {
		c.w.Status("*", "OK", copyUIDCode(res), "Moved")
	}
	c.expungeFromView(res.SourceUIDs)
	return nil
}
