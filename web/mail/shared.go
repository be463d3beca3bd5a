package mail

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"congvu/directory"
	"congvu/internal/mailerr"
	"congvu/sharing"
	"congvu/storage"
	"congvu/web/core"
)

// The unit's shared mailbox (hộp thư văn thư) in the webmail: each one an
// official may open appears below their own folders as its own group,
// under the same names the IMAP server uses in its shared namespace
// (RFC 2342): "Shared/<name>" is its INBOX, "Shared/<name>/<folder>" the
// others. Rights come from package sharing only (RFC 4314 letters); the
// webmail never derives them itself.

// SharedBoxes lists the unit mailboxes an official may see, with their
// rights (sharing.Service has it).
type SharedBoxes interface {
	Boxes(ctx context.Context, user *directory.Account) ([]sharing.Box, error)
}

// SharedStore opens a unit mailbox for one reader, whose \Seen flags are
// the reader's own (storage.Store has it).
type SharedStore interface {
	SharedMailbox(ctx context.Context, owner, reader string, quotaBytes int64) (storage.Mailbox, error)
}

// sharedRoot is the shared namespace's prefix, as in imapd.
const sharedRoot = "Shared"

// ownRights are an official's rights in their own mailbox.
const ownRights = sharing.ClerkRights

// errNoRight refuses what the official's rights on a shared mailbox do
// not allow (RFC 4314 §4).
var errNoRight = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 7, 1}, IMAPCode: "NOPERM", HTTPStatus: http.StatusForbidden,
	Message:   "You have no right to do this in the unit's mailbox",
	MessageVI: "Bạn không có quyền thực hiện thao tác này trên hộp thư đơn vị"}

// place is the mailbox a web folder name lives in: the official's own, or
// a unit's shared one with the official's rights there.
type place struct {
	mb     storage.Mailbox
	box    *sharing.Box // nil: the official's own mailbox
	rights string
}

// can reports whether the official's rights include every letter of want.
func (p *place) can(want string) bool { return sharing.Has(p.rights, want) }

// prefix is the web name of the shared mailbox's INBOX ("" for one's own).
func (p *place) prefix() string {
	if p.box == nil {
		return ""
	}
	return sharedRoot + "/" + p.box.Name
}

// web is the web name of a folder of this place.
func (p *place) web(folder string) string {
	if p.box == nil {
		return folder
	}
	if strings.EqualFold(folder, storage.Inbox) {
		return p.prefix()
	}
	return p.prefix() + "/" + folder
}

// inner is the folder in this place's mailbox a web name refers to.
func (p *place) inner(name string) (string, bool) {
	if p.box == nil {
		return name, !isSharedName(name)
	}
	if name == p.prefix() {
		return storage.Inbox, true
	}
	rest, ok := strings.CutPrefix(name, p.prefix()+"/")
	return rest, ok && rest != ""
}

// groupLabel names the group of a shared mailbox's folders.
func (p *place) groupLabel() string {
	if p.box == nil {
		return ""
	}
	name := p.box.Unit.Name
	if name == "" {
		name = p.box.Owner
	}
	return "Hộp thư đơn vị: " + name
}

// isSharedName reports whether a web folder name is in the shared namespace.
func isSharedName(name string) bool {
	return name == sharedRoot || strings.HasPrefix(name, sharedRoot+"/")
}

// requestMemo keeps, for one request, the unit mailboxes of the official
// and those opened: a page asks for them several times (the folder
// opened, the side list, the move targets, an all-folder search), and
// each sharing.Boxes is a directory walk and SQL queries (measured at
// 0.04–0.4 ms, an open and folder list of a unit mailbox 0.1–0.7 ms, on
// a list page of ~1 ms). Rights are read once per request, never kept
// longer, so a SETACL applies on the next click.
type requestMemo struct {
	boxes    []sharing.Box
	boxesErr error
	loaded   bool
	opened   map[string]storage.Mailbox // by owner
}

type memoKey struct{}

// authed is core.Site.Authed with the request's memo.
func (wb *room) authed(h func(http.ResponseWriter, *http.Request, *core.Ctx)) http.HandlerFunc {
	return wb.Authed(func(w http.ResponseWriter, r *http.Request, c *core.Ctx) {
		h(w, r.WithContext(context.WithValue(r.Context(), memoKey{}, &requestMemo{})), c)
	})
}

func memoOf(ctx context.Context) *requestMemo {
	m, _ := ctx.Value(memoKey{}).(*requestMemo)
	return m
}

// sharedBoxes lists the unit mailboxes the official may open (none when
// the web runs without sharing).
func (wb *room) sharedBoxes(ctx context.Context, c *core.Ctx) ([]sharing.Box, error) {
	if wb.opts.Sharing == nil || wb.opts.SharedMail == nil {
		return nil, nil
	}
	m := memoOf(ctx)
	if m == nil {
		return wb.opts.Sharing.Boxes(ctx, c.Acct)
	}
	if !m.loaded {
		m.boxes, m.boxesErr = wb.opts.Sharing.Boxes(ctx, c.Acct)
		m.loaded = true
	}
	return m.boxes, m.boxesErr
}

