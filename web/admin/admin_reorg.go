package admin

// Reorganisation in the admin web (issue 14): unit rename, move and
// merge and domain aliases for the provincial operators, an official's
// transfer from the account page for unit administrators within their
// scope. Every operation is the reorg service's (the code of `congvu unit
// …`, `congvu domain alias …` and `congvu account move`), shown first as
// a confirmation page listing what will change (reorg.Service.Preview),
// then run with the administrator's IP in its audit entry.

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"congvu/directory"
	"congvu/directory/orgdb"
	"congvu/internal/mailerr"
	"congvu/policy"
	"congvu/reorg"
	"congvu/web/core"
)

// Reorganiser is the reorganisation service (reorg.Service). A nil
// Reorganiser hides the reorganisation, transfer and import pages.
type Reorganiser interface {
	Preview(ctx context.Context, kind string, a reorg.Args) (*reorg.Result, error)
	Run(ctx context.Context, kind, actor string, a reorg.Args) (*reorg.Result, error)
}

// OrgRecords are the organisation store's records the pages show and the
// import keeps (orgdb.DB).
type OrgRecords interface {
	DomainAliases(ctx context.Context) ([]orgdb.DomainAlias, error)
	TrafficSince(ctx context.Context, since time.Time) ([]orgdb.Traffic, error)
	PersonKeys(ctx context.Context) (map[string]string, error)
	SetPersonKey(ctx context.Context, key, address string) error
	SetHeadcount(ctx context.Context, code string, n int, actor string) error
}

// trafficDays is the period of the old-address traffic shown, as
// `congvu domain alias list` by default.
const trafficDays = 30

func (wb *room) registerReorg() {
	m := wb.Site
	m.HandleFunc("GET /admin/reorg", wb.admin(wb.provincial(wb.withReorg(wb.reorgHome))))
	m.HandleFunc("POST /admin/reorg/preview", wb.admin(wb.provincial(wb.withReorg(wb.reorgPreview))))
	m.HandleFunc("POST /admin/reorg/run", wb.admin(wb.provincial(wb.withReorg(wb.reorgRun))))
	m.HandleFunc("POST /admin/transfer/preview", wb.admin(wb.withReorg(wb.transferPreview)))
	m.HandleFunc("POST /admin/transfer", wb.admin(wb.withReorg(wb.transferRun)))
	m.HandleFunc("GET /admin/import", wb.admin(wb.withReorg(wb.importForm)))
	m.HandleFunc("POST /admin/import/preview", wb.admin(wb.withReorg(wb.importPreview)))
	m.HandleFunc("POST /admin/import", wb.admin(wb.withReorg(wb.importRun)))
}

// provincial refuses the operations on units and domains to unit
// administrators: merges, moves, renames and aliases are the province's.
func (wb *room) provincial(h func(http.ResponseWriter, *http.Request, *adminCtx)) func(http.ResponseWriter, *http.Request, *adminCtx) {
	return func(w http.ResponseWriter, r *http.Request, a *adminCtx) {
		if a.Acct.Role != directory.RoleOperator {
			wb.Log.Warn("web: reorganisation refused", "address", a.Acct.Address, "path", r.URL.Path, "ip", core.ClientIP(r))
			wb.Message(w, http.StatusForbidden, "Chỉ quản trị hệ thống cấp tỉnh mới sáp nhập, chuyển, đổi tên đơn vị và thêm bí danh tên miền.",
				"Only provincial operators merge, move or rename units and manage domain aliases.")
			return
		}
		h(w, r, a)
	}
}

func (wb *room) withReorg(h func(http.ResponseWriter, *http.Request, *adminCtx)) func(http.ResponseWriter, *http.Request, *adminCtx) {
	return func(w http.ResponseWriter, r *http.Request, a *adminCtx) {
		if wb.opts.Reorg == nil {
			wb.Message(w, http.StatusNotFound, "Máy chủ này không thực hiện sắp xếp tổ chức qua web.", "This server does no reorganisation in the web.")
			return
		}
		h(w, r, a)
	}
}

