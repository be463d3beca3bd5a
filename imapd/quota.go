package imapd

import (
	"congvu/imapd/wire"
	"congvu/storage"
)

// QUOTA (RFC 9208): one quota root, "", for the whole mailbox, with the
// STORAGE (KiB) and MESSAGE resources. Limits come from the directory and
// the configuration; clients cannot set them.

// quotaRoot is the name of the one quota root.
const quotaRoot = ""

// cmdGetQuotaRoot implements GETQUOTAROOT (RFC 9208 §4.1.2). A shared
// mailbox's folders have its own root, "Shared/<name>".
func (c *conn) cmdGetQuotaRoot(cmd *wire.Command) error {
	p, err := c.resolve(cmd.Mailbox)
	if err != nil {
		return err
	}
	st, err := p.mbox.Status(c.ctx, p.folder)
	if err != nil {
		return err
	}
	root := quotaRoot
	if p.box != nil {
		root = clientName(p.box, storage.Inbox)
	}
	c.w.Raw("* QUOTAROOT ").Mailbox(clientName(p.box, st.Name)).SP().String(root).CRLF()
	return c.writeQuota(p.mbox, root)
}

// cmdGetQuota implements GETQUOTA (RFC 9208 §4.1.1).
func (c *conn) cmdGetQuota(cmd *wire.Command) error {
	root := cmd.Args[0]
	if root == quotaRoot {
		return c.writeQuota(c.mbox, root)
	}
	if isSharedName(root) {
		if p, err := c.resolve(root); err == nil && p.box != nil && p.folder == storage.Inbox {
			return c.writeQuota(p.mbox, clientName(p.box, storage.Inbox))
		}
	}
	return no("NONEXISTENT", `No such quota root; the root of your own folders is ""`)
}

// writeQuota writes * QUOTA root (STORAGE used limit MESSAGE used limit);
// STORAGE counts 1024-octet units (RFC 9208 §5.1), rounded up for usage.
func (c *conn) writeQuota(mbox storage.Mailbox, root string) error {
	us, err := mbox.Usage(c.ctx)
	if err != nil {
		return err
	}
	w := c.w
	w.Raw("* QUOTA ").String(root).Raw(" (")
	sep := ""
	if us.BytesLimit > 0 {
		w.Raw("STORAGE ").Num(uint64((max(us.Bytes, 0) + 1023) / 1024)).SP().Num(uint64(us.BytesLimit / 1024))
		sep = " "
	}
	if us.MessagesLimit > 0 {
		w.Raw(sep).Raw("MESSAGE ").Num(uint64(max(us.Messages, 0))).SP().Num(uint64(us.MessagesLimit))
	}
	w.Byte(')').CRLF()
	return nil
}

// cmdSetQuota refuses SETQUOTA (RFC 9208 §4.1.3): limits are set by
// administrators in the directory.
func (c *conn) cmdSetQuota() error {
	return no("NOPERM", "Quotas are set by the administrators / Hạn mức do quản trị viên đặt")
}
