package imapd

import (
	"congvu/imapd/wire"
)

// QUOTA (RFC 9208): one quota root, "", for the whole mailbox, with the
// STORAGE (KiB) and MESSAGE resources. Limits come from the directory and
// the configuration; clients cannot set them.

// quotaRoot is the name of the one quota root.
const quotaRoot = ""

// cmdGetQuotaRoot implements GETQUOTAROOT (RFC 9208 §4.1.2).
func (c *conn) cmdGetQuotaRoot(cmd *wire.Command) error {
	st, err := c.mbox.Status(c.ctx, cleanFolder(cmd.Mailbox))
	if err != nil {
		return err
	}
	c.w.Raw("* QUOTAROOT ").Mailbox(st.Name).SP().Quoted(quotaRoot).CRLF()
	return c.writeQuota()
}

// cmdGetQuota implements GETQUOTA (RFC 9208 §4.1.1).
func (c *conn) cmdGetQuota(cmd *wire.Command) error {
	if cmd.Args[0] != quotaRoot {
		return no("NONEXISTENT", `No such quota root; the mailbox's root is ""`)
	}
	return c.writeQuota()
}

// writeQuota writes * QUOTA "" (STORAGE used limit MESSAGE used limit);
// STORAGE counts 1024-octet units (RFC 9208 §5.1), rounded up for usage.
func (c *conn) writeQuota() error {
	us, err := c.mbox.Usage(c.ctx)
	if err != nil {
		return err
	}
	w := c.w
	w.Raw("* QUOTA ").Quoted(quotaRoot).Raw(" (")
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