// auditCtx carries the administrator's IP to the service's audit entries.
func auditCtx(r *http.Request) context.Context {
	return policy.WithAuditOrigin(r.Context(), policy.AuditOrigin{IP: core.ClientIP(r).String(), Protocol: policy.Web})
}

type aliasRow struct {
	orgdb.DomainAlias
	Messages int64
}

type reorgHomeData struct {
	Units   []crumb // every unit, indented
	Aliases []aliasRow
	Traffic []orgdb.Traffic
	Days    int
}

// reorgHome offers the operations on units and lists the domain aliases
// with the mail still arriving at old addresses.
func (wb *room) reorgHome(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	d := reorgHomeData{Units: unitChoices(a, ""), Days: trafficDays}
	if wb.opts.Org != nil {
		aliases, err := wb.opts.Org.DomainAliases(r.Context())
		if err != nil {
			wb.Fail(w, "domain aliases", err)
			return
		}
		if d.Traffic, err = wb.opts.Org.TrafficSince(r.Context(), time.Now().AddDate(0, 0, -trafficDays)); err != nil {
			wb.Fail(w, "alias traffic", err)
			return
		}
		byDomain := map[string]int64{}
		for _, t := range d.Traffic {
			byDomain[directory.Domain(t.Address)] += t.Messages
		}
		for _, x := range aliases {
			d.Aliases = append(d.Aliases, aliasRow{DomainAlias: x, Messages: byDomain[x.Old]})
		}
	}
	wb.Render(w, http.StatusOK, tmpl["admin-reorg"], wb.adminPage(a, "reorg", "Sắp xếp tổ chức", "Reorganisation", d))
}

// unitChoices are the units of a's scope for a select, indented, but
// skip's subtree.
func unitChoices(a *adminCtx, skip string) []crumb {
	var out []crumb
	a.tree.Walk("", func(u directory.Unit, depth int) {
		if a.inScope(u.Code) && u.Code != skip {
			out = append(out, crumb{u.Code, strings.Repeat("· ", depth) + u.Name, ""})
		}
	})
	return out
}

// readArgs reads an operation from a form (the operation forms and the
// confirmation page's hidden fields use the same names).
func readArgs(r *http.Request) (string, reorg.Args) {
	f := func(k string) string { return strings.Join(strings.Fields(r.PostFormValue(k)), " ") }
	return f("op"), reorg.Args{Address: directory.NormalizeAddress(f("address")), Unit: f("unit"), Reason: f("reason"),
		From: f("from"), Into: f("into"), Name: f("name"), Abbr: f("abbr"), Parent: f("parent"), Kind: f("unit_kind"),
		Old: f("old"), New: f("new"), Plan: f("plan")}
}

// opNames are the operations as the confirmation page titles them.
var opNames = map[string][2]string{
	reorg.KindRenameUnit:        {"Đổi tên đơn vị", "Rename a unit"},
	reorg.KindMoveUnit:          {"Chuyển đơn vị sang đơn vị cấp trên khác", "Move a unit"},
	reorg.KindMergeUnits:        {"Sáp nhập đơn vị", "Merge units"},
	reorg.KindDomainAliasAdd:    {"Thêm bí danh tên miền", "Add a domain alias"},
	reorg.KindDomainAliasRemove: {"Bỏ bí danh tên miền", "Remove a domain alias"},
	reorg.KindMoveAccount:       {"Chuyển công tác", "Transfer an official"},
}

