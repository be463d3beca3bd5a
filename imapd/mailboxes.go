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

// cmdCreate implements CREATE (RFC 9051 §6.3.4).
func (c *conn) cmdCreate(cmd *wire.Command) error {
	name := cleanFolder(cmd.Mailbox)
	if name == "" {
		return no("CANNOT", "Invalid folder name: empty")
	}
	switch len(cmd.UseAttrs) {
	case 0:
		return c.mbox.Create(c.ctx, name)
	case 1:
		// RFC 6154 §3 CREATE-SPECIAL-USE.
		return c.mbox.CreateSpecialUse(c.ctx, name, cmd.UseAttrs[0])
	}
	return no("USEATTR", "A folder has one special use")
}

// cmdDelete implements DELETE (RFC 9051 §6.3.5).
func (c *conn) cmdDelete(cmd *wire.Command) error {
	return c.mbox.Delete(c.ctx, cleanFolder(cmd.Mailbox))
}

// cmdRename implements RENAME (RFC 9051 §6.3.6).
func (c *conn) cmdRename(cmd *wire.Command) error {
	return c.mbox.Rename(c.ctx, cleanFolder(cmd.Mailbox), cleanFolder(cmd.Mailbox2))
}

// cmdSubscribe implements SUBSCRIBE and UNSUBSCRIBE (RFC 9051 §6.3.7, §6.3.8).
func (c *conn) cmdSubscribe(cmd *wire.Command, on bool) error {
	return c.mbox.Subscribe(c.ctx, cleanFolder(cmd.Mailbox), on)
}

// cmdStatus implements STATUS (RFC 9051 §6.3.11) with STATUS=SIZE (RFC
// 8438), APPENDLIMIT (RFC 7889), DELETED-STORAGE (RFC 9208 §4.1.5) and
// RECENT (RFC 3501).
func (c *conn) cmdStatus(cmd *wire.Command) error {
	st, err := c.mbox.Status(c.ctx, cleanFolder(cmd.Mailbox))
	if err != nil {
		return err
	}
	if containsItem(cmd.Status, "HIGHESTMODSEQ") {
		c.enableCondstore() // RFC 7162 §3.1: a CONDSTORE-enabling command
	}
	ex, err := c.statusExtras(st, cmd.Status)
	if err != nil {
		return err
	}
	c.writeStatus(st, cmd.Status, ex)
	return nil
}

// statusExtras are the STATUS items that need more than the folder row.
type statusExtras struct {
	deletedStorage int64
	recent         uint32
}

func (c *conn) statusExtras(st storage.FolderStatus, items []string) (statusExtras, error) {
	var ex statusExtras
	var err error
	for _, item := range items {
		switch item {
		case "DELETED-STORAGE":
			if ex.deletedStorage, err = c.deletedStorage(st.Name); err != nil {
				return ex, err
			}
		case "RECENT":
			// RFC 3501 §6.3.10: STATUS looks, it does not take \Recent.
			first, err := c.mbox.ClaimRecent(c.ctx, st.Name, st.UIDNext, false)
			if err != nil {
				return ex, err
			}
			if first < st.UIDNext {
				msgs, err := c.mbox.Messages(c.ctx, st.Name)
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
func (c *conn) deletedStorage(folder string) (int64, error) {
	msgs, err := c.mbox.Messages(c.ctx, folder)
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
func (c *conn) writeStatus(st storage.FolderStatus, items []string, ex statusExtras) {
	w := c.w
	w.Raw("* STATUS ").Mailbox(st.Name).Raw(" (")
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
