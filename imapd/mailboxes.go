package imapd

import (
	"strings"

	"congvu/imapd/wire"
	"congvu/storage"
)

// delim is the hierarchy separator of storage folder names.
const delim = '/'

// cleanFolder strips a trailing hierarchy separator (RFC 9051 §6.3.4
// allows it on CREATE as a hint) and canonicalises INBOX, whose name is
// case-insensitive also as the first level of a hierarchy (RFC 9051 §5.1).
func cleanFolder(name string) string {
	name = strings.TrimRight(name, string(delim))
	if strings.EqualFold(name, storage.Inbox) {
		return storage.Inbox
	}
	if len(name) > len(storage.Inbox) && strings.EqualFold(name[:len(storage.Inbox)+1], storage.Inbox+string(delim)) {
		return storage.Inbox + name[len(storage.Inbox):]
	}
	return name
}

// cmdCreate implements CREATE (RFC 9051 §6.3.4); in a shared mailbox
// it needs the k right (RFC 4314 §4).
func (c *conn) cmdCreate(cmd *wire.Command) error {
	p, err := c.resolve(cmd.Mailbox)
	if err != nil {
		return err
	}
	if p.folder == "" || p.box != nil && p.folder == storage.Inbox && !isSharedInboxAlias(cmd.Mailbox) {
		return no("CANNOT", "Invalid folder name")
	}
	if !p.can("k") {
		return errNoPerm("create folders (k)")
	}
	switch len(cmd.UseAttrs) {
	case 0:
		return p.mbox.Create(c.ctx, p.folder)
	case 1:
		// RFC 6154 §3 CREATE-SPECIAL-USE.
		return p.mbox.CreateSpecialUse(c.ctx, p.folder, cmd.UseAttrs[0])
	}
	return no("USEATTR", "A folder has one special use")
}

// isSharedInboxAlias: "Shared/x/INBOX" names the shared INBOX itself.
func isSharedInboxAlias(name string) bool {
	return strings.HasSuffix(strings.ToUpper(strings.TrimRight(name, "/")), "/INBOX")
}

// cmdDelete implements DELETE (RFC 9051 §6.3.5); x right (RFC 4314 §4).
func (c *conn) cmdDelete(cmd *wire.Command) error {
	p, err := c.resolve(cmd.Mailbox)
	if err != nil {
		return err
	}
	if !p.can("x") {
		return errNoPerm("delete folders (x)")
	}
	return p.mbox.Delete(c.ctx, p.folder)
}

// cmdRename implements RENAME (RFC 9051 §6.3.6) within one mailbox: x on
// the source and k where it goes (RFC 4314 §4).
func (c *conn) cmdRename(cmd *wire.Command) error {
	from, err := c.resolve(cmd.Mailbox)
	if err != nil {
		return err
	}
	to, err := c.resolve(cmd.Mailbox2)
	if err != nil {
		return err
	}
	if from.box != to.box && (from.box == nil || to.box == nil || from.box.Owner != to.box.Owner) {
		return no("CANNOT", "Folders cannot be renamed from one mailbox into another")
	}
	if !from.can("x") || !to.can("k") {
		return errNoPerm("rename folders (x, k)")
	}
	return from.mbox.Rename(c.ctx, from.folder, to.folder)
}

// cmdSubscribe implements SUBSCRIBE and UNSUBSCRIBE (RFC 9051 §6.3.7,
// §6.3.8). The folders of shared mailboxes are always subscribed.
func (c *conn) cmdSubscribe(cmd *wire.Command, on bool) error {
	p, err := c.resolve(cmd.Mailbox)
	if err != nil {
		return err
	}
	if p.box != nil {
		return nil
	}
	return p.mbox.Subscribe(c.ctx, p.folder, on)
}

// cmdStatus implements STATUS (RFC 9051 §6.3.11) with STATUS=SIZE (RFC
// 8438), APPENDLIMIT (RFC 7889), DELETED-STORAGE (RFC 9208 §4.1.5) and
// RECENT (RFC 3501); it needs the r right (RFC 4314 §4).
func (c *conn) cmdStatus(cmd *wire.Command) error {
	p, err := c.resolve(cmd.Mailbox)
	if err != nil {
		return err
	}
	if !p.can("r") {
		if !p.can("l") {
			return errNoMailbox
		}
		return errNoPerm("read (r)")
	}
	st, err := p.mbox.Status(c.ctx, p.folder)
	if err != nil {
		return err
	}
	if containsItem(cmd.Status, "HIGHESTMODSEQ") {
		c.enableCondstore() // RFC 7162 §3.1: a CONDSTORE-enabling command
	}
	ex, err := c.statusExtras(p.mbox, st, cmd.Status)
	if err != nil {
		return err
	}
	c.writeStatus(clientName(p.box, st.Name), st, cmd.Status, ex)
	return nil
}

// statusExtras are the STATUS items that need more than the folder row.
type statusExtras struct {
	deletedStorage int64
	recent         uint32
}

func (c *conn) statusExtras(mbox storage.Mailbox, st storage.FolderStatus, items []string) (statusExtras, error) {
	var ex statusExtras
	var err error
	for _, item := range items {
		switch item {
		case "DELETED-STORAGE":
			if ex.deletedStorage, err = c.deletedStorage(mbox, st.Name); err != nil {
				return ex, err
			}
		case "RECENT":
			// RFC 3501 §6.3.10: STATUS looks, it does not take \Recent.
			first, err := mbox.ClaimRecent(c.ctx, st.Name, st.UIDNext, false)
			if err != nil {
				return ex, err
			}
			if first < st.UIDNext {
				msgs, err := mbox.Messages(c.ctx, st.Name)
				if err != nil {
					return ex, err
				}
				for _, m := range msgs {
					if m.UID >= first {
						ex.recent++
					}
				}
			}
		}
	}
	return ex, nil
}

// deletedStorage is what EXPUNGE would free in folder (RFC 9208 §4.1.5).
func (c *conn) deletedStorage(mbox storage.Mailbox, folder string) (int64, error) {
	msgs, err := mbox.Messages(c.ctx, folder)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, m := range msgs {
		if hasFlag(m.Flags, `\Deleted`) {
			n += m.Size
		}
	}
	return n, nil
}

// writeStatus writes "* STATUS name (items)".
func (c *conn) writeStatus(name string, st storage.FolderStatus, items []string, ex statusExtras) {
	w := c.w
	w.Raw("* STATUS ").Mailbox(name).Raw(" (")
	for i, item := range items {
		if i > 0 {
			w.SP()
		}
		w.Raw(item).SP()
		switch item {
		case "MESSAGES":
			w.Num32(st.Messages)
		case "UIDNEXT":
			w.Num32(st.UIDNext)
		case "UIDVALIDITY":
			w.Num32(st.UIDValidity)
		case "UNSEEN":
			w.Num32(st.Unseen)
		case "DELETED":
			w.Num32(st.Deleted)
		case "SIZE":
			w.Num(uint64(max(st.Size, 0)))
		case "RECENT":
			w.Num32(ex.recent)
		case "HIGHESTMODSEQ":
			w.Num(st.HighestModSeq)
		case "APPENDLIMIT":
			w.Num32(c.srv.appendLimit)
		case "DELETED-STORAGE":
			w.Num(uint64(max(ex.deletedStorage, 0)))
		}
	}
	w.Byte(')').CRLF()
}
