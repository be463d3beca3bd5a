// Package admin is the administrators' room of the web. Unit
// administrators (directory.RoleAdmin) manage the accounts of their own
// unit and of every unit below it; operators
// (directory.RoleOperator) manage every unit. Nobody acts on their own
// account here (that is the change-password page), a unit administrator
// does not act on operators nor on the other administrators of their own
// unit, and every action is a POST carrying the session's CSRF token.
package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"congvu/directory"
	"congvu/directory/importer"
	"congvu/internal/demo"
	"congvu/internal/mailerr"
	"congvu/policy"
	"congvu/web/core"
)

// Options configures the admin pages.
type Options struct {
	// Reports renders the admin reports; nil shows that none is available.
	Reports Reports
	// Audit is the audit log of the admin pages; nil shows that there is none.
	Audit Audit
	// AuditLog records the admins' actions (create, edit, reset); nil
	// records them in the server log only.
	AuditLog AuditLog
	// SendLocks shows and lifts sending locks on the account pages; nil
	// hides them.
	SendLocks SendLocks
	// Queue is the outbound queue of the operators' queue view; nil means
	// outbound delivery is off.
	Queue Queue
	// States changes account states for the admin pages, with an audit
	// trail; nil changes them in the directory directly.
	States AccountStates
	// Domains are the local domains; a new account gets the domain of its
	// unit's mailbox, or the first of these.
	Domains []string
	// Shared is the rights of the units' shared mailboxes
	// (sharing.Service); nil hides the rights page.
	Shared SharedACL
	// Requests are the provisioning requests (provision.Service); nil
	// hides their pages.
	Requests Requests
	// Facts show quota use and last access on the account page; nil
	// hides them.
	Facts AccountFacts
	// Groups changes distribution lists and danh bạ publishing
	// (groups.Admin); nil hides the groups page.
	Groups Groups
	// OldAddresses is the mail still arriving at old domains and
	// addresses (operators' report); nil hides it.
	OldAddresses OldAddressTraffic
	// Reorg carries out reorganisations, transfers and file imports
	// (reorg.Service); nil hides their pages. Org is the organisation
	// store beside it (domain aliases, old-address traffic, stable keys).
	Reorg Reorganiser
	Org   OrgRecords
	// TransitionalMonths is how long changed addresses keep delivering
	// (directory.transitional_months), as the confirmation pages say.
	TransitionalMonths int
}

// room is the admin pages on a site.
type room struct {
	*core.Site
	opts Options
}

// Register adds the admin pages to site.
func Register(site *core.Site, opts Options) {
	wb := &room{Site: site, opts: opts}
	m := site
	m.HandleFunc("GET /admin", wb.admin(wb.adminHome))
	m.HandleFunc("GET /admin/{$}", wb.admin(wb.adminHome))
	m.HandleFunc("GET /admin/unit", wb.admin(wb.adminUnit))
	m.HandleFunc("GET /admin/account", wb.admin(wb.adminAccount))
	m.HandleFunc("GET /admin/find", wb.admin(wb.adminFind))
	m.HandleFunc("GET /admin/new", wb.admin(wb.adminNewForm))
	m.HandleFunc("POST /admin/new", wb.admin(wb.adminNewSubmit))
	m.HandleFunc("POST /admin/reset", wb.admin(wb.adminReset))
	m.HandleFunc("POST /admin/edit", wb.admin(wb.adminEdit))
	m.HandleFunc("POST /admin/lock", wb.admin(wb.adminState(directory.StateLocked)))
	m.HandleFunc("POST /admin/unlock", wb.admin(wb.adminState(directory.StateActive)))
	m.HandleFunc("POST /admin/retire", wb.admin(wb.adminState(directory.StateRetired)))
	m.HandleFunc("POST /admin/unlock-sending", wb.admin(wb.adminUnlockSending))
	m.HandleFunc("GET /admin/shared", wb.admin(wb.adminShared))
	m.HandleFunc("POST /admin/shared", wb.admin(wb.adminSharedSet))
	m.HandleFunc("GET /admin/groups", wb.admin(wb.adminGroups))
	m.HandleFunc("POST /admin/groups", wb.admin(wb.adminGroupsPost))
	m.HandleFunc("GET /admin/reports", wb.admin(wb.adminReports))
	m.HandleFunc("GET /admin/reports/access.csv", wb.admin(wb.accessDownload(FormatCSV)))
	m.HandleFunc("GET /admin/reports/access.svg", wb.admin(wb.accessDownload(FormatSVG)))
	m.HandleFunc("GET /admin/reports/access.png", wb.admin(wb.accessDownload(FormatPNG)))
	m.HandleFunc("GET /admin/reports/usage", wb.admin(wb.adminUsage))
	m.HandleFunc("GET /admin/reports/usage.csv", wb.admin(wb.usageDownload))
	m.HandleFunc("GET /admin/audit", wb.admin(wb.adminAudit))
	m.HandleFunc("GET /admin/reports/old-addresses", wb.admin(wb.adminOldAddresses))
	m.HandleFunc("GET /admin/queue", wb.operator(wb.adminQueue))
	m.HandleFunc("GET /admin/queue/{id}", wb.operator(wb.adminQueueMessage))
	m.HandleFunc("POST /admin/queue/retry", wb.operator(wb.adminQueueRetry))
	m.HandleFunc("POST /admin/queue/delete", wb.operator(wb.adminQueueDelete))
	wb.registerRequests()
	wb.registerReorg()
}

