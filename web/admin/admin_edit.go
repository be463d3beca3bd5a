package admin

// Everyday administration (issue 14): find accounts by name across the
// admin's scope, edit an account's name, title, phone, role and aliases, lock with a
// reason from a list, and an audit entry (actor, target, before → after,
// IP) for each of these and for creations and resets.

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"congvu/directory"
	"congvu/directory/addr"
	"congvu/web/core"
)

// AuditLog records administrators' actions (the policy engine's audit
// log). A nil AuditLog records nothing beyond the server log.
type AuditLog interface {
	AppendAdminAudit(ctx context.Context, e AuditEntry) error
}

// Audit actions written here (policy.Action*).
const (
	auditCreate = "create"
	auditEdit   = "edit"
	auditReset  = "reset"
)

// record writes one audit entry of the admin's action on subject.
func (wb *room) record(r *http.Request, a *adminCtx, subject, action, detail string) {
	if wb.opts.AuditLog == nil {
		return
	}
	e := AuditEntry{At: time.Now(), Actor: a.Acct.Address, Subject: subject, Action: action, Rule: "admin",
		Protocol: "web", IP: core.ClientIP(r).String(), Detail: detail}
	if err := wb.opts.AuditLog.AppendAdminAudit(r.Context(), e); err != nil {
		wb.Log.Error("web: audit write failed", "actor", a.Acct.Address, "subject", subject, "action", action, "err", err)
	}
}

// lockReasons are the reasons an administrator picks when locking.
var lockReasons = []struct{ Value, VI, EN string }{
	{"left", "Nghỉ việc, nghỉ hưu", "left"},
	{"transferred", "Chuyển công tác", "transferred"},
	{"compromised", "Nghi lộ mật khẩu", "compromised"},
	{"request", "Theo đề nghị của đơn vị", "on request"},
}

// lockReason reads the lock form: a listed reason and optional text.
func lockReason(r *http.Request) (string, bool) {
	kind := r.PostFormValue("reason_kind")
	text := strings.Join(strings.Fields(r.PostFormValue("reason")), " ")
	if utf8.RuneCountInString(text) > 300 {
		return "", false
	}
	for _, lr := range lockReasons {
		if lr.Value == kind {
			if text != "" {
				return lr.VI + " / " + lr.EN + ": " + text, true
			}
			return lr.VI + " / " + lr.EN, true
		}
	}
	return "", false
}

// maxSearchResults bounds a search page.
const maxSearchResults = 200

type searchRow struct {
	*directory.Account
	UnitName, Href string
}

type searchData struct {
	Query   string
	Rows    []searchRow
	More    bool
	Scanned int
}

// adminSearch finds accounts of the admin's scope whose name, title,
// address or unit contains every word of q, without regard to diacritics
// or case ("nguyen van" finds Nguyễn Văn …).
func (wb *room) adminSearch(w http.ResponseWriter, r *http.Request, a *adminCtx, q string) {
	words := strings.Fields(addr.Fold(q))
	if len(words) == 0 || utf8.RuneCountInString(q) > 200 {
		wb.Message(w, http.StatusBadRequest, "Hãy nhập họ tên, chức vụ, đơn vị hoặc địa chỉ thư cần tìm.",
			"Enter a name, title, unit or address to search for.")
		return
	}
	all, err := wb.Dir().Accounts(r.Context(), "")
	if err != nil {
		wb.Fail(w, "account search", err)
		return
	}
	d := searchData{Query: q}
	for i := range all {
		acct := &all[i]
		if !a.inScope(acct.UnitCode) {
			continue
		}
		unit := a.tree.Units[acct.UnitCode].Name
		hay := addr.Fold(strings.Join([]string{acct.DisplayName, acct.Title, acct.Address, unit, acct.UnitCode}, " "))
		if !slices.ContainsFunc(words, func(w string) bool { return !strings.Contains(hay, w) }) {
			if len(d.Rows) == maxSearchResults {
				d.More = true
				break
			}
			d.Rows = append(d.Rows, searchRow{Account: acct, UnitName: unit, Href: accountHref(acct.Address)})
		}
	}
	wb.Render(w, http.StatusOK, tmpl["admin-search"], wb.adminPage(a, "units", "Tìm tài khoản", "Search", d))
}

// maxAliases bounds the aliases an administrator gives one account.
const maxAliases = 20