// openShared opens the unit mailbox owner for the official (their own
// \Seen), once per request.
func (wb *room) openShared(ctx context.Context, c *core.Ctx, owner string) (storage.Mailbox, error) {
	m := memoOf(ctx)
	if mb, ok := m.get(owner); ok {
		return mb, nil
	}
	mb, err := wb.opts.SharedMail.SharedMailbox(ctx, owner, c.Acct.Address, 0)
	if err == nil && m != nil {
		if m.opened == nil {
			m.opened = map[string]storage.Mailbox{}
		}
		m.opened[owner] = mb
	}
	return mb, err
}

func (m *requestMemo) get(owner string) (storage.Mailbox, bool) {
	if m == nil {
		return nil, false
	}
	mb, ok := m.opened[owner]
	return mb, ok
}

// openPlace opens the mailbox a web folder name lives in. A shared name
// the official has no box for is mailerr.ErrNoSuchFolder, as in IMAP
// (RFC 4314 §4: without l the mailbox does not exist for them).
func (wb *room) openPlace(ctx context.Context, c *core.Ctx, folder string) (*place, error) {
	if !isSharedName(folder) || wb.opts.Sharing == nil || wb.opts.SharedMail == nil {
		mb, err := wb.openMailbox(ctx, c)
		if err != nil {
			return nil, err
		}
		return &place{mb: mb, rights: ownRights}, nil
	}
	boxes, err := wb.sharedBoxes(ctx, c)
	if err != nil {
		return nil, err
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(folder, sharedRoot), "/")
	name, _, _ := strings.Cut(rest, "/")
	for i := range boxes {
		b := &boxes[i]
		if b.Name != name {
			continue
		}
		if !sharing.Has(b.Rights, "r") {
			return nil, errNoRight
		}
		mb, err := wb.openShared(ctx, c, b.Owner)
		if err != nil {
			return nil, err
		}
		return &place{mb: mb, box: b, rights: b.Rights}, nil
	}
	return nil, mailerr.ErrNoSuchFolder
}

// findFolder finds a web folder name among the place's folders.
func (p *place) findFolder(folders []storage.FolderStatus, name string) (*storage.FolderStatus, bool) {
	in, ok := p.inner(name)
	if !ok {
		return nil, false
	}
	for i := range folders {
		if folders[i].Name == in || strings.EqualFold(in, storage.Inbox) && strings.EqualFold(folders[i].Name, storage.Inbox) {
			return &folders[i], true
		}
	}
	return nil, false
}

// view is one of the place's folders for the side list, by its web name.
func (p *place) view(st storage.FolderStatus) folderView {
	f := newFolderView(st)
	f.Name = p.web(st.Name)
	f.Href = "/mail?" + url.Values{"folder": {f.Name}}.Encode()
	return f
}

// views lists the place's folders in the side list's order.
func (p *place) views(folders []storage.FolderStatus, current string) []folderView {
	out := folderViews(folders, "")
	for i := range out {
		out[i].Name = p.web(out[i].Name)
		out[i].Href = "/mail?" + url.Values{"folder": {out[i].Name}}.Encode()
		out[i].Current = out[i].Name == current
	}
	return out
}

// sideFolders is the folder list beside a page showing a folder of p:
// the official's own folders, then each shared mailbox as a group. A
// shared mailbox that cannot be read now is left out of the list (the
// page still works); its error is logged.
func (wb *room) sideFolders(ctx context.Context, c *core.Ctx, p *place, folders []storage.FolderStatus, current string) []folderView {
	var out []folderView
	if p.box == nil {
		out = p.views(folders, current)
	} else if own, err := wb.openMailbox(ctx, c); err == nil {
		if list, err := own.Folders(ctx); err == nil {
			out = (&place{mb: own, rights: ownRights}).views(list, current)
		}
	}
	boxes, err := wb.sharedBoxes(ctx, c)
	if err != nil {
		wb.Log.Warn("web: shared mailboxes unavailable", "address", c.Acct.Address, "err", err)
		return out
	}
	for i := range boxes {
		b := &boxes[i]
		if !sharing.Has(b.Rights, "r") {
			continue // l alone: an administrator's view, nothing to read
		}
		sp := &place{box: b, rights: b.Rights}
		list := folders
		if p.box == nil || p.box.Owner != b.Owner {
			mb, err := wb.openShared(ctx, c, b.Owner)
			if err == nil {
				list, err = mb.Folders(ctx)
			}
			if err != nil {
				wb.Log.Warn("web: shared mailbox unavailable", "address", c.Acct.Address, "box", b.Owner, "err", err)
				continue
			}
		}
		group := sp.views(list, current)
		if len(group) > 0 {
			group[0].Group = sp.groupLabel()
		}
		out = append(out, group...)
	}
	return out
}

