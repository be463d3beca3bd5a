package admin

// The groups and publishing page of a unit (/admin/groups?unit=CODE):
// the unit's distribution lists (nhóm thư) with their members and
// sending rule, and the danh bạ publishing controls of the unit and its
// people. Administrators of the unit or a parent unit, and operators,
// change them; the changes go through package groups (the same code as
// `congvu group` and `congvu danhba`), which checks them against the
// directory and writes the audit entry with the actor, before → after
// and the client's IP.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"congvu/directory"
	"congvu/directory/orgdb"
	"congvu/groups"
	"congvu/internal/mailerr"
	"congvu/web/core"
)

// Groups changes distribution lists and publishing controls
// (groups.Admin). A nil Groups hides the page.
type Groups interface {
	Groups(ctx context.Context) ([]orgdb.Group, error)
	Withheld(ctx context.Context) ([]orgdb.Withheld, error)
	Create(ctx context.Context, g orgdb.Group, who groups.Actor) error
	Update(ctx context.Context, g orgdb.Group, who groups.Actor) error
	Remove(ctx context.Context, address string, who groups.Actor) error
	AddMember(ctx context.Context, group, member string, who groups.Actor) error
	RemoveMember(ctx context.Context, group, member string, who groups.Actor) error
	Withhold(ctx context.Context, w orgdb.Withheld, on bool, who groups.Actor) error
}

func groupsHref(code string) string { return "/admin/groups?unit=" + url.QueryEscape(code) }

type groupRow struct {
	orgdb.Group
	PolicyLabel string
}

type withheldRow struct {
	orgdb.Withheld
	Label string
}

type groupsData struct {
	Unit     directory.Unit
	UnitRef  string
	Groups   []groupRow
	Policies []struct{ Value, Label string }
	Unitwide []withheldRow // controls on this unit
	People   []withheldRow // controls on its people
	Attrs    []struct{ Value, Label string }
	Domain   string
}

// groupsUnit finds the unit of a groups request, in the admin's scope.
func (wb *room) groupsUnit(w http.ResponseWriter, a *adminCtx, code string) (directory.Unit, bool) {
	if wb.opts.Groups == nil {
		wb.Message(w, http.StatusNotFound, "Máy chủ này chưa bật nhóm thư.", "Groups are not enabled on this server.")
		return directory.Unit{}, false
	}
	u, ok := a.tree.Units[code]
	switch {
	case !ok:
		wb.Message(w, http.StatusNotFound, "Không có đơn vị này trong danh bạ.", "No such unit in the directory.")
	case !a.inScope(code):
		wb.Message(w, http.StatusForbidden, "Đơn vị này không thuộc phạm vi bạn quản lý.", "This unit is not one you manage.")
	default:
		return u, true
	}
	return directory.Unit{}, false
}

// adminGroups shows a unit's groups and publishing controls.
func (wb *room) adminGroups(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	u, ok := wb.groupsUnit(w, a, r.URL.Query().Get("unit"))
	if !ok {
		return
	}
	gs, err := wb.opts.Groups.Groups(r.Context())
	if err != nil {
		wb.Fail(w, "groups", err)
		return
	}
	ws, err := wb.opts.Groups.Withheld(r.Context())
	if err != nil {
		wb.Fail(w, "withheld", err)
		return
	}
	d := groupsData{Unit: u, UnitRef: unitHref(u.Code), Domain: wb.domainFor(u, a.Acct)}
	for _, p := range orgdb.GroupPolicies {
		d.Policies = append(d.Policies, struct{ Value, Label string }{p, groups.PolicyLabel(p)})
	}
	for _, at := range orgdb.WithheldAttributes {
		d.Attrs = append(d.Attrs, struct{ Value, Label string }{at, groups.WithheldLabel(at)})
	}
	for _, g := range gs {
		if g.UnitCode == u.Code {
			d.Groups = append(d.Groups, groupRow{g, groups.PolicyLabel(g.Policy)})
		}
	}
	accts, err := wb.Dir().Accounts(r.Context(), u.Code)
	if err != nil {
		wb.Fail(w, "accounts", err)
		return
	}
	mine := map[string]bool{}
	for _, ac := range accts {
		mine[ac.Address] = true
	}
	for _, wh := range ws {
		row := withheldRow{wh, groups.WithheldLabel(wh.Attribute)}
		switch {
		case wh.Scope == orgdb.ScopeUnit && wh.Key == u.Code:
			d.Unitwide = append(d.Unitwide, row)
		case wh.Scope == orgdb.ScopeAccount && mine[wh.Key]:
			d.People = append(d.People, row)
		}
	}
	wb.Render(w, http.StatusOK, tmpl["admin-groups"], wb.adminPage(a, "units", "Nhóm thư và công bố danh bạ", "Groups and publishing", d))
}