// checkUnits refuses, in Vietnamese, an operation naming a unit that does
// not exist or a pair that cannot work, before the service is asked.
func (wb *room) checkUnits(w http.ResponseWriter, a *adminCtx, op string, args reorg.Args) bool {
	need := map[string][]string{reorg.KindRenameUnit: {args.Unit}, reorg.KindMoveUnit: {args.Unit, args.Parent},
		reorg.KindMergeUnits: {args.From, args.Into}, reorg.KindMoveAccount: {args.Unit}}
	list, ok := need[op]
	if !ok && op != reorg.KindDomainAliasAdd && op != reorg.KindDomainAliasRemove {
		wb.Message(w, http.StatusBadRequest, "Không rõ thao tác cần thực hiện.", "Unknown operation.")
		return false
	}
	for _, code := range list {
		if _, ok := a.tree.Units[code]; !ok {
			if code == "" {
				wb.Message(w, http.StatusUnprocessableEntity, "Hãy chọn đơn vị.", "Choose a unit.")
			} else {
				wb.Message(w, http.StatusUnprocessableEntity, "Không có đơn vị “"+code+"” trong danh bạ (đơn vị đích không tồn tại).",
					"No unit "+code+" in the directory.")
			}
			return false
		}
	}
	switch {
	case op == reorg.KindMergeUnits && (args.From == args.Into || a.tree.SubtreeSet(args.From)[args.Into]):
		wb.Message(w, http.StatusUnprocessableEntity, "Không sáp nhập được một đơn vị vào chính nó hay vào đơn vị trực thuộc nó.",
			"A unit cannot merge into itself or into one of its sub-units.")
		return false
	case op == reorg.KindMoveUnit && a.tree.SubtreeSet(args.Unit)[args.Parent]:
		wb.Message(w, http.StatusUnprocessableEntity, "Không chuyển được một đơn vị vào dưới chính nó hay đơn vị trực thuộc nó.",
			"A unit cannot move under itself or one of its sub-units.")
		return false
	case op == reorg.KindRenameUnit && args.Name == "" && args.Abbr == "":
		wb.Message(w, http.StatusUnprocessableEntity, "Hãy nhập tên mới hoặc chữ viết tắt mới của đơn vị.", "Give a new name or abbreviation.")
		return false
	case (op == reorg.KindDomainAliasAdd && (args.Old == "" || args.New == "")) || (op == reorg.KindDomainAliasRemove && args.Old == ""):
		wb.Message(w, http.StatusUnprocessableEntity, "Hãy nhập tên miền cũ và tên miền mới.", "Give the old and the new domain.")
		return false
	}
	return true
}

// refuseReorg shows the service's refusal with its detail.
func (wb *room) refuseReorg(w http.ResponseWriter, what string, err error) {
	if me := mailerr.As(err); me != nil && !me.Temporary {
		vi := me.MessageVI
		if me.Err != nil {
			vi += " (" + me.Err.Error() + ")"
		}
		wb.Message(w, me.HTTP(), vi, me.Message)
		return
	}
	wb.Fail(w, what, err)
}

type changeRow struct {
	reorg.Change
	OldUnitName, NewUnitName string
}

type confirmData struct {
	Op, OpName, OpNameEN string
	Args                 reorg.Args
	Summary              []string
	Changes              []changeRow
	Notes                []string
	Months               int
	Action, Back         string
	Done                 bool
}

