package imapd

import (
	"context"

	"fmt"
	"strings"

	"congvu/imapd/wire"
	"congvu/internal/mailerr"
	"congvu/policy"
	"congvu/sharing"
)

// ACL (RFC 4314, RIGHTS=texk). The user's own folders belong to the user
// alone: every right, nothing to share. A unit's shared mailbox has one
// ACL for all its folders, from the directory and SETACL by its
// administrators (sharing.Service); every change is audited.

// Audit action and rule of ACL changes.
const (
	actionACLSet    = "acl-set"
	actionACLDelete = "acl-delete"
	ruleIMAPACL     = "imap-acl"
)

// resolveACL resolves the mailbox of an ACL command; without any right
// on it, it does not exist for the user.
func (c *conn) resolveACL(name string) (*place, error) {
	p, err := c.resolve(name)
	if err != nil {
		return nil, err
	}
	if p.box == nil {
		if _, err := p.mbox.Status(c.ctx, p.folder); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// cmdGetACL implements GETACL (RFC 4314 §3.3); it needs the a right.
func (c *conn) cmdGetACL(cmd *wire.Command) error {
	p, err := c.resolveACL(cmd.Mailbox)
	if err != nil {
		return err
	}
	if !p.can("a") {
		return errNoPerm("read the rights (a)")
	}
	w := c.w
	w.Raw("* ACL ").Mailbox(p.name)
	if p.box == nil {
		w.SP().AString(c.acct.Address).SP().Raw(ownerRights)
	} else {
		entries, err := c.srv.deps.Sharing.ACL(c.ctx, p.box.Owner)
		if err != nil {
			return err
		}
		for _, e := range entries {
			w.SP().AString(e.Identifier).SP().Raw(e.Rights)
		}
	}
	w.CRLF()
	return nil
}

// cmdMyRights implements MYRIGHTS (RFC 4314 §3.5).
func (c *conn) cmdMyRights(cmd *wire.Command) error {
	p, err := c.resolveACL(cmd.Mailbox)
	if err != nil {
		return err
	}
	c.w.Raw("* MYRIGHTS ").Mailbox(p.name).SP().Raw(p.rights).CRLF()
	return nil
}

// cmdListRights implements LISTRIGHTS (RFC 4314 §3.4): no right is tied
// to another, none is always granted.
func (c *conn) cmdListRights(cmd *wire.Command) error {
	p, err := c.resolveACL(cmd.Mailbox)
	if err != nil {
		return err
	}
	if !p.can("a") {
		return errNoPerm("read the rights (a)")
	}
	c.w.Raw("* LISTRIGHTS ").Mailbox(p.name).SP().AString(cmd.Args[0]).Raw(` "" l r s w i p k x t e a`).CRLF()
	return nil
}

// cmdSetACL implements SETACL and DELETEACL (RFC 4314 §3.1, §3.2) on
// shared mailboxes; the user's own folders are not shared.
func (c *conn) cmdSetACL(cmd *wire.Command) error {
	p, err := c.resolveACL(cmd.Mailbox)
	if err != nil {
		return err
	}
	del := cmd.BaseName() == "DELETEACL"
	mod := ""
	if !del {
		mod = cmd.Args[1]
		if !sharing.ValidRights(strings.TrimLeft(mod, "+-")) {
			return bad("", "Unknown rights in "+mod+"; this server knows "+ownerRights)
		}
	}
	if p.box == nil {
		return no("CANNOT", "Personal folders are not shared; a unit's shared mailbox is managed by its administrators")
	}
	id := cmd.Args[0]
	before, after, err := c.srv.deps.Sharing.SetACL(c.ctx, c.acct, p.box.Owner, id, mod, del)
	if err != nil {
		return err
	}
	action := actionACLSet
	if del {
		action = actionACLDelete
	}
	c.audit(policy.AuditEntry{Actor: c.acct.Address, Subject: strings.ToLower(id), Action: action, Rule: ruleIMAPACL,
		Detail: fmt.Sprintf("mailbox %s: %q -> %q", p.box.Owner, before, after)})
	return nil
}

// audit records e with the policy engine's audit log.
func (c *conn) audit(e policy.AuditEntry) {
	e.Protocol, e.IP = policy.IMAP, c.remote.String()
	c.log.Info("imap acl change", "subject", e.Subject, "action", e.Action, "detail", e.Detail)
	if a := c.srv.deps.Audit; a != nil {
		if err := a(context.WithoutCancel(c.ctx), e); err != nil {
			c.log.Error("imap audit failed", "err", err)
		}
	}
}

// errUnitLogin refuses a log-in as a unit mailbox: it has no password of
// its own, it is opened from the officials' accounts.
var errUnitLogin = &mailerr.Error{SMTPCode: 535, Enhanced: [3]int{5, 7, 8}, IMAPCode: "AUTHORIZATIONFAILED",
	Message:   "A unit mailbox is opened from your own account, under Shared/",
	MessageVI: "Hộp thư đơn vị được mở từ tài khoản của chính bạn, trong thư mục Shared/"}
