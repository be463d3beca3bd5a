package imapd

import (
	"strings"

	"congvu/sharing"
	"congvu/storage"
)

// The shared namespace (RFC 2342): each unit mailbox an official may open
// appears as "Shared/<name>" (its INBOX) and "Shared/<name>/<folder>",
// with the official's rights (RFC 4314) from the directory and SETACL.

// sharedRoot is the shared namespace's prefix without its delimiter.
const sharedRoot = "Shared"

// ownerRights are the rights of an account on its own mailbox.
const ownerRights = sharing.ClerkRights

// place is a mailbox name resolved: the store mailbox and folder it is
// in, and the user's rights there.
type place struct {
	mbox   storage.Mailbox
	folder string // folder name in mbox
	name   string // the name as the client sees it
	rights string
	box    *sharing.Box // nil: the user's own mailbox
}

func (p *place) can(right string) bool { return sharing.Has(p.rights, right) }

// isSharedName reports whether name is in the shared namespace.
func isSharedName(name string) bool {
	return strings.EqualFold(name, sharedRoot) || len(name) > len(sharedRoot) &&
		strings.EqualFold(name[:len(sharedRoot)], sharedRoot) && name[len(sharedRoot)] == delim
}

// boxes returns the unit mailboxes the user may see, re-read when an ACL
// changed since they were read.
func (c *conn) boxes() ([]sharing.Box, error) {
	sh := c.srv.deps.Sharing
	if sh == nil {
		return nil, nil
	}
	if v := sh.Version(); c.shared == nil || v != c.sharedVersion {
		list, err := sh.Boxes(c.ctx, c.acct)
		if err != nil {
			return nil, err
		}
		c.shared, c.sharedVersion = list, v
	}
	return c.shared, nil
}

// boxMailbox opens a unit mailbox for the user (per-user \Seen).
func (c *conn) boxMailbox(b *sharing.Box) (storage.Mailbox, error) {
	if m := c.sharedMboxes[b.Owner]; m != nil {
		return m, nil
	}
	m, err := c.srv.deps.Store.SharedMailbox(c.ctx, b.Owner, c.acct.Address, 0)
	if err != nil {
		return nil, err
	}
	if c.sharedMboxes == nil {
		c.sharedMboxes = map[string]storage.Mailbox{}
	}
	c.sharedMboxes[b.Owner] = m
	return m, nil
}

// errNoMailbox hides mailboxes the user may not see (RFC 4314 §4: without
// l or r a mailbox does not exist for them).
var errNoMailbox = no("NONEXISTENT", "No such mailbox")

// errNoPerm refuses an operation the user's rights do not allow.
func errNoPerm(what string) error {
	return no("NOPERM", "You have no right to "+what+" in this mailbox / Bạn không có quyền này trên hộp thư")
}

// resolve finds the mailbox and folder a name refers to.
func (c *conn) resolve(name string) (*place, error) {
	name = cleanFolder(name)
	if !isSharedName(name) || c.srv.deps.Sharing == nil {
		return &place{mbox: c.mbox, folder: name, name: name, rights: ownerRights}, nil
	}
	rest := ""
	if len(name) > len(sharedRoot) {
		rest = name[len(sharedRoot)+1:]
	}
	boxName, folder, _ := strings.Cut(rest, string(delim))
	boxes, err := c.boxes()
	if err != nil {
		return nil, err
	}
	for i := range boxes {
		b := &boxes[i]
		if b.Name != boxName {
			continue
		}
		m, err := c.boxMailbox(b)
		if err != nil {
			return nil, err
		}
		if folder == "" {
			folder = storage.Inbox
		}
		return &place{mbox: m, folder: cleanFolder(folder), name: name, rights: b.Rights, box: b}, nil
	}
	return nil, errNoMailbox
}

// clientName is a folder of a place's mailbox as the client sees it.
func clientName(b *sharing.Box, folder string) string {
	if b == nil {
		return folder
	}
	if folder == storage.Inbox {
		return sharedRoot + string(delim) + b.Name
	}
	return sharedRoot + string(delim) + b.Name + string(delim) + folder
}

// permittedFlags keeps the flags rights allow one to set (sharing's
// rule, shared with the webmail).
func permittedFlags(rights string, flags []string) []string {
	return sharing.PermittedFlags(rights, flags)
}

// flagRight is the right needed to change a flag.
func flagRight(f string) string { return sharing.FlagRight(f) }