func (wb *room) confirmPage(a *adminCtx, op string, args reorg.Args, res *reorg.Result, action, back string, done bool) *core.Page {
	names := opNames[op]
	// The confirmation runs the plan shown, or is refused if it changed.
	args.Plan = res.Plan
	d := confirmData{Op: op, OpName: names[0], OpNameEN: names[1], Args: args, Notes: res.Notes, Months: wb.months(),
		Action: action, Back: back, Done: done}
	name := func(code string) string {
		if u, ok := a.tree.Units[code]; ok {
			return u.Name
		}
		return code
	}
	switch op {
	case reorg.KindRenameUnit:
		d.Summary = append(d.Summary, fmt.Sprintf("Đơn vị: %s (%s)", name(args.Unit), args.Unit))
		if args.Name != "" {
			d.Summary = append(d.Summary, "Tên mới: "+args.Name)
		}
		if args.Abbr != "" {
			d.Summary = append(d.Summary, "Chữ viết tắt trong địa chỉ mới: "+strings.ToLower(args.Abbr))
		}
	case reorg.KindMoveUnit:
		d.Summary = append(d.Summary, fmt.Sprintf("Đơn vị: %s (%s)", name(args.Unit), args.Unit),
			fmt.Sprintf("Đơn vị cấp trên mới: %s (%s)", name(args.Parent), args.Parent))
	case reorg.KindMergeUnits:
		d.Summary = append(d.Summary, fmt.Sprintf("Sáp nhập %s (%s) vào %s (%s); %s không còn trong danh bạ.",
			name(args.From), args.From, name(args.Into), args.Into, name(args.From)))
		for _, c := range a.tree.Children[args.From] {
			d.Summary = append(d.Summary, fmt.Sprintf("Đơn vị trực thuộc chuyển về %s: %s", name(args.Into), name(c)))
		}
	case reorg.KindDomainAliasAdd:
		d.Summary = append(d.Summary, fmt.Sprintf("Thư gửi *@%s sẽ được chuyển đến *@%s; tài khoản @%s chuyển sang @%s.",
			args.Old, args.New, args.Old, args.New))
	case reorg.KindMoveAccount:
		d.Summary = append(d.Summary, fmt.Sprintf("Chuyển %s sang %s; giữ nguyên hộp thư, mật khẩu và thư cũ.", args.Address, name(args.Unit)))
	}
	for _, c := range res.Changes {
		d.Changes = append(d.Changes, changeRow{Change: c, OldUnitName: name(c.OldUnit), NewUnitName: name(c.NewUnit)})
	}
	title := names[0]
	if done {
		title = "Đã thực hiện — " + names[0]
	}
	return wb.adminPage(a, "reorg", title, names[1], d)
}

func (wb *room) months() int {
	if wb.opts.TransitionalMonths > 0 {
		return wb.opts.TransitionalMonths
	}
	return 12
}

// reorgPreview shows what an operation on units or domains would change.
func (wb *room) reorgPreview(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	op, args := readArgs(r)
	if op == reorg.KindMoveAccount || !wb.checkUnits(w, a, op, args) {
		if op == reorg.KindMoveAccount {
			wb.Message(w, http.StatusBadRequest, "Chuyển công tác được thực hiện từ trang tài khoản.", "Transfers are made from the account page.")
		}
		return
	}
	res, err := wb.opts.Reorg.Preview(r.Context(), op, args)
	if err != nil {
		wb.refuseReorg(w, "reorg preview", err)
		return
	}
	wb.Render(w, http.StatusOK, tmpl["admin-reorg-confirm"], wb.confirmPage(a, op, args, res, "/admin/reorg/run", "/admin/reorg", false))
}

// reorgRun carries out a confirmed operation on units or domains.
func (wb *room) reorgRun(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	op, args := readArgs(r)
	if op == reorg.KindMoveAccount || !wb.checkUnits(w, a, op, args) {
		if op == reorg.KindMoveAccount {
			wb.Message(w, http.StatusBadRequest, "Chuyển công tác được thực hiện từ trang tài khoản.", "Transfers are made from the account page.")
		}
		return
	}
	res, err := wb.opts.Reorg.Run(auditCtx(r), op, a.Acct.Address, args)
	if err != nil {
		wb.Log.Warn("web: reorganisation failed", "op", op, "actor", a.Acct.Address, "ip", core.ClientIP(r), "err", err)
		wb.refuseReorg(w, "reorganisation", err)
		return
	}
	wb.Log.Info("web: reorganisation", "op", op, "actor", a.Acct.Address, "ip", core.ClientIP(r), "changes", len(res.Changes))
	// The page shows the tree as it is now.
	units, err := wb.Dir().Units(r.Context())
	if err == nil {
		a.tree = directory.NewTree(append(units, removedUnit(a.tree, op, args)...))
	}
	p := wb.confirmPage(a, op, args, res, "", "/admin/reorg", true)
	p.Notice = &core.Notice{Kind: "ok", VI: "Đã thực hiện.", EN: "Done."}
	wb.Render(w, http.StatusOK, tmpl["admin-reorg-confirm"], p)
}

