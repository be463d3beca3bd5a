package mail

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"congvu/internal/mailerr"
	"congvu/storage"
	"congvu/web/core"
)

// maxActionUIDs bounds the messages one form changes (a list page has 50).
const maxActionUIDs = 500

// mailAction changes the flags of, or moves, the messages a form names.
// It is a POST with the session's CSRF token (checked by authed).
//
// Actions: read, unread, flag, unflag, archive, junk, notjunk (back to
// INBOX), move and copy (to the folder named by "to") and delete (to Trash; in Trash, for good: \Deleted then UID
// EXPUNGE, RFC 9051 6.4.9).
func (wb *room) mailAction(w http.ResponseWriter, r *http.Request, c *core.Ctx) {
	if err := r.ParseForm(); err != nil {
		wb.mailFail(w, c, "action", errBadRequest)
		return
	}
	f := r.PostForm
	folder := folderParam(f.Get("folder"))
	page, _ := strconv.Atoi(f.Get("page"))
	action := f.Get("action")
	var uids []uint32
	for _, s := range f["uid"] {
		uid, err := strconv.ParseUint(s, 10, 32)
		if err != nil || uid == 0 {
			wb.mailFail(w, c, "action", errBadRequest.WithMessage("Invalid message number", "Số hiệu thư không hợp lệ"))
			return
		}
		uids = append(uids, uint32(uid))
	}
	if len(uids) > maxActionUIDs {
		wb.mailFail(w, c, "action", errBadRequest.WithMessage("Too many messages at once", "Chọn quá nhiều thư một lúc"))
		return
	}
	ctx := r.Context()
	pl, err := wb.openPlace(ctx, c, folder)
	if err != nil {
		wb.mailFail(w, c, "action", err)
		return
	}
	mb := pl.mb
	folders, err := mb.Folders(ctx)
	if err != nil {
		wb.mailFail(w, c, "action", err)
		return
	}
	cur, ok := pl.findFolder(folders, folder)
	if !ok {
		wb.mailFail(w, c, "action", mailerr.ErrNoSuchFolder)
		return
	}
	folder = cur.Name // the folder in mb; links use its web name
	back := pageURL(pl.web(folder), page)
	// From the message view, flag changes go back to the message; moves
	// (and "unread", which viewing would undo) go to the list.
	fromView := f.Get("from") == "view" && len(uids) == 1
	if fromView && (action == "flag" || action == "unflag") {
		back = msgURL(pl.web(folder), uids[0], page)
	}
	if len(uids) == 0 {
		wb.FlashAndGo(w, r, c, back, &core.Notice{Kind: "error", VI: "Chưa chọn thư nào.", EN: "No message selected."})
		return
	}

	// Rights on a shared mailbox come from package sharing (RFC 4314 §4);
	// one's own mailbox allows everything.
	// A move or copy from a unit mailbox into one's own folders needs
	// only the source's rights: r to copy, t and e to move (RFC 4314 §4).
	outOfBox := (action == "move" || action == "copy") && pl.box != nil && !isSharedName(f.Get("to"))
	need := actionRights(action, folderUse(*cur) == `\Trash`)
	if outOfBox {
		need = map[string]string{"copy": "r", "move": "rte"}[action]
	}
	if !pl.can(need) {
		wb.mailFail(w, c, "action "+action, errNoRight)
		return
	}
	flags := func(op storage.FlagOp, flag string) (int, error) {
		updated, _, err := mb.SetFlags(ctx, folder, uids, op, []string{flag}, 0)
		return len(updated), err
	}
	move := func(use, fallback string) (int, string, error) {
		to, ok := specialFolder(folders, use)
		if !ok {
			to = fallback
		}
		if to == folder {
			return 0, to, mailerr.ErrCannotDo.WithMessage("The messages are already in this folder", "Thư đã ở trong thư mục này")
		}
		res, err := mb.Move(ctx, folder, uids, to)
		return len(res.SourceUIDs), to, err
	}
	var n int
	var vi, en string
	switch action {
	case "read":
		n, err = flags(storage.FlagsAdd, flagSeen)
		vi, en = "Đã đánh dấu %d thư là đã đọc.", "%d message(s) marked read."
	case "unread":
		n, err = flags(storage.FlagsRemove, flagSeen)
		vi, en = "Đã đánh dấu %d thư là chưa đọc.", "%d message(s) marked unread."
	case "flag":
		n, err = flags(storage.FlagsAdd, flagFlagged)
		vi, en = "Đã gắn cờ %d thư.", "%d message(s) flagged."
	case "unflag":
		n, err = flags(storage.FlagsRemove, flagFlagged)
		vi, en = "Đã bỏ cờ %d thư.", "%d message(s) unflagged."
	case "archive":
		n, _, err = move(`\Archive`, storage.Archive)
		vi, en = "Đã chuyển %d thư vào Lưu trữ.", "%d message(s) moved to Archive."
	case "junk":
		n, _, err = move(`\Junk`, storage.Junk)
		vi, en = "Đã chuyển %d thư vào Thư rác.", "%d message(s) moved to Junk."
	case "notjunk":
		n, _, err = move("INBOX", storage.Inbox)
		vi, en = "Đã chuyển %d thư về Hộp thư đến.", "%d message(s) moved to the Inbox."
	case "move", "copy":
		if outOfBox {
			var label string
			n, label, err = wb.copyToOwn(ctx, c, pl, folder, uids, f.Get("to"), action == "move")
			if action == "move" {
				vi, en = "Đã chuyển %d thư vào "+escapePercent(label)+".", "%d message(s) moved."
			} else {
				vi, en = "Đã sao chép %d thư vào "+escapePercent(label)+".", "%d message(s) copied."
			}
			break
		}
		to, inPlace := pl.inner(f.Get("to"))
		known := false
		for _, st := range folders {
			known = known || st.Name == to
		}
		switch {
		case !known || !inPlace:
			err = mailerr.ErrNoSuchFolder
		case to == folder:
			err = mailerr.ErrCannotDo.WithMessage("The messages are already in this folder", "Thư đã ở trong thư mục này")
		case action == "move":
			var res storage.CopyResult
			res, err = mb.Move(ctx, folder, uids, to)
			n = len(res.SourceUIDs)
		default:
			var res storage.CopyResult
			res, err = mb.Copy(ctx, folder, uids, to)
			n = len(res.SourceUIDs)
		}
		label := newFolderView(storage.FolderStatus{Name: to, SpecialUse: specialUseOf(folders, to)}).Label
		if action == "move" {
			vi, en = "Đã chuyển %d thư vào "+escapePercent(label)+".", "%d message(s) moved."
		} else {
			vi, en = "Đã sao chép %d thư vào "+escapePercent(label)+".", "%d message(s) copied."
		}
	case "delete":
		if folderUse(*cur) == `\Trash` {
			if _, err = flags(storage.FlagsAdd, flagDeleted); err == nil {
				var removed []uint32
				removed, err = mb.Expunge(ctx, folder, uids)
				n = len(removed)
			}
			vi, en = "Đã xoá vĩnh viễn %d thư.", "%d message(s) deleted for good."
		} else {
			n, _, err = move(`\Trash`, storage.Trash)
			vi, en = "Đã chuyển %d thư vào Thùng rác.", "%d message(s) moved to Trash."
		}
	default:
		wb.mailFail(w, c, "action", errBadRequest.WithMessage("Unknown action", "Thao tác không hợp lệ"))
		return
	}
	if err != nil {
		wb.mailFail(w, c, "action "+action, err)
		return
	}
	if n == 0 {
		wb.mailFail(w, c, "action "+action, storage.ErrNoSuchMessage)
		return
	}
	wb.Log.Info("web: mail action", "address", c.Acct.Address, "action", action, "folder", folder, "messages", n)
	wb.FlashAndGo(w, r, c, back, &core.Notice{Kind: "ok", VI: fmt.Sprintf(vi, n), EN: fmt.Sprintf(en, n)})
}

// escapePercent keeps a folder name literal inside a Sprintf format.
func escapePercent(s string) string { return strings.ReplaceAll(s, "%", "%%") }