// actionRights are the rights (RFC 4314 §4) a mail action needs: \Seen
// needs s, other flags w, moving out needs t and e (and i in the target,
// the same mailbox here), copying i, deleting for good t and e.
func actionRights(action string, inTrash bool) string {
	switch action {
	case "read", "unread":
		return "s"
	case "flag", "unflag":
		return "w"
	case "copy":
		return "ri"
	case "delete":
		if inTrash {
			return "te"
		}
	}
	return "ite" // archive, junk, notjunk, move, delete to Trash
}

// errSharedName refuses an own folder named like the shared namespace,
// which would hide it behind the unit mailboxes (IMAP refuses it too).
var errSharedName = errBadRequest.WithMessage(`The name "`+sharedRoot+`" is kept for the units' shared mailboxes`,
	`Tên «`+sharedRoot+`» dành cho hộp thư đơn vị, hãy chọn tên khác`)

// sharedNameTaken reports whether an own folder may not have name.
func (wb *room) sharedNameTaken(name string) bool {
	return wb.opts.Sharing != nil && wb.opts.SharedMail != nil && isSharedName(name)
}

// ownLabel marks the official's own folders among the targets offered
// from a unit mailbox.
const ownLabel = "Hộp thư của tôi › "

// targetsOf are the folders the messages of current (in p) can be moved
// or copied to: the other folders of the same mailbox when the official
// may add there (i), and from a unit mailbox the official's own folders
// too (RFC 4314 §4: the source needs only r to copy out).
func (wb *room) targetsOf(ctx context.Context, c *core.Ctx, p *place, folders []storage.FolderStatus, current string) []folderView {
	var out []folderView
	if p.can("i") {
		out = moveTargets(p.views(folders, current), current)
	}
	if p.box == nil || !p.can("r") {
		return out
	}
	own, err := wb.openMailbox(ctx, c)
	if err != nil {
		return out
	}
	list, err := own.Folders(ctx)
	if err != nil {
		return out
	}
	for _, f := range (&place{mb: own, rights: ownRights}).views(list, "") {
		f.Label = ownLabel + f.Label
		out = append(out, f)
	}
	return out
}

// copyToOwn copies (or moves) messages of a unit mailbox's folder into
// one of the official's own folders, as IMAP's COPY and MOVE between
// mailboxes do: each message appended with the flags the target's rights
// keep (sharing.PermittedFlags), then, for a move, \Deleted and expunged
// at the source. The caller has checked the source's rights (r; t and e
// for a move). It returns how many were copied and the target's label.
func (wb *room) copyToOwn(ctx context.Context, c *core.Ctx, src *place, folder string, uids []uint32, to string, move bool) (int, string, error) {
	own, err := wb.openMailbox(ctx, c)
	if err != nil {
		return 0, "", err
	}
	list, err := own.Folders(ctx)
	if err != nil {
		return 0, "", err
	}
	dst := &place{mb: own, rights: ownRights}
	st, ok := dst.findFolder(list, to)
	if !ok {
		return 0, "", mailerr.ErrNoSuchFolder
	}
	label := ownLabel + newFolderView(*st).Label
	msgs, err := src.mb.Messages(ctx, folder)
	if err != nil {
		return 0, label, err
	}
	var spooled []storage.SpooledMessage
	defer func() {
		for _, m := range spooled {
			m.Msg.Discard()
		}
	}()
	var copied []uint32
	for _, uid := range uids {
		j, found := slices.BinarySearchFunc(msgs, uid, func(m storage.MessageInfo, uid uint32) int { return int(int64(m.UID) - int64(uid)) })
		if !found {
			continue
		}
		r, err := src.mb.Open(ctx, folder, uid)
		if errors.Is(err, storage.ErrNoSuchMessage) {
			continue // expunged meanwhile
		}
		if err != nil {
			return 0, label, err
		}
		sp, err := own.Spool(ctx, r, msgs[j].InternalDate)
		r.Close()
		if err != nil {
			return 0, label, err
		}
		flags := slices.DeleteFunc(slices.Clone(msgs[j].Flags), func(f string) bool { return strings.EqualFold(f, flagDeleted) })
		spooled = append(spooled, storage.SpooledMessage{Msg: sp, Flags: sharing.PermittedFlags(dst.rights, flags)})
		copied = append(copied, uid)
	}
	if len(spooled) == 0 {
		return 0, label, nil
	}
	if _, err := own.AppendSpooled(ctx, st.Name, spooled); err != nil {
		return 0, label, err
	}
	if !move {
		return len(copied), label, nil
	}
	if _, _, err := src.mb.SetFlags(ctx, folder, copied, storage.FlagsAdd, []string{flagDeleted}, 0); err != nil {
		return 0, label, err
	}
	removed, err := src.mb.Expunge(ctx, folder, copied)
	return len(removed), label, err
}

// folderLabel names a folder of p in a list of results from several
// mailboxes: a unit mailbox's folders carry the unit's name.
func (p *place) folderLabel(folder, use string) string {
	label := newFolderView(storage.FolderStatus{Name: folder, SpecialUse: use}).Label
	if p.box == nil {
		return label
	}
	return strings.TrimPrefix(p.groupLabel(), "Hộp thư đơn vị: ") + " › " + label
}
