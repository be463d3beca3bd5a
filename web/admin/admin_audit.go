package admin

// The audit page: the policy engine's refusals, locks and account changes,
// filtered by subject (address or client IP), action, rule and days.
// Operators see every entry; a unit administrator only entries about the
// accounts of their unit and its sub-units (not those about a bare client
// IP, which may concern anyone).

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"congvu/web/core"
)

// maxAuditRows bounds one audit page (newest first).
const maxAuditRows = 500

// auditActions are the actions the policy engine writes (policy.Action*),
// with their names on the page.
var auditActions = []struct{ Value, VI, EN string }{
	{"reject", "Từ chối", "Refused"},
	{"defer", "Tạm hoãn", "Deferred"},
	{"lock", "Khoá tài khoản", "Account locked"},
	{"unlock", "Mở khoá tài khoản", "Account unlocked"},
	{"retire", "Đóng tài khoản", "Account closed"},
	{"send-lock", "Khoá gửi thư", "Sending locked"},
	{"send-unlock", "Mở khoá gửi thư", "Sending unlocked"},
	{"delete-mailbox", "Xoá hộp thư", "Mailbox deleted"},
	{"forward-set", "Đặt chuyển tiếp", "Forwarding set"},
	{"forward-clear", "Bỏ chuyển tiếp", "Forwarding cleared"},
	{"create", "Tạo tài khoản", "Account created"},
	{"edit", "Sửa thông tin", "Account edited"},
	{"reset", "Cấp lại mật khẩu", "Password reset"},
	{"import", "Nhập danh sách", "Import"},
	{"move", "Chuyển công tác", "Transfer"},
	{"merge", "Sáp nhập đơn vị", "Units merged"},
	{"unit-change", "Đổi tên, chuyển đơn vị", "Unit renamed or moved"},
	{"alias", "Bí danh, tên miền cũ", "Alias"},
	{"acl-set", "Cấp, đổi quyền hộp thư đơn vị", "Unit mailbox rights set"},
	{"acl-delete", "Trả quyền hộp thư đơn vị theo danh bạ", "Unit mailbox rights reset"},
}

// auditRules are the rules of the policy engine (policy.Rule*).
var auditRules = []struct{ Value, VI, EN string }{
	{"lockout", "Sai mật khẩu liên tiếp", "Consecutive failed logins"},
	{"ip-throttle", "Hạn chế theo địa chỉ IP", "Per-IP throttling"},
	{"deny-network", "Mạng bị chặn", "Denied network"},
	{"account-state", "Trạng thái tài khoản", "Account state"},
	{"send-rate", "Gửi quá nhiều thư ra ngoài", "Too much outside mail"},
	{"send-locked", "Đang bị khoá gửi thư", "Sending locked"},
	{"initial-password", "Chưa đổi mật khẩu ban đầu", "Initial password unchanged"},
	{"retention", "Hết thời hạn lưu trữ", "Retention period over"},
	{"forward-outside", "Chuyển tiếp ra ngoài", "Forwarding outside"},
	{"admin", "Thao tác quản trị", "Administrator action"},
}

func auditName(list []struct{ Value, VI, EN string }, v string) (vi, en string) {
	for _, x := range list {
		if x.Value == v {
			return x.VI, x.EN
		}
	}
	return v, ""
}

type auditOption struct {
	Value, Label string
	Selected     bool
}

func auditOptions(list []struct{ Value, VI, EN string }, selected string) []auditOption {
	out := []auditOption{{"", "Tất cả / All", selected == ""}}
	known := false
	for _, x := range list {
		out = append(out, auditOption{x.Value, x.VI + " / " + x.EN, x.Value == selected})
		known = known || x.Value == selected
	}
	if !known && selected != "" {
		out = append(out, auditOption{selected, selected, true})
	}
	return out
}

type auditRow struct {
	AuditEntry
	SubjectHref        string
	ActionVI, ActionEN string
	RuleVI, RuleEN     string
}

type auditData struct {
	Subject, From, To string
	Actions, Rules    []auditOption
	Available         bool
	Scoped            bool // a unit administrator's view
	Rows              []auditRow
	Truncated         bool
	Max               int
}

const maxFilterBytes = 256

func (wb *room) adminAudit(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	q := r.URL.Query()
	d := auditData{Subject: strings.TrimSpace(q.Get("subject")), From: q.Get("from"), To: q.Get("to"),
		Available: wb.opts.Audit != nil, Scoped: a.scope != nil, Max: maxAuditRows}
	action, rule := q.Get("action"), q.Get("rule")
	render := func(status int, n *core.Notice) {
		d.Actions, d.Rules = auditOptions(auditActions, action), auditOptions(auditRules, rule)
		p := wb.adminPage(a, "audit", "Nhật ký kiểm tra", "Audit log", d)
		if n != nil {
			p.Notice = n
		}
		wb.Render(w, status, tmpl["admin-audit"], p)
	}
	if len(d.Subject) > maxFilterBytes || len(action) > 64 || len(rule) > 64 {
		d.Subject, action, rule = "", "", ""
		render(http.StatusBadRequest, &core.Notice{Kind: "error", VI: "Bộ lọc quá dài.", EN: "Filter too long."})
		return
	}
	query := AuditQuery{Subject: d.Subject, Action: action, Rule: rule, Limit: maxAuditRows}
	loc := core.Vietnam()
	for _, f := range []struct {
		v     string
		dst   *time.Time
		after int // days to add: Until is exclusive
	}{{d.From, &query.Since, 0}, {d.To, &query.Until, 1}} {
		if f.v == "" {
			continue
		}
		t, err := time.ParseInLocation(time.DateOnly, f.v, loc)
		if err != nil {
			render(http.StatusBadRequest, &core.Notice{Kind: "error", VI: "Ngày không hợp lệ (cần dạng năm-tháng-ngày).", EN: "Invalid date (use year-month-day)."})
			return
		}
		*f.dst = t.AddDate(0, 0, f.after)
	}
	if !d.Available {
		render(http.StatusOK, nil)
		return
	}
	if a.scope != nil {
		subjects, err := wb.scopeAccounts(r, a)
		if err != nil {
			wb.Fail(w, "accounts", err)
			return
		}
		query.Subjects = subjects
	}
	entries, err := wb.opts.Audit.AuditEntries(r.Context(), query)
	if err != nil {
		n, status := wb.reportFailed("audit", a.Acct.UnitCode, err)
		render(status, n)
		return
	}
	for _, e := range entries {
		row := auditRow{AuditEntry: e}
		row.ActionVI, row.ActionEN = auditName(auditActions, e.Action)
		row.RuleVI, row.RuleEN = auditName(auditRules, e.Rule)
		if strings.Contains(e.Subject, "@") {
			row.SubjectHref = accountHref(e.Subject)
		}
		d.Rows = append(d.Rows, row)
	}
	d.Truncated = len(entries) >= maxAuditRows
	render(http.StatusOK, nil)
}

// scopeAccounts lists the addresses of every account of the admin's units
// (never nil, so that an empty scope selects nothing).
func (wb *room) scopeAccounts(r *http.Request, a *adminCtx) ([]string, error) {
	out := []string{}
	codes := make([]string, 0, len(a.scope))
	for c := range a.scope {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, c := range codes {
		accts, err := wb.Dir().Accounts(r.Context(), c)
		if err != nil {
			return nil, err
		}
		for _, x := range accts {
			out = append(out, x.Address)
		}
	}
	return out, nil
}