// editedAliases reads the aliases field (addresses separated by commas,
// spaces or lines): each must be an address at a local domain that no other
// account holds. The result is sorted, without the primary address and
// duplicates; msg is the Vietnamese and English refusal.
func (wb *room) editedAliases(ctx context.Context, acct *directory.Account, field string) ([]string, []string) {
	words := strings.FieldsFunc(field, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
	if len(words) > maxAliases {
		return nil, []string{fmt.Sprintf("Tối đa %d bí danh cho một tài khoản.", maxAliases), fmt.Sprintf("At most %d aliases per account.", maxAliases)}
	}
	var out []string
	for _, w := range words {
		alias := directory.NormalizeAddress(w)
		if alias == acct.Address || slices.Contains(out, alias) {
			continue
		}
		if directory.CheckAddress(alias) != nil || !slices.Contains(wb.opts.Domains, directory.Domain(alias)) {
			return nil, []string{fmt.Sprintf("Bí danh “%s” không hợp lệ: phải là một địa chỉ thuộc tên miền của hệ thống (%s).", w, strings.Join(wb.opts.Domains, ", ")),
				fmt.Sprintf("Alias %q is not an address at one of this system's domains.", w)}
		}
		if !slices.Contains(acct.Aliases, alias) {
			if other, err := wb.Dir().Lookup(ctx, alias); err == nil && other != nil && other.Address != acct.Address {
				return nil, []string{fmt.Sprintf("Địa chỉ “%s” đã thuộc tài khoản %s.", alias, other.Address),
					fmt.Sprintf("%s already belongs to %s.", alias, other.Address)}
			}
		}
		out = append(out, alias)
	}
	slices.Sort(out)
	return out, nil
}

// adminEdit changes an account's name, title, phone and role (the unit and
// address change through `congvu account move`, which keeps the mailbox).
func (wb *room) adminEdit(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	acct := wb.managed(w, r, a)
	if acct == nil {
		return
	}
	b := *acct
	b.DisplayName = strings.Join(strings.Fields(r.PostFormValue("full_name")), " ")
	b.Title = strings.TrimSpace(r.PostFormValue("title"))
	b.Phone = strings.TrimSpace(r.PostFormValue("phone"))
	if role := directory.Role(r.PostFormValue("role")); role != "" && role != acct.Role {
		if acct.Role == directory.RoleUnit || !slices.Contains(creatableRoles(a.Acct.Role), role) {
			wb.Message(w, http.StatusBadRequest, "Vai trò không hợp lệ.", "Invalid role.")
			return
		}
		b.Role = role
	}
	if _, given := r.PostForm["aliases"]; given {
		aliases, msg := wb.editedAliases(r.Context(), acct, r.PostFormValue("aliases"))
		if msg != nil {
			wb.Message(w, http.StatusBadRequest, msg[0], msg[1])
			return
		}
		b.Aliases = aliases
	}
	switch {
	case b.DisplayName == "":
		wb.Message(w, http.StatusBadRequest, "Vui lòng nhập họ và tên.", "Enter the full name.")
		return
	case utf8.RuneCountInString(b.DisplayName) > maxNameRunes || utf8.RuneCountInString(b.Title) > 200 || len(b.Phone) > 40:
		wb.Message(w, http.StatusBadRequest, "Họ tên, chức vụ hoặc số điện thoại quá dài.", "Name, title or phone is too long.")
		return
	}
	var changes []string
	for _, f := range []struct{ name, before, after string }{
		{"họ tên/name", acct.DisplayName, b.DisplayName}, {"chức vụ/title", acct.Title, b.Title},
		{"điện thoại/phone", acct.Phone, b.Phone}, {"vai trò/role", string(acct.Role), string(b.Role)},
		{"bí danh/aliases", strings.Join(acct.Aliases, ", "), strings.Join(b.Aliases, ", ")},
	} {
		if f.before != f.after {
			changes = append(changes, fmt.Sprintf("%s: %q → %q", f.name, f.before, f.after))
		}
	}
	if len(changes) == 0 {
		wb.SetFlash(a.Ctx, &core.Notice{Kind: "ok", VI: "Không có gì thay đổi.", EN: "Nothing changed."})
		http.Redirect(w, r, accountHref(acct.Address), http.StatusSeeOther)
		return
	}
	if err := wb.Dir().PutAccount(r.Context(), b, ""); err != nil {
		wb.Fail(w, "account edit", err)
		return
	}
	detail := strings.Join(changes, "; ")
	wb.record(r, a, acct.Address, auditEdit, detail)
	wb.Log.Info("web: admin edited account", "actor", a.Acct.Address, "target", acct.Address, "ip", core.ClientIP(r))
	wb.SetFlash(a.Ctx, &core.Notice{Kind: "ok", VI: "Đã lưu thay đổi: " + detail, EN: "Saved."})
	http.Redirect(w, r, accountHref(acct.Address), http.StatusSeeOther)
}
