package mail

// The official's folders: GET /mail/folders lists them with their counts
// and offers to create, rename and delete their own folders (the special
// ones — Hộp thư đến, Thư nháp, Đã gửi, Lưu trữ, Thư rác, Thùng rác — stay);
// POST /mail/empty empties Trash or Junk for good. Deleting a folder moves
// its messages to Trash first, so a slip of the finger loses nothing.

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"congvu/internal/mailerr"
	"congvu/storage"
	"congvu/web/core"
)

// maxFolderNameRunes bounds a folder name typed on the page (storage has
// its own byte limit too).
const maxFolderNameRunes = 200

type folderRow struct {
	folderView
	Size     string
	Own      bool // not a special-use folder: may be renamed or deleted
	Emptying bool // Trash or Junk: may be emptied
}

type foldersData struct {
	Folders []folderView
	Folder  folderView
	Rows    []folderRow
	Parents []string
	Quota   *quotaView
}

func (wb *room) foldersPage(w http.ResponseWriter, r *http.Request, c *core.Ctx) {
	ctx := r.Context()
	mb, err := wb.openMailbox(ctx, c)
	if err != nil {
		wb.mailFail(w, c, "folders", err)
		return
	}
	list, err := mb.Folders(ctx)
	if err != nil {
		wb.mailFail(w, c, "folders", err)
		return
	}
	d := foldersData{Folders: folderViews(list, ""), Folder: folderView{Label: "Thư mục", LabelEN: "Folders"}}
	for _, f := range d.Folders {
		var size int64
		for _, st := range list {
			if st.Name == f.Name {
				size = st.Size
			}
		}
		row := folderRow{folderView: f, Size: formatSize(size), Own: f.SpecialUse == "",
			Emptying: f.SpecialUse == `\Trash` || f.SpecialUse == `\Junk`}
		d.Rows = append(d.Rows, row)
		if f.SpecialUse == "" || f.SpecialUse == "INBOX" || f.SpecialUse == `\Archive` {
			d.Parents = append(d.Parents, f.Name)
		}
	}
	d.Quota = wb.quota(ctx, mb)
	wb.Render(w, http.StatusOK, tmpl["folders"], wb.Page(c, "Thư mục", "Folders", d))
}

// foldersPost creates, renames or deletes a folder.
func (wb *room) foldersPost(w http.ResponseWriter, r *http.Request, c *core.Ctx) {
	ctx := r.Context()
	mb, err := wb.openMailbox(ctx, c)
	if err != nil {
		wb.mailFail(w, c, "folders", err)
		return
	}
	list, err := mb.Folders(ctx)
	if err != nil {
		wb.mailFail(w, c, "folders", err)
		return
	}
	own := func(name string) (storage.FolderStatus, error) {
		for _, f := range list {
			if f.Name == name {
				if folderUse(f) != "" {
					return f, mailerr.ErrCannotDo.WithMessage("This folder belongs to the system", "Đây là thư mục của hệ thống, không đổi tên hay xoá được")
				}
				return f, nil
			}
		}
		return storage.FolderStatus{}, mailerr.ErrNoSuchFolder
	}
	name := cleanFolderName(r.PostFormValue("name"))
	var n *core.Notice
	switch r.PostFormValue("action") {
	case "create":
		if parent := r.PostFormValue("parent"); parent != "" && name != "" {
			name = parent + "/" + name
		}
		if name == "" {
			err = errBadRequest.WithMessage("Enter the folder's name", "Hãy nhập tên thư mục")
			break
		}
		if wb.sharedNameTaken(name) {
			err = errSharedName
			break
		}
		if err = mb.Create(ctx, name); err == nil {
			n = &core.Notice{Kind: "ok", VI: "Đã tạo thư mục «" + name + "».", EN: "Folder created."}
		}
	case "rename":
		from := r.PostFormValue("folder")
		if _, err = own(from); err != nil {
			break
		}
		if name == "" {
			err = errBadRequest.WithMessage("Enter the new name", "Hãy nhập tên mới")
			break
		}
		if i := strings.LastIndexByte(from, '/'); i >= 0 && !strings.Contains(name, "/") {
			name = from[:i+1] + name // renamed in place, under the same parent
		}
		if wb.sharedNameTaken(name) {
			err = errSharedName
			break
		}
		if err = mb.Rename(ctx, from, name); err == nil {
			n = &core.Notice{Kind: "ok", VI: "Đã đổi tên thư mục thành «" + name + "».", EN: "Folder renamed."}
		}
	case "delete":
		from := r.PostFormValue("folder")
		var f storage.FolderStatus
		if f, err = own(from); err != nil {
			break
		}
		if r.PostFormValue("confirm") != "yes" {
			err = errBadRequest.WithMessage("Tick the box to confirm", "Hãy đánh dấu ô xác nhận trước khi xoá")
			break
		}
		moved := 0
		if moved, err = wb.emptyInto(ctx, mb, list, f.Name); err != nil {
			break
		}
		if err = mb.Delete(ctx, f.Name); err == nil {
			n = &core.Notice{Kind: "ok", VI: fmt.Sprintf("Đã xoá thư mục «%s»; %d thư trong đó đã được chuyển vào Thùng rác.", f.Name, moved),
				EN: fmt.Sprintf("Folder deleted; its %d message(s) were moved to Trash.", moved)}
		}
	default:
		err = errBadRequest
	}
	if err != nil {
		wb.Log.Info("web: folder change refused", "address", c.Acct.Address, "err", err)
		e := mailerr.Classify(err)
		wb.FlashAndGo(w, r, c, "/mail/folders", core.ErrorNotice(e))
		return
	}
	wb.Log.Info("web: folder changed", "address", c.Acct.Address, "action", r.PostFormValue("action"))
	wb.FlashAndGo(w, r, c, "/mail/folders", n)
}

