package admin

// The rights page of a unit's shared mailbox (hộp thư văn thư): who may
// open it and with which RFC 4314 rights (from the directory, adjusted per
// account), and a form to grant, change or remove an official's rights.
// Rights and the rule of who may change them live in package sharing
// (the same SETACL the IMAP server offers); every change is audited with
// the same actions as IMAP's (acl-set, acl-delete).

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"congvu/directory"
	"congvu/internal/mailerr"
	"congvu/sharing"
	"congvu/web/core"
)

// SharedACL is the rights of the units' shared mailboxes (sharing.Service
// has it). A nil SharedACL hides the page.
type SharedACL interface {
	ACL(ctx context.Context, owner string) ([]sharing.Entry, error)
	SetACL(ctx context.Context, actor *directory.Account, owner, identifier, mod string, del bool) (before, after string, err error)
}

// Audit actions of rights changes (as imapd writes for SETACL/DELETEACL).
const (
	auditACLSet    = "acl-set"
	auditACLDelete = "acl-delete"
)

// rightsPresets are the choices of the form, by value.
var rightsPresets = []struct{ Value, Rights, VI, EN string }{
	{"clerk", sharing.ClerkRights, "Văn thư: toàn quyền (đọc, chuyển, xoá, gửi thay đơn vị)", "Clerk: full rights"},
	{"leader", sharing.LeaderRights, "Lãnh đạo: chỉ đọc (giữ trạng thái đã đọc riêng)", "Leader: read only"},
	{"none", "", "Không có quyền", "No rights"},
	{"default", "", "Theo danh bạ (bỏ điều chỉnh riêng)", "As the directory says (remove the adjustment)"},
	{"custom", "", "Tuỳ chỉnh theo RFC 4314 (nhập bên dưới)", "Custom RFC 4314 letters (below)"},
}

type aclRow struct {
	sharing.Entry
	Meaning string
}

type sharedData struct {
	Unit    directory.Unit
	UnitRef string
	Rows    []aclRow
	Presets []struct{ Value, Rights, VI, EN string }
}

// rightsMeaning says in Vietnamese what a rights string allows.
func rightsMeaning(r string) string {
	var parts []string
	if sharing.Has(r, "r") {
		parts = append(parts, "đọc")
	}
	if sharing.Has(r, "te") {
		parts = append(parts, "chuyển, xoá")
	}
	if sharing.Has(r, "p") {
		parts = append(parts, "gửi thay đơn vị")
	}
	if sharing.Has(r, "a") {
		parts = append(parts, "quản lý quyền")
	}
	if len(parts) == 0 {
		return "chỉ thấy hộp thư"
	}
	return strings.Join(parts, ", ")
}

// sharedUnit finds the unit a rights request is about, in the admin's
// scope and with a shared mailbox; it writes the error page itself.
func (wb *room) sharedUnit(w http.ResponseWriter, a *adminCtx, code string) (directory.Unit, bool) {
	if wb.opts.Shared == nil {
		wb.Message(w, http.StatusNotFound, "Máy chủ này chưa bật hộp thư dùng chung của đơn vị.", "Shared unit mailboxes are not enabled on this server.")
		return directory.Unit{}, false
	}
	u, ok := a.tree.Units[code]
	switch {
	case !ok:
		wb.Message(w, http.StatusNotFound, "Không có đơn vị này trong danh bạ.", "No such unit in the directory.")
	case !a.inScope(code):
		wb.Message(w, http.StatusForbidden, "Đơn vị này không thuộc phạm vi bạn quản lý.", "This unit is not one you manage.")
	case u.Address == "":
		wb.Message(w, http.StatusNotFound, "Đơn vị này không có hộp thư đơn vị.", "This unit has no unit mailbox.")
	default:
		return u, true
	}
	return directory.Unit{}, false
}

func sharedHref(code string) string { return "/admin/shared?unit=" + url.QueryEscape(code) }

// adminShared shows the rights on a unit's shared mailbox.
func (wb *room) adminShared(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	u, ok := wb.sharedUnit(w, a, r.URL.Query().Get("unit"))
	if !ok {
		return
	}
	list, err := wb.opts.Shared.ACL(r.Context(), u.Address)
	if err != nil {
		wb.Fail(w, "shared acl", err)
		return
	}
	d := sharedData{Unit: u, UnitRef: unitHref(u.Code), Presets: rightsPresets}
	for _, e := range list {
		d.Rows = append(d.Rows, aclRow{Entry: e, Meaning: rightsMeaning(e.Rights)})
	}
	wb.Render(w, http.StatusOK, tmpl["admin-shared"], wb.adminPage(a, "units", "Quyền trên hộp thư đơn vị", "Unit mailbox rights", d))
}