// adminCtx is what an admin handler gets.
type adminCtx struct {
	*core.Ctx
	tree  *directory.Tree
	scope map[string]bool // unit codes managed; nil: all (operator)
}

func (a *adminCtx) inScope(code string) bool {
	return a.scope == nil || a.scope[code]
}

// scopeRoots are the top units the admin manages.
func (a *adminCtx) scopeRoots() []string {
	if a.scope == nil {
		return a.tree.Roots
	}
	if a.scope[a.Acct.UnitCode] {
		return []string{a.Acct.UnitCode}
	}
	return nil
}

// mayManage tells whether the admin may act on target, and if not why.
func (a *adminCtx) mayManage(target *directory.Account) (ok bool, vi, en string) {
	switch {
	case target.Address == a.Acct.Address:
		return false, "Không thao tác trên tài khoản của chính mình ở đây; hãy dùng trang Đổi mật khẩu.",
			"You cannot act on your own account here; use the change-password page."
	case !a.inScope(target.UnitCode):
		return false, "Tài khoản này không thuộc đơn vị bạn quản lý.", "This account is not in a unit you manage."
	case a.Acct.Role == directory.RoleAdmin && target.Role == directory.RoleOperator,
		a.Acct.Role == directory.RoleAdmin && target.Role == directory.RoleAdmin && target.UnitCode == a.Acct.UnitCode:
		return false, "Chỉ quản trị hệ thống mới thao tác được trên tài khoản quản trị này.",
			"Only an operator can act on this administrator account."
	}
	return true, "", ""
}

// admin wraps a handler of the admin pages: a logged-in administrator, the
// unit tree and their scope.
func (wb *room) admin(h func(http.ResponseWriter, *http.Request, *adminCtx)) http.HandlerFunc {
	return wb.Authed(func(w http.ResponseWriter, r *http.Request, c *core.Ctx) {
		if !core.IsAdmin(c.Acct) {
			wb.Log.Warn("web: admin page refused", "address", c.Acct.Address, "role", c.Acct.Role, "path", r.URL.Path)
			wb.Message(w, http.StatusForbidden, "Bạn không có quyền quản trị.", "You are not an administrator.")
			return
		}
		units, err := wb.Dir().Units(r.Context())
		if err != nil {
			wb.Fail(w, "units", err)
			return
		}
		a := &adminCtx{Ctx: c, tree: directory.NewTree(units)}
		if c.Acct.Role == directory.RoleAdmin {
			a.scope = a.tree.ManagedBy(c.Acct.UnitCode)
		}
		h(w, r, a)
	})
}

func unitHref(code string) string    { return "/admin/unit?code=" + url.QueryEscape(code) }
func accountHref(addr string) string { return "/admin/account?address=" + url.QueryEscape(addr) }

func (wb *room) adminPage(a *adminCtx, tab, title, titleEN string, data any) *core.Page {
	p := wb.Page(a.Ctx, title, titleEN, data)
	p.AdminTab = tab
	return p
}