// removedUnit keeps the merged unit's name for the result page.
func removedUnit(t *directory.Tree, op string, args reorg.Args) []directory.Unit {
	if u, ok := t.Units[args.From]; ok && op == reorg.KindMergeUnits {
		u.ParentCode = ""
		return []directory.Unit{u}
	}
	return nil
}

// transferTarget checks a transfer: an account the admin manages (not a
// unit mailbox) going to another unit in their scope.
func (wb *room) transferTarget(w http.ResponseWriter, r *http.Request, a *adminCtx) (*directory.Account, reorg.Args, bool) {
	acct := wb.managed(w, r, a)
	if acct == nil {
		return nil, reorg.Args{}, false
	}
	_, args := readArgs(r)
	args.Address = acct.Address
	if args.Reason == "" {
		args.Reason = "điều động / transfer"
	}
	switch {
	case acct.Role == directory.RoleUnit:
		wb.Message(w, http.StatusBadRequest, "Hộp thư đơn vị chuyển theo đơn vị (sáp nhập, chuyển đơn vị), không chuyển riêng.",
			"A unit mailbox moves with its unit.")
		return nil, args, false
	case !wb.checkUnits(w, a, reorg.KindMoveAccount, args):
		return nil, args, false
	case !a.inScope(args.Unit):
		wb.Message(w, http.StatusForbidden, "Đơn vị chuyển đến không thuộc phạm vi bạn quản lý; hãy gửi đề nghị chuyển đơn vị cho quản trị hệ thống.",
			"The target unit is not one you manage; file a transfer request.")
		return nil, args, false
	case args.Unit == acct.UnitCode:
		wb.Message(w, http.StatusUnprocessableEntity, "Tài khoản đã thuộc đơn vị này.", "The account is already in this unit.")
		return nil, args, false
	}
	return acct, args, true
}

func (wb *room) transferPreview(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	acct, args, ok := wb.transferTarget(w, r, a)
	if !ok {
		return
	}
	res, err := wb.opts.Reorg.Preview(r.Context(), reorg.KindMoveAccount, args)
	if err != nil {
		wb.refuseReorg(w, "transfer preview", err)
		return
	}
	wb.Render(w, http.StatusOK, tmpl["admin-reorg-confirm"], wb.confirmPage(a, reorg.KindMoveAccount, args, res,
		"/admin/transfer", accountHref(acct.Address), false))
}

func (wb *room) transferRun(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	_, args, ok := wb.transferTarget(w, r, a)
	if !ok {
		return
	}
	res, err := wb.opts.Reorg.Run(auditCtx(r), reorg.KindMoveAccount, a.Acct.Address, args)
	if err != nil {
		wb.refuseReorg(w, "transfer", err)
		return
	}
	wb.Log.Info("web: transfer", "actor", a.Acct.Address, "address", args.Address, "unit", args.Unit, "ip", core.ClientIP(r))
	to := args.Address
	if len(res.Changes) == 1 {
		to = res.Changes[0].NewAddress
	}
	wb.SetFlash(a.Ctx, &core.Notice{Kind: "ok", VI: fmt.Sprintf("Đã chuyển %s sang %s; địa chỉ mới %s, địa chỉ cũ vẫn nhận thư trong %d tháng.",
		args.Address, a.tree.Units[args.Unit].Name, to, wb.months()), EN: "Transferred."})
	http.Redirect(w, r, accountHref(to), http.StatusSeeOther)
}