// emptyInto moves every message of folder to Trash.
func (wb *room) emptyInto(ctx context.Context, mb storage.Mailbox, list []storage.FolderStatus, folder string) (int, error) {
	msgs, err := mb.Messages(ctx, folder)
	if err != nil || len(msgs) == 0 {
		return 0, err
	}
	trash, ok := specialFolder(list, `\Trash`)
	if !ok {
		trash = storage.Trash
	}
	uids := make([]uint32, len(msgs))
	for i, m := range msgs {
		uids[i] = m.UID
	}
	moved := 0
	for len(uids) > 0 {
		chunk := uids[:min(len(uids), 1000)]
		uids = uids[len(chunk):]
		res, err := mb.Move(ctx, folder, chunk, trash)
		moved += len(res.SourceUIDs)
		if err != nil {
			return moved, err
		}
	}
	return moved, nil
}

// emptyFolder deletes every message of Trash or Junk for good (\Deleted,
// then EXPUNGE, RFC 9051 6.4.3), after the confirmation box.
func (wb *room) emptyFolder(w http.ResponseWriter, r *http.Request, c *core.Ctx) {
	ctx := r.Context()
	// The Trash or Junk of one's own mailbox, or of a unit mailbox with
	// the rights to delete for good there (t and e, RFC 4314 §4).
	pl, err := wb.openPlace(ctx, c, folderParam(r.PostFormValue("folder")))
	if err != nil {
		wb.mailFail(w, c, "empty", err)
		return
	}
	mb := pl.mb
	list, err := mb.Folders(ctx)
	if err != nil {
		wb.mailFail(w, c, "empty", err)
		return
	}
	var folder, use string
	if st, ok := pl.findFolder(list, r.PostFormValue("folder")); ok {
		folder, use = st.Name, folderUse(*st)
	}
	back := pageURL(pl.web(folder), 1)
	switch {
	case !pl.can("te"):
		wb.mailFail(w, c, "empty", errNoRight)
		return
	case use != `\Trash` && use != `\Junk`:
		wb.mailFail(w, c, "empty", mailerr.ErrCannotDo.WithMessage("Only Trash and Junk can be emptied", "Chỉ dọn sạch được Thùng rác và Thư rác"))
		return
	case r.PostFormValue("confirm") != "yes":
		wb.FlashAndGo(w, r, c, back, &core.Notice{Kind: "error", VI: "Hãy đánh dấu ô xác nhận trước khi dọn sạch.", EN: "Tick the box to confirm."})
		return
	}
	msgs, err := mb.Messages(ctx, folder)
	if err != nil {
		wb.mailFail(w, c, "empty", err)
		return
	}
	uids := make([]uint32, len(msgs))
	for i, m := range msgs {
		uids[i] = m.UID
	}
	removed := 0
	for len(uids) > 0 {
		chunk := uids[:min(len(uids), 1000)]
		uids = uids[len(chunk):]
		if _, _, err = mb.SetFlags(ctx, folder, chunk, storage.FlagsAdd, []string{flagDeleted}, 0); err != nil {
			break
		}
		var gone []uint32
		gone, err = mb.Expunge(ctx, folder, chunk)
		removed += len(gone)
		if err != nil {
			break
		}
	}
	if err != nil {
		wb.mailFail(w, c, "empty", err)
		return
	}
	wb.Log.Info("web: folder emptied", "address", c.Acct.Address, "folder", folder, "messages", removed)
	wb.FlashAndGo(w, r, c, back, &core.Notice{Kind: "ok", VI: fmt.Sprintf("Đã xoá vĩnh viễn %d thư.", removed),
		EN: fmt.Sprintf("%d message(s) deleted for good.", removed)})
}

// cleanFolderName is a folder name as typed: one line, no leading or
// trailing spaces around its levels.
func cleanFolderName(s string) string {
	s = cleanText(s, maxFolderNameRunes)
	parts := strings.Split(s, "/")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
	}
	return strings.Trim(strings.Join(parts, "/"), "/")
}