func (wb *room) adminHome(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	roots := a.scopeRoots()
	if len(roots) == 1 {
		http.Redirect(w, r, unitHref(roots[0]), http.StatusSeeOther)
		return
	}
	var list []crumb
	for _, c := range roots {
		list = append(list, crumb{c, a.tree.Units[c].Name, unitHref(c)})
	}
	if len(list) == 0 {
		wb.Message(w, http.StatusForbidden, "Tài khoản quản trị của bạn chưa gắn với đơn vị nào trong danh bạ.",
			"Your administrator account belongs to no unit of the directory.")
		return
	}
	wb.Render(w, http.StatusOK, tmpl["admin-unit"], wb.adminPage(a, "units", "Quản trị", "Administration",
		unitData{Sub: list, Overdue: wb.overdueCount(r.Context(), a)}))
}

// accountRow is one account in a unit's table.
type accountRow struct {
	directory.Account
	Href      string
	CanManage bool
}

type unitData struct {
	Unit      directory.Unit
	Path      []crumb
	Sub       []crumb
	Accounts  []accountRow
	NewHref   string
	Reports   string
	FindQuery string
	// Shared is the rights page of the unit's shared mailbox ("" when
	// it has none or sharing is off).
	Shared string
	// Overdue counts the provisioning requests in the admin's scope past
	// their due date; RequestHref files a new one for the unit.
	Overdue     int
	RequestHref string
	// Groups is the unit's groups and publishing page ("" when off).
	Groups string
	// Import is the file import page ("" when off).
	Import string
}