// adminGroupsPost carries out one change of the page's forms.
func (wb *room) adminGroupsPost(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	u, ok := wb.groupsUnit(w, a, r.PostFormValue("unit"))
	if !ok {
		return
	}
	ctx, gr := r.Context(), wb.opts.Groups
	who := groups.Actor{Name: a.Acct.Address, IP: core.ClientIP(r).String()}
	field := func(name string) string {
		v := strings.TrimSpace(r.PostFormValue(name))
		if len(v) > 4096 {
			v = v[:4096]
		}
		return v
	}
	group := strings.ToLower(field("group"))
	// A group named in a request must be one of this unit's.
	if group != "" {
		gs, err := gr.Groups(ctx)
		if err != nil {
			wb.Fail(w, "groups", err)
			return
		}
		if !slices.ContainsFunc(gs, func(g orgdb.Group) bool { return g.Address == group && g.UnitCode == u.Code }) {
			wb.Message(w, http.StatusNotFound, "Đơn vị này không có nhóm thư "+group+".", "This unit has no group "+group+".")
			return
		}
	}
	var err error
	var done string
	switch field("action") {
	case "create":
		g := orgdb.Group{Address: field("address"), Name: field("name"), Kind: field("kind"), UnitCode: u.Code,
			SubUnits: r.PostFormValue("sub_units") == "on", Policy: field("policy")}
		if g.Kind == orgdb.GroupCustom {
			g.Members = strings.FieldsFunc(field("members"), func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' })
		}
		err, done = gr.Create(ctx, g, who), "Đã tạo nhóm thư "+strings.ToLower(g.Address)+"."
	case "update":
		g := orgdb.Group{Address: group, Name: field("name"), UnitCode: u.Code, SubUnits: r.PostFormValue("sub_units") == "on",
			Policy: field("policy")}
		err, done = gr.Update(ctx, g, who), "Đã sửa nhóm thư "+group+"."
	case "remove":
		err, done = gr.Remove(ctx, group, who), "Đã xoá nhóm thư "+group+"."
	case "add-member":
		err, done = gr.AddMember(ctx, group, field("member"), who), "Đã thêm "+field("member")+" vào "+group+"."
	case "remove-member":
		err, done = gr.RemoveMember(ctx, group, field("member"), who), "Đã bớt "+field("member")+" khỏi "+group+"."
	case "withhold", "publish":
		wh := orgdb.Withheld{Scope: orgdb.ScopeUnit, Key: u.Code, Attribute: field("attribute")}
		if addr := field("address"); addr != "" {
			acct, lerr := wb.Dir().Lookup(ctx, addr)
			if lerr != nil || !a.inScope(acct.UnitCode) {
				wb.Message(w, http.StatusNotFound, "Không có tài khoản "+addr+" trong phạm vi bạn quản lý.", "No account "+addr+" in your scope.")
				return
			}
			wh.Scope, wh.Key = orgdb.ScopeAccount, acct.Address
		}
		err, done = gr.Withhold(ctx, wh, field("action") == "withhold", who), "Đã lưu thiết lập công bố danh bạ."
	default:
		wb.Message(w, http.StatusBadRequest, "Thao tác không hợp lệ.", "Invalid action.")
		return
	}
	if err != nil {
		if e := mailerr.As(err); e != nil && e.HTTP() < 500 {
			wb.Message(w, e.HTTP(), e.MessageVI+": "+publicCause(err), e.Message)
			return
		}
		wb.Fail(w, "groups change", err)
		return
	}
	wb.Log.Info("web: admin changed groups or publishing", "actor", a.Acct.Address, "unit", u.Code, "action", field("action"),
		"group", group, "ip", who.IP)
	wb.SetFlash(a.Ctx, &core.Notice{Kind: "ok", VI: done, EN: "Saved."})
	http.Redirect(w, r, groupsHref(u.Code), http.StatusSeeOther)
}

// publicCause is the part of a refusal an administrator may read: the
// cause below the classified message (addresses and codes they typed),
// without the message repeated.
func publicCause(err error) string {
	e := mailerr.As(err)
	if e == nil || e.Err == nil {
		return ""
	}
	return fmt.Sprint(e.Err)
}

const adminGroupsTemplate = `{{define "content"}}{{template "adminnav" .}}{{$csrf := .CSRF}}{{with .Data}}{{$unit := .Unit.Code}}{{$pol := .Policies}}
<nav class="path"><a href="{{.UnitRef}}">{{.Unit.Name}}</a> ›</nav>
<h1>Nhóm thư và công bố danh bạ <span class="en" lang="en">/ Groups and danh bạ publishing</span></h1>
<h2>Nhóm thư của đơn vị <span class="en" lang="en">/ The unit's groups</span> ({{len .Groups}})</h2>
{{range .Groups}}{{$g := .Address}}<section class="card group">
<h3>{{.Name}} — {{.Address}}</h3>
<p class="hint">{{if eq .Kind "unit"}}Toàn thể đơn vị{{if .SubUnits}} và đơn vị trực thuộc{{end}}, lấy từ danh bạ khi gửi <span class="en" lang="en">/ everyone of the unit, from the directory</span>{{else}}Thành viên <span class="en" lang="en">/ members</span>: {{len .Members}}{{end}} · Ai được gửi <span class="en" lang="en">/ who may send</span>: {{.PolicyLabel}}</p>
{{if eq .Kind "custom"}}<ul class="members">{{range .Members}}<li>{{.}}
<form class="inline" method="post" action="/admin/groups"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="unit" value="{{$unit}}"><input type="hidden" name="action" value="remove-member"><input type="hidden" name="group" value="{{$g}}"><input type="hidden" name="member" value="{{.}}"><button type="submit" class="secondary">Bớt <span class="en" lang="en">/ Remove</span></button></form></li>{{end}}</ul>
<form method="post" action="/admin/groups"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="unit" value="{{$unit}}"><input type="hidden" name="action" value="add-member"><input type="hidden" name="group" value="{{$g}}">
<label>Thêm thành viên (địa chỉ thư của cán bộ hoặc nhóm) <span class="en" lang="en">/ Add a member</span> <input type="email" name="member" required maxlength="254"></label>
<button type="submit">Thêm <span class="en" lang="en">/ Add</span></button></form>{{end}}
<form method="post" action="/admin/groups"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="unit" value="{{$unit}}"><input type="hidden" name="action" value="update"><input type="hidden" name="group" value="{{$g}}">
<label>Tên <span class="en" lang="en">/ Name</span> <input type="text" name="name" value="{{.Name}}" required maxlength="200"></label>
<label>Ai được gửi <span class="en" lang="en">/ Who may send</span> <select name="policy">{{$cur := .Policy}}{{range $pol}}<option value="{{.Value}}"{{if eq .Value $cur}} selected{{end}}>{{.Label}}</option>{{end}}</select></label>
<label><input type="checkbox" name="sub_units"{{if .SubUnits}} checked{{end}}> Cả đơn vị trực thuộc <span class="en" lang="en">/ include sub-units</span></label>
<button type="submit">Lưu <span class="en" lang="en">/ Save</span></button></form>
<form method="post" action="/admin/groups"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="unit" value="{{$unit}}"><input type="hidden" name="action" value="remove"><input type="hidden" name="group" value="{{$g}}">
<button type="submit" class="danger">Xoá nhóm <span class="en" lang="en">/ Delete the group</span></button></form>
</section>{{else}}<p>Đơn vị chưa có nhóm thư. <span class="en" lang="en">No groups yet.</span></p>{{end}}
<h2>Tạo nhóm thư <span class="en" lang="en">/ New group</span></h2>
<form class="card" method="post" action="/admin/groups"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="unit" value="{{$unit}}"><input type="hidden" name="action" value="create">
<label for="g-address">Địa chỉ nhóm (ví dụ lanhdao.syt@{{.Domain}}) <span class="en" lang="en">/ Group address</span></label>
<input type="email" id="g-address" name="address" required maxlength="254">
<label for="g-name">Tên nhóm <span class="en" lang="en">/ Name</span></label><input type="text" id="g-name" name="name" required maxlength="200">
<label for="g-kind">Loại <span class="en" lang="en">/ Kind</span></label>
<select id="g-kind" name="kind"><option value="custom">Danh sách thành viên / explicit members</option><option value="unit">Toàn thể đơn vị / everyone of the unit</option></select>
<label><input type="checkbox" name="sub_units"> Cả đơn vị trực thuộc <span class="en" lang="en">/ include sub-units</span></label>
<label for="g-policy">Ai được gửi <span class="en" lang="en">/ Who may send</span></label>
<select id="g-policy" name="policy">{{range $pol}}<option value="{{.Value}}">{{.Label}}</option>{{end}}</select>
<label for="g-members">Thành viên (địa chỉ thư, cách nhau bởi dấu phẩy hoặc xuống dòng) <span class="en" lang="en">/ Members</span></label>
<textarea id="g-members" name="members" rows="3" maxlength="4096"></textarea>
<button type="submit">Tạo nhóm <span class="en" lang="en">/ Create</span></button></form>
<h2>Công bố trên danh bạ <span class="en" lang="en">/ Danh bạ publishing</span></h2>
<p class="hint">Thông tin không công bố bị ẩn ngay trên trang danh bạ, tệp tải về, LDAP và CardDAV; thư vẫn được chuyển bình thường. <span class="en" lang="en">Withheld information leaves the danh bạ page, its exports, LDAP and CardDAV at once; mail is delivered as before.</span></p>
{{if or .Unitwide .People}}<table id="withheld"><tr><th>Áp dụng cho <span class="en" lang="en">/ Applies to</span></th><th>Không công bố <span class="en" lang="en">/ Withheld</span></th><th>Bởi <span class="en" lang="en">/ By</span></th><th></th></tr>
{{range .Unitwide}}<tr><td>Cả đơn vị <span class="en" lang="en">/ whole unit</span></td><td>{{.Label}}</td><td>{{.Actor}}</td><td><form method="post" action="/admin/groups"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="unit" value="{{$unit}}"><input type="hidden" name="action" value="publish"><input type="hidden" name="attribute" value="{{.Attribute}}"><button type="submit" class="secondary">Công bố lại <span class="en" lang="en">/ Publish</span></button></form></td></tr>{{end}}
{{range .People}}<tr><td>{{.Key}}</td><td>{{.Label}}</td><td>{{.Actor}}</td><td><form method="post" action="/admin/groups"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="unit" value="{{$unit}}"><input type="hidden" name="action" value="publish"><input type="hidden" name="address" value="{{.Key}}"><input type="hidden" name="attribute" value="{{.Attribute}}"><button type="submit" class="secondary">Công bố lại <span class="en" lang="en">/ Publish</span></button></form></td></tr>{{end}}
</table>{{else}}<p>Mọi thông tin đang được công bố. <span class="en" lang="en">Everything is published.</span></p>{{end}}
<form class="card" method="post" action="/admin/groups"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="unit" value="{{$unit}}"><input type="hidden" name="action" value="withhold">
<label for="w-attr">Không công bố <span class="en" lang="en">/ Withhold</span></label>
<select id="w-attr" name="attribute">{{range .Attrs}}<option value="{{.Value}}">{{.Label}}</option>{{end}}</select>
<label for="w-address">Của cán bộ (để trống: cả đơn vị và đơn vị trực thuộc) <span class="en" lang="en">/ Of one official (empty: the whole unit)</span></label>
<input type="email" id="w-address" name="address" maxlength="254">
<button type="submit">Lưu <span class="en" lang="en">/ Save</span></button></form>
{{end}}{{end}}`