// adminSharedSet grants, changes or removes an official's rights.
func (wb *room) adminSharedSet(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	u, ok := wb.sharedUnit(w, a, r.PostFormValue("unit"))
	if !ok {
		return
	}
	who := strings.ToLower(strings.TrimSpace(r.PostFormValue("identifier")))
	if who == "" || len(who) > core.MaxLoginBytes {
		wb.Message(w, http.StatusBadRequest, "Hãy nhập địa chỉ thư của cán bộ.", "Enter the official's address.")
		return
	}
	var mod string
	del := false
	switch preset := r.PostFormValue("preset"); preset {
	case "clerk", "leader", "none":
		for _, p := range rightsPresets {
			if p.Value == preset {
				mod = p.Rights
			}
		}
	case "default":
		del = true
	case "custom":
		mod = strings.TrimSpace(r.PostFormValue("rights"))
		if len(mod) > 32 || !sharing.ValidRights(strings.TrimLeft(mod, "+-")) {
			wb.Message(w, http.StatusBadRequest, "Quyền không hợp lệ: chỉ dùng các chữ "+sharing.ClerkRights+" (RFC 4314), có thể thêm + hoặc - ở đầu.",
				"Invalid rights: use the letters "+sharing.ClerkRights+" (RFC 4314), optionally after + or -.")
			return
		}
	default:
		wb.Message(w, http.StatusBadRequest, "Hãy chọn quyền cần cấp.", "Choose the rights to give.")
		return
	}
	before, after, err := wb.opts.Shared.SetACL(r.Context(), a.Acct, u.Address, who, mod, del)
	switch {
	case errors.Is(err, sharing.ErrUnknownIdentifier):
		wb.Message(w, http.StatusNotFound, "Không có tài khoản "+who+".", "No account "+who+".")
		return
	case errors.Is(err, sharing.ErrNotAdmin):
		wb.Message(w, http.StatusForbidden, "Bạn không phải quản trị viên của hộp thư này.", "You are not an administrator of this mailbox.")
		return
	case err != nil:
		if e := mailerr.As(err); e != nil && e.HTTP() < 500 {
			wb.Message(w, e.HTTP(), e.MessageVI, e.Message)
			return
		}
		wb.Fail(w, "set acl", err)
		return
	}
	action := auditACLSet
	if del {
		action = auditACLDelete
	}
	wb.record(r, a, who, action, fmt.Sprintf("mailbox %s: %q -> %q", u.Address, before, after))
	wb.Log.Info("web: admin changed shared mailbox rights", "actor", a.Acct.Address, "mailbox", u.Address, "target", who,
		"before", before, "after", after, "ip", core.ClientIP(r))
	wb.SetFlash(a.Ctx, &core.Notice{Kind: "ok",
		VI: fmt.Sprintf("Đã đổi quyền của %s trên hộp thư %s: %q → %q.", who, u.Address, before, after),
		EN: fmt.Sprintf("Rights of %s on %s changed: %q → %q.", who, u.Address, before, after)})
	http.Redirect(w, r, sharedHref(u.Code), http.StatusSeeOther)
}

const adminSharedTemplate = `{{define "content"}}{{template "adminnav" .}}{{$csrf := .CSRF}}{{with .Data}}
<nav class="path"><a href="{{.UnitRef}}">{{.Unit.Name}}</a> ›</nav>
<h1>Quyền trên hộp thư đơn vị <span class="en" lang="en">/ Unit mailbox rights</span></h1>
<p class="hint">Hộp thư <span class="en" lang="en">/ mailbox</span> {{.Unit.Address}}. Văn thư của đơn vị có toàn quyền, lãnh đạo được đọc, quản trị viên quản lý quyền; có thể điều chỉnh riêng từng tài khoản. <span class="en" lang="en">Clerks have full rights, leaders read, administrators manage rights; adjust per account below.</span></p>
{{if .Rows}}<table id="acl"><tr><th>Tài khoản <span class="en" lang="en">/ Account</span></th><th>Quyền <span class="en" lang="en">/ Rights</span> (RFC 4314)</th><th>Nguồn <span class="en" lang="en">/ Source</span></th></tr>
{{range .Rows}}<tr><td>{{.Identifier}}</td><td><code>{{.Rights}}</code> <span class="hint">{{.Meaning}}</span></td><td>{{if .Explicit}}Điều chỉnh riêng <span class="en" lang="en">/ adjusted</span>{{else}}Theo danh bạ <span class="en" lang="en">/ directory</span>{{end}}</td></tr>
{{end}}</table>{{else}}<p>Chưa ai có quyền trên hộp thư này. <span class="en" lang="en">Nobody has rights on this mailbox.</span></p>{{end}}
<h2>Cấp, đổi hoặc bỏ quyền <span class="en" lang="en">/ Grant, change or remove rights</span></h2>
<form class="card" method="post" action="/admin/shared">
<input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="unit" value="{{.Unit.Code}}">
<label for="identifier">Địa chỉ thư của cán bộ <span class="en" lang="en">/ Official's address</span></label>
<input type="email" id="identifier" name="identifier" required maxlength="254">
<label for="preset">Quyền <span class="en" lang="en">/ Rights</span></label>
<select id="preset" name="preset">{{range .Presets}}<option value="{{.Value}}">{{.VI}} / {{.EN}}</option>{{end}}</select>
<label for="rights">Quyền tuỳ chỉnh (chữ RFC 4314, ví dụ lrs hoặc +w) <span class="en" lang="en">/ Custom rights</span></label>
<input type="text" id="rights" name="rights" maxlength="32" pattern="[+-]?[lrswipkxtecda]*">
<button type="submit">Lưu <span class="en" lang="en">/ Save</span></button>
</form>
{{end}}{{end}}`