func (wb *room) adminUnit(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	code := r.URL.Query().Get("code")
	u, ok := a.tree.Units[code]
	if !ok {
		wb.Message(w, http.StatusNotFound, "Không có đơn vị này trong danh bạ.", "No such unit in the directory.")
		return
	}
	if !a.inScope(code) {
		wb.Message(w, http.StatusForbidden, "Đơn vị này không thuộc phạm vi bạn quản lý.", "This unit is not one you manage.")
		return
	}
	accounts, err := wb.Dir().Accounts(r.Context(), code)
	if err != nil {
		wb.Fail(w, "accounts", err)
		return
	}
	d := unitData{Unit: u, NewHref: "/admin/new?unit=" + url.QueryEscape(code),
		Reports: "/admin/reports?unit=" + url.QueryEscape(code)}
	if u.Address != "" && wb.opts.Shared != nil {
		d.Shared = sharedHref(code)
	}
	if wb.opts.Requests != nil {
		d.RequestHref = "/admin/requests/new?unit=" + url.QueryEscape(code)
		d.Overdue = wb.overdueCount(r.Context(), a)
	}
	if wb.opts.Groups != nil {
		d.Groups = groupsHref(code)
	}
	if wb.opts.Reorg != nil {
		d.Import = "/admin/import"
	}
	for _, p := range a.tree.Path(code) {
		href := ""
		if a.inScope(p.Code) {
			href = unitHref(p.Code)
		}
		d.Path = append(d.Path, crumb{p.Code, p.Name, href})
	}
	for _, c := range a.tree.Children[code] {
		d.Sub = append(d.Sub, crumb{c, a.tree.Units[c].Name, unitHref(c)})
	}
	for _, acct := range accounts {
		ok, _, _ := a.mayManage(&acct)
		d.Accounts = append(d.Accounts, accountRow{Account: acct, Href: accountHref(acct.Address), CanManage: ok})
	}
	// Unit mailbox first, then people by address (as Accounts orders them).
	slices.SortStableFunc(d.Accounts, func(x, y accountRow) int {
		return boolRank(x.Role != directory.RoleUnit) - boolRank(y.Role != directory.RoleUnit)
	})
	wb.Render(w, http.StatusOK, tmpl["admin-unit"], wb.adminPage(a, "units", u.Name, "Unit", d))
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// target loads the account an admin page or action is about, checking
// that it is in the admin's scope. It writes the error page itself.
func (wb *room) target(w http.ResponseWriter, r *http.Request, a *adminCtx, address string) *directory.Account {
	address = strings.TrimSpace(address)
	if address == "" || len(address) > core.MaxLoginBytes {
		wb.Message(w, http.StatusBadRequest, "Thiếu địa chỉ tài khoản.", "No account address given.")
		return nil
	}
	acct, err := wb.Dir().Lookup(r.Context(), address)
	switch {
	case errors.Is(err, mailerr.ErrUnknownUser):
		wb.Message(w, http.StatusNotFound, "Không có tài khoản "+address+".", "No account "+address+".")
		return nil
	case err != nil:
		wb.Fail(w, "lookup", err)
		return nil
	case !a.inScope(acct.UnitCode):
		wb.Message(w, http.StatusForbidden, "Tài khoản này không thuộc đơn vị bạn quản lý.", "This account is not in a unit you manage.")
		return nil
	}
	return acct
}

type accountData struct {
	Account    *directory.Account
	UnitName   string
	UnitHref   string
	CanManage  bool
	WhyNot     string
	WhyNotEN   string
	IsUnitMail bool
	// LockReasons are the reasons offered by the lock form; Roles the
	// roles the admin may give (none: the role is not theirs to change).
	LockReasons []struct{ Value, VI, EN string }
	Roles       []roleOption
	// SendLocks is whether sending locks are known here; SendLock is the
	// account's (nil: it may send).
	SendLocks bool
	SendLock  *SendLock
	// Facts are the mailbox's quota use and last access (nil: unknown).
	Facts *Facts
	// TransferUnits are the units the account may be transferred to
	// (none: no transfer form).
	TransferUnits []crumb
}

func (wb *room) adminAccount(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	acct := wb.target(w, r, a, r.URL.Query().Get("address"))
	if acct == nil {
		return
	}
	d := accountData{Account: acct, UnitName: a.tree.Units[acct.UnitCode].Name, UnitHref: unitHref(acct.UnitCode),
		IsUnitMail: acct.Role == directory.RoleUnit, LockReasons: lockReasons}
	d.CanManage, d.WhyNot, d.WhyNotEN = a.mayManage(acct)
	if wb.opts.Reorg != nil && d.CanManage && acct.Role != directory.RoleUnit && acct.State != directory.StateRetired {
		for _, u := range unitChoices(a, "") {
			if u.Code != acct.UnitCode {
				d.TransferUnits = append(d.TransferUnits, u)
			}
		}
	}
	if acct.Role != directory.RoleUnit && slices.Contains(creatableRoles(a.Acct.Role), acct.Role) {
		for _, role := range creatableRoles(a.Acct.Role) {
			d.Roles = append(d.Roles, roleOption{Value: string(role), Name: core.RoleName(role), Selected: role == acct.Role})
		}
	}
	if wb.opts.SendLocks != nil {
		l, err := wb.opts.SendLocks.SendLock(r.Context(), acct.Address)
		if err != nil {
			wb.Fail(w, "send lock", err)
			return
		}
		d.SendLocks, d.SendLock = true, l
	}
	if wb.opts.Facts != nil && acct.Role != directory.RoleUnit {
		f, err := wb.opts.Facts.AccountFacts(r.Context(), acct)
		if err != nil {
			// The page is still useful without them.
			wb.Log.Warn("web: account facts", "address", acct.Address, "err", err)
		} else {
			d.Facts = &f
		}
	}
	title := acct.DisplayName
	if title == "" {
		title = acct.Address
	}
	wb.Render(w, http.StatusOK, tmpl["admin-account"], wb.adminPage(a, "units", title, "Account", d))
}

func (wb *room) adminFind(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	q := directory.NormalizeAddress(r.URL.Query().Get("q"))
	if !strings.Contains(q, "@") || strings.ContainsAny(q, " \t") {
		wb.adminSearch(w, r, a, r.URL.Query().Get("q"))
		return
	}
	http.Redirect(w, r, accountHref(q), http.StatusSeeOther)
}

// managed loads the target of an admin action and checks the admin may act
// on it. It writes the error page itself.
func (wb *room) managed(w http.ResponseWriter, r *http.Request, a *adminCtx) *directory.Account {
	acct := wb.target(w, r, a, r.PostFormValue("address"))
	if acct == nil {
		return nil
	}
	if ok, vi, en := a.mayManage(acct); !ok {
		wb.Log.Warn("web: admin action refused", "actor", a.Acct.Address, "target", acct.Address, "path", r.URL.Path)
		wb.Message(w, http.StatusForbidden, vi, en)
		return nil
	}
	return acct
}

type resetData struct {
	Account  *directory.Account
	Password string
	Back     string
}

// adminReset gives the account a new random initial password, shown once
// on this page (never logged, never stored in clear), and forces a change
// at the next web login. The holder's sessions end.
func (wb *room) adminReset(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	acct := wb.managed(w, r, a)
	if acct == nil {
		return
	}
	pw := demo.NewPasswordSource().Password(acct)
	if err := wb.Dir().SetPassword(r.Context(), acct.Address, pw, true); err != nil {
		wb.Fail(w, "password reset", err)
		return
	}
	ended := wb.EndSessions(acct.Address, nil)
	wb.record(r, a, acct.Address, auditReset, "cấp lại mật khẩu ban đầu / initial password reset")
	wb.Log.Info("web: admin reset password", "actor", a.Acct.Address, "target", acct.Address, "ip", core.ClientIP(r), "sessions_ended", ended)
	wb.Render(w, http.StatusOK, tmpl["admin-reset"], wb.adminPage(a, "units", "Cấp lại mật khẩu", "Password reset",
		resetData{Account: acct, Password: pw, Back: accountHref(acct.Address)}))
}

// adminState locks, unlocks or retires an account. Retiring needs the
// confirmation box; unlocking applies only to a locked account.
func (wb *room) adminState(s directory.State) func(http.ResponseWriter, *http.Request, *adminCtx) {
	return func(w http.ResponseWriter, r *http.Request, a *adminCtx) {
		acct := wb.managed(w, r, a)
		if acct == nil {
			return
		}
		var done, doneEN string
		reason := "web admin " + a.Acct.Address
		switch s {
		case directory.StateLocked:
			if acct.State != directory.StateActive {
				wb.Message(w, http.StatusConflict, "Chỉ khoá được tài khoản đang hoạt động.", "Only an active account can be locked.")
				return
			}
			why, ok := lockReason(r)
			if !ok {
				wb.Message(w, http.StatusBadRequest, "Hãy chọn lý do khoá tài khoản (ghi chú tối đa 300 ký tự).",
					"Choose why the account is locked (a note of at most 300 characters).")
				return
			}
			reason = why
			done, doneEN = "Đã khoá tài khoản "+acct.Address+". Tài khoản vẫn nhận thư nhưng không đăng nhập, không gửi thư được.",
				"Account "+acct.Address+" locked: it still receives mail but cannot sign in or send."
		case directory.StateActive:
			if acct.State != directory.StateLocked {
				wb.Message(w, http.StatusConflict, "Chỉ mở khoá được tài khoản đang bị khoá.", "Only a locked account can be unlocked.")
				return
			}
			done, doneEN = "Đã mở khoá tài khoản "+acct.Address+".", "Account "+acct.Address+" unlocked."
		case directory.StateRetired:
			if acct.State == directory.StateRetired {
				wb.Message(w, http.StatusConflict, "Tài khoản đã đóng từ trước.", "The account is already closed.")
				return
			}
			if r.PostFormValue("confirm") != "yes" {
				wb.Message(w, http.StatusBadRequest, "Hãy đánh dấu ô xác nhận trước khi đóng tài khoản.",
					"Tick the confirmation box before closing the account.")
				return
			}
			done, doneEN = "Đã đóng tài khoản "+acct.Address+": không gửi, không nhận thư nữa.",
				"Account "+acct.Address+" closed: it neither sends nor receives mail any more."
		}
		ctx := policy.WithAuditOrigin(r.Context(), policy.AuditOrigin{IP: core.ClientIP(r).String(), Protocol: policy.Web})
		if err := wb.setState(ctx, a.Acct.Address, acct.Address, s, reason); err != nil {
			wb.Fail(w, "state change", err)
			return
		}
		ended := 0
		if s != directory.StateActive {
			ended = wb.EndSessions(acct.Address, nil)
		}
		wb.Log.Info("web: admin state change", "actor", a.Acct.Address, "target", acct.Address, "state", s,
			"ip", core.ClientIP(r), "sessions_ended", ended)
		wb.SetFlash(a.Ctx, &core.Notice{Kind: "ok", VI: done, EN: doneEN})
		http.Redirect(w, r, accountHref(acct.Address), http.StatusSeeOther)
	}
}

// adminUnlockSending lifts the sending lock the policy engine set on an
// account that sent too much mail outside.
func (wb *room) adminUnlockSending(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	if wb.opts.SendLocks == nil {
		wb.Message(w, http.StatusNotFound, "Máy chủ này không khoá gửi thư.", "This server has no sending locks.")
		return
	}
	acct := wb.managed(w, r, a)
	if acct == nil {
		return
	}
	l, err := wb.opts.SendLocks.SendLock(r.Context(), acct.Address)
	if err != nil {
		wb.Fail(w, "send lock", err)
		return
	}
	if l == nil {
		wb.Message(w, http.StatusConflict, "Tài khoản này không bị khoá gửi thư.", "This account's sending is not locked.")
		return
	}
	ctx := policy.WithAuditOrigin(r.Context(), policy.AuditOrigin{IP: core.ClientIP(r).String(), Protocol: policy.Web})
	if err := wb.opts.SendLocks.UnlockSending(ctx, a.Acct.Address, acct.Address, "web admin "+a.Acct.Address); err != nil {
		wb.Fail(w, "unlock sending", err)
		return
	}
	wb.Log.Info("web: admin lifted sending lock", "actor", a.Acct.Address, "target", acct.Address, "ip", core.ClientIP(r))
	wb.SetFlash(a.Ctx, &core.Notice{Kind: "ok", VI: "Đã mở khoá gửi thư cho " + acct.Address + ".", EN: "Sending unlocked for " + acct.Address + "."})
	http.Redirect(w, r, accountHref(acct.Address), http.StatusSeeOther)
}

// creatableRoles are the roles an admin may give a new account.
func creatableRoles(actor directory.Role) []directory.Role {
	if actor == directory.RoleOperator {
		return []directory.Role{directory.RoleOfficial, directory.RoleClerk, directory.RoleAdmin}
	}
	return []directory.Role{directory.RoleOfficial, directory.RoleClerk}
}

type roleOption struct {
	Value, Name string
	Selected    bool
}

type newData struct {
	Unit                   directory.Unit
	Back                   string
	FullName, Title, Phone string
	Roles                  []roleOption
}

const maxNameRunes = 120

func (wb *room) newPage(w http.ResponseWriter, a *adminCtx, status int, d newData, n *core.Notice) {
	role := ""
	for _, o := range d.Roles {
		if o.Selected {
			role = o.Value
		}
	}
	d.Roles = nil
	for _, r := range creatableRoles(a.Acct.Role) {
		d.Roles = append(d.Roles, roleOption{string(r), core.RoleName(r), string(r) == role})
	}
	p := wb.adminPage(a, "units", "Thêm tài khoản", "New account", d)
	if n != nil {
		p.Notice = n
	}
	wb.Render(w, status, tmpl["admin-new"], p)
}

// newUnit reads and checks the unit of the new-account form.
func (wb *room) newUnit(w http.ResponseWriter, a *adminCtx, code string) (directory.Unit, bool) {
	u, ok := a.tree.Units[code]
	if !ok {
		wb.Message(w, http.StatusNotFound, "Không có đơn vị này trong danh bạ.", "No such unit in the directory.")
		return u, false
	}
	if !a.inScope(code) {
		wb.Message(w, http.StatusForbidden, "Đơn vị này không thuộc phạm vi bạn quản lý.", "This unit is not one you manage.")
		return u, false
	}
	return u, true
}

func (wb *room) adminNewForm(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	u, ok := wb.newUnit(w, a, r.URL.Query().Get("unit"))
	if !ok {
		return
	}
	wb.newPage(w, a, http.StatusOK, newData{Unit: u, Back: unitHref(u.Code)}, nil)
}

type createdData struct {
	Entry      importer.Entry
	Role       string
	UnitName   string
	Back, View string
	Renamed    string // the plain form of the convention, when taken
}

// adminNewSubmit creates an account by the address convention of
// directory/importer (given name + initials . agency, numbered when
// taken), with a random initial password shown once and a forced change at
// first login.
func (wb *room) adminNewSubmit(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	u, ok := wb.newUnit(w, a, r.PostFormValue("unit"))
	if !ok {
		return
	}
	d := newData{Unit: u, Back: unitHref(u.Code), FullName: strings.Join(strings.Fields(r.PostFormValue("full_name")), " "),
		Title: strings.TrimSpace(r.PostFormValue("title")), Phone: strings.TrimSpace(r.PostFormValue("phone"))}
	role := directory.Role(r.PostFormValue("role"))
	d.Roles = []roleOption{{Value: string(role), Selected: true}}
	bad := func(vi, en string) {
		wb.newPage(w, a, http.StatusUnprocessableEntity, d, &core.Notice{Kind: "error", VI: vi, EN: en})
	}
	switch {
	case d.FullName == "":
		bad("Vui lòng nhập họ và tên.", "Enter the full name.")
		return
	case utf8.RuneCountInString(d.FullName) > maxNameRunes || utf8.RuneCountInString(d.Title) > 200 || len(d.Phone) > 40:
		bad("Họ tên, chức vụ hoặc số điện thoại quá dài.", "Name, title or phone is too long.")
		return
	case !slices.Contains(creatableRoles(a.Acct.Role), role):
		bad("Vai trò không hợp lệ.", "Invalid role.")
		return
	}
	rep, err := importer.Import(r.Context(), wb.Dir(), []importer.Row{{FullName: d.FullName, Unit: u.Code, Title: d.Title, Phone: d.Phone}},
		importer.Options{Domain: wb.domainFor(u, a.Acct), NewPeople: true})
	if err != nil {
		wb.Fail(w, "account creation", err)
		return
	}
	if len(rep.Created) != 1 {
		reason := "không tạo được tài khoản"
		if len(rep.Skipped) > 0 {
			reason = rep.Skipped[0].Reason
		}
		bad("Không tạo được tài khoản: "+reason+".", "The account could not be created.")
		return
	}
	e := rep.Created[0]
	if role != directory.RoleOfficial {
		acct, err := wb.Dir().Lookup(r.Context(), e.Address)
		if err == nil {
			acct.Role = role
			err = wb.Dir().PutAccount(r.Context(), *acct, "")
		}
		if err != nil {
			wb.Fail(w, "account role", err)
			return
		}
	}
	wb.record(r, a, e.Address, auditCreate, fmt.Sprintf("%s, %s (%s), %s", e.FullName, u.Name, u.Code, role))
	wb.Log.Info("web: admin created account", "actor", a.Acct.Address, "address", e.Address, "unit", u.Code, "role", role, "ip", core.ClientIP(r))
	cd := createdData{Entry: e, Role: core.RoleName(role), UnitName: u.Name, Back: unitHref(u.Code), View: accountHref(e.Address)}
	if len(rep.Collisions) > 0 {
		cd.Renamed = rep.Collisions[0].Wanted
	}
	wb.Render(w, http.StatusOK, tmpl["admin-created"], wb.adminPage(a, "units", "Đã tạo tài khoản", "Account created", cd))
}

// domainFor is the mail domain of new accounts of unit u: the domain of
// its shared mailbox when that is local, else the first local domain, else
// the administrator's.
func (wb *room) domainFor(u directory.Unit, actor *directory.Account) string {
	if d := directory.Domain(u.Address); d != "" && slices.Contains(wb.opts.Domains, d) {
		return d
	}
	if len(wb.opts.Domains) > 0 {
		return wb.opts.Domains[0]
	}
	return directory.Domain(actor.Address)
}

// setState changes an account's state on behalf of actor, through the
// audited policy path when there is one.
func (wb *room) setState(ctx context.Context, actor, address string, s directory.State, reason string) error {
	if wb.opts.States != nil {
		return wb.opts.States.SetAccountState(ctx, actor, address, s, reason)
	}
	return wb.Dir().SetStateReason(ctx, address, s, reason)
}

// crumb is a link in the unit path or the sub-unit list.
type crumb struct{ Code, Name, Href string }
