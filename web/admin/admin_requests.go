package admin

// Provisioning requests (issue 14, the 3-working-day rule): unit
// administrators file requests for new accounts (a form or a CSV/XLSX
// file, previewed with the addresses the convention gives), changes and
// locks; provincial operators approve or reject them with a reason. The
// work is package provision's; these are its pages.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"congvu/directory"
	"congvu/directory/importer"
	"congvu/directory/orgdb"
	"congvu/internal/mailerr"
	"congvu/policy"
	"congvu/provision"
	"congvu/web/core"
)

// Requests are the provisioning requests (provision.Service). A nil
// Requests hides the pages.
type Requests interface {
	Preview(ctx context.Context, unitCode string, rows []importer.Row) (*importer.Report, error)
	File(ctx context.Context, by provision.Actor, d provision.Draft, inScope func(string) bool) (int64, error)
	Get(ctx context.Context, id int64) (*provision.Request, error)
	List(ctx context.Context, q orgdb.RequestQuery) ([]provision.Request, error)
	Overdue(ctx context.Context, units []string) ([]provision.Request, error)
	Approve(ctx context.Context, by provision.Actor, id int64) (*provision.Outcome, error)
	Reject(ctx context.Context, by provision.Actor, id int64, reason string) error
	TakePasswords(ctx context.Context, by provision.Actor, id int64) (string, bool, error)
	Calendar() *provision.Calendar
}

// formRows is how many people the new-accounts form offers at once
// (more come from a file).
const formRows = 5

// maxUploadBytes bounds an uploaded list (the importer's XLSX limit).
const maxUploadBytes = 20 << 20

// errUploadTooLarge: an uploaded list over maxUploadBytes.
var errUploadTooLarge = errors.New("upload too large")

// readUploadPart reads one uploaded list, at most maxUploadBytes (imports
// and provisioning requests).
func readUploadPart(p io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(p, maxUploadBytes+1))
	if err == nil && len(data) > maxUploadBytes {
		err = errUploadTooLarge
	}
	return data, err
}

func (wb *room) registerRequests() {
	m := wb.Site
	m.HandleFunc("GET /admin/requests", wb.withRequests(wb.requestList))
	m.HandleFunc("GET /admin/requests/new", wb.withRequests(wb.requestNewForm))
	m.HandleFunc("POST /admin/requests/preview", wb.withRequests(wb.requestPreview))
	m.HandleFunc("POST /admin/requests/file", wb.withRequests(wb.requestFile))
	m.HandleFunc("GET /admin/requests/{id}", wb.withRequests(wb.requestShow))
	m.HandleFunc("POST /admin/requests/{id}/approve", wb.withRequests(wb.requestApprove))
	m.HandleFunc("POST /admin/requests/{id}/reject", wb.withRequests(wb.requestReject))
	m.HandleFunc("POST /admin/requests/{id}/passwords", wb.withRequests(wb.requestPasswords))
}

func (wb *room) withRequests(h func(http.ResponseWriter, *http.Request, *adminCtx)) http.HandlerFunc {
	return wb.admin(func(w http.ResponseWriter, r *http.Request, a *adminCtx) {
		if wb.opts.Requests == nil {
			wb.Message(w, http.StatusNotFound, "Máy chủ này không nhận đề nghị cấp tài khoản.", "This server takes no provisioning requests.")
			return
		}
		h(w, r, a)
	})
}

func requestHref(id int64) string { return "/admin/requests/" + strconv.FormatInt(id, 10) }

// actor is the administrator of a, as the requests record them.
func actor(r *http.Request, a *adminCtx) provision.Actor {
	return provision.Actor{Address: a.Acct.Address, IP: core.ClientIP(r).String(), Protocol: policy.Web,
		Operator: a.Acct.Role == directory.RoleOperator}
}

// scopeUnits are the units whose requests a sees (nil: all).
func (a *adminCtx) scopeUnits() []string {
	if a.scope == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(a.scope))
}

// refuse shows err to the administrator: its Vietnamese text for a
// refusal, a generic failure otherwise.
func (wb *room) refuse(w http.ResponseWriter, what string, err error) {
	if me := mailerr.As(err); me != nil && !me.Temporary {
		wb.Message(w, me.HTTP(), me.MessageVI, me.Message)
		return
	}
	wb.Fail(w, what, err)
}

// requestRow is a request in a list.
type requestRow struct {
	provision.Request
	Href, UnitName, Kind, State string
	DueDay                      time.Time
	Overdue                     bool
	DaysLeft                    int
}

var kindNames = map[string]string{
	provision.KindNew: "Cấp tài khoản mới", provision.KindEdit: "Sửa thông tin",
	provision.KindTransfer: "Chuyển đơn vị", provision.KindLock: "Khoá tài khoản (nghỉ việc, chuyển công tác)",
}

var requestStateNames = map[string]string{
	orgdb.RequestPending: "Chờ duyệt", orgdb.RequestExecuting: "Đang thực hiện", orgdb.RequestApproved: "Đã duyệt, đã thực hiện",
	orgdb.RequestRejected: "Bị từ chối", orgdb.RequestFailed: "Đã duyệt, thực hiện lỗi",
}

func (wb *room) row(a *adminCtx, req provision.Request, now time.Time) requestRow {
	cal := wb.opts.Requests.Calendar()
	return requestRow{Request: req, Href: requestHref(req.ID), UnitName: a.tree.Units[req.UnitCode].Name,
		Kind: kindNames[req.Kind], State: requestStateNames[req.State], DueDay: req.Due.Add(-time.Second),
		Overdue: req.Overdue(now), DaysLeft: cal.WorkingDaysLeft(now, req.Due)}
}

type requestListData struct {
	Pending, Decided []requestRow
	Overdue          int
	NewHref          string
}

func (wb *room) requestList(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	list, err := wb.opts.Requests.List(r.Context(), orgdb.RequestQuery{Units: a.scopeUnits(), Limit: 300})
	if err != nil {
		wb.Fail(w, "requests", err)
		return
	}
	now := time.Now()
	d := requestListData{}
	if roots := a.scopeRoots(); len(roots) > 0 {
		d.NewHref = "/admin/requests/new?unit=" + url.QueryEscape(roots[0])
	}
	for _, req := range list {
		row := wb.row(a, req, now)
		if req.State == orgdb.RequestPending {
			d.Pending = append(d.Pending, row)
			if row.Overdue {
				d.Overdue++
			}
		} else {
			d.Decided = append(d.Decided, row)
		}
	}
	wb.Render(w, http.StatusOK, tmpl["admin-requests"], wb.adminPage(a, "requests", "Đề nghị cấp tài khoản", "Provisioning requests", d))
}

// overdueCount is how many of a's requests are overdue (0 without
// requests or on error: the banner is a hint, the list is the truth).
func (wb *room) overdueCount(ctx context.Context, a *adminCtx) int {
	if wb.opts.Requests == nil {
		return 0
	}
	od, err := wb.opts.Requests.Overdue(ctx, a.scopeUnits())
	if err != nil {
		wb.Log.Warn("web: overdue requests", "err", err)
		return 0
	}
	return len(od)
}

type formPerson struct {
	N                      int
	FullName, Title, Phone string
}

type requestNewData struct {
	Unit   directory.Unit
	Units  []crumb // the units in scope, for the change form's transfer target
	People []formPerson
	Back   string
}

func (wb *room) requestNewForm(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	u, ok := wb.newUnit(w, a, r.URL.Query().Get("unit"))
	if !ok {
		return
	}
	wb.renderNew(w, a, http.StatusOK, u, nil, nil)
}

func (wb *room) renderNew(w http.ResponseWriter, a *adminCtx, status int, u directory.Unit, people []formPerson, n *core.Notice) {
	d := requestNewData{Unit: u, Back: unitHref(u.Code)}
	for i := range formRows {
		p := formPerson{N: i}
		if i < len(people) {
			p = people[i]
			p.N = i
		}
		d.People = append(d.People, p)
	}
	a.tree.Walk("", func(x directory.Unit, depth int) {
		d.Units = append(d.Units, crumb{x.Code, strings.Repeat("· ", depth) + x.Name, ""})
	})
	p := wb.adminPage(a, "requests", "Đề nghị mới", "New request", d)
	if n != nil {
		p.Notice = n
	}
	wb.Render(w, status, tmpl["admin-request-new"], p)
}

// readNewAccounts reads the new-accounts form (multipart, after its CSRF
// token): the unit, the people typed in and an optional CSV/XLSX file.
func readNewAccounts(r *http.Request) (unit string, people []formPerson, rows []importer.Row, fileRows int, fileErr error, err error) {
	mr := core.Multipart(r)
	if mr == nil {
		return "", nil, nil, 0, nil, errors.New("not a multipart form")
	}
	fields := map[string]string{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", nil, nil, 0, nil, err
		}
		name := p.FormName()
		if name == "file" {
			if p.FileName() == "" {
				continue
			}
			data, err := readUploadPart(p)
			if errors.Is(err, errUploadTooLarge) {
				return "", nil, nil, 0, fmt.Errorf("tệp quá lớn (tối đa %d MiB)", maxUploadBytes>>20), nil
			}
			if err != nil {
				return "", nil, nil, 0, nil, err
			}
			if len(data) == 0 {
				continue
			}
			rows, fileErr = importer.ReadList(p.FileName(), bytes.NewReader(data))
			fileRows = len(rows)
			continue
		}
		v, err := io.ReadAll(io.LimitReader(p, 4096))
		if err != nil {
			return "", nil, nil, 0, nil, err
		}
		if len(fields) < 64 {
			fields[name] = string(v)
		}
	}
	unit = fields["unit"]
	for i := range formRows {
		fp := formPerson{N: i, FullName: collapse(fields[fmt.Sprintf("name_%d", i)]),
			Title: collapse(fields[fmt.Sprintf("title_%d", i)]), Phone: collapse(fields[fmt.Sprintf("phone_%d", i)])}
		people = append(people, fp)
		if fp.FullName != "" {
			// Line: the form's row, as the preview shows it.
			rows = append(rows, importer.Row{Line: i + 1, FullName: fp.FullName, Unit: unit, Title: fp.Title, Phone: fp.Phone})
		}
	}
	return unit, people, rows, fileRows, fileErr, nil
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

type previewData struct {
	Unit       directory.Unit
	Report     *importer.Report
	UnitNames  map[string]string
	Rows       string // JSON of the rows, filed as they are
	Back       string
	Collisions map[string]string // assigned → wanted
}

// requestPreview shows what a new-accounts request would create now:
// the addresses, the collisions with taken ones and the rows that cannot
// be taken. Nothing is filed yet.
func (wb *room) requestPreview(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadBytes+1<<20)
	code, people, rows, fileRows, fileErr, err := readNewAccounts(r)
	if err != nil {
		wb.Message(w, http.StatusBadRequest, "Không đọc được biểu mẫu (tệp quá lớn hoặc bị hỏng).", "The form could not be read.")
		return
	}
	u, ok := wb.newUnit(w, a, code)
	if !ok {
		return
	}
	bad := func(vi, en string) {
		wb.renderNew(w, a, http.StatusUnprocessableEntity, u, people, &core.Notice{Kind: "error", VI: vi, EN: en})
	}
	var lineErrs importer.LineErrors
	switch {
	case fileErr != nil && errors.As(fileErr, &lineErrs):
		bad("Tệp có dòng không đọc được: "+lineErrs.Error(), "Some lines of the file are unreadable.")
		return
	case fileErr != nil:
		bad("Không đọc được tệp: "+fileErr.Error(), "The file could not be read.")
		return
	case fileRows > 0 && len(rows) > fileRows:
		bad("Hãy nhập danh sách bằng biểu mẫu hoặc bằng tệp, không dùng cả hai trong một đề nghị.",
			"Use the form or a file, not both, in one request.")
		return
	case len(rows) == 0:
		bad("Hãy nhập ít nhất một người hoặc chọn tệp CSV/XLSX.", "Enter at least one person or choose a CSV/XLSX file.")
		return
	case len(rows) > provision.MaxRows:
		bad(fmt.Sprintf("Một đề nghị tối đa %d người.", provision.MaxRows), "Too many people for one request.")
		return
	}
	rep, err := wb.opts.Requests.Preview(r.Context(), u.Code, rows)
	if err != nil {
		wb.refuse(w, "request preview", err)
		return
	}
	js, _ := json.Marshal(rows)
	d := previewData{Unit: u, Report: rep, Rows: string(js), Back: "/admin/requests/new?unit=" + url.QueryEscape(u.Code),
		UnitNames: map[string]string{}, Collisions: map[string]string{}}
	for c, x := range a.tree.Units {
		d.UnitNames[c] = x.Name
	}
	for _, c := range rep.Collisions {
		d.Collisions[c.Assigned] = c.Wanted
	}
	wb.Render(w, http.StatusOK, tmpl["admin-request-preview"], wb.adminPage(a, "requests", "Xem trước đề nghị", "Request preview", d))
}

// requestFile files a request: new accounts from a preview, or a change
// (edit, transfer, lock) from the change form.
func (wb *room) requestFile(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	d := provision.Draft{Kind: r.PostFormValue("kind"), UnitCode: r.PostFormValue("unit"), Note: r.PostFormValue("note"),
		Delivery: r.PostFormValue("delivery")}
	if _, ok := wb.newUnit(w, a, d.UnitCode); !ok {
		return
	}
	switch d.Kind {
	case provision.KindNew:
		if err := json.Unmarshal([]byte(r.PostFormValue("rows")), &d.Body.Rows); err != nil {
			wb.Message(w, http.StatusBadRequest, "Danh sách người trong đề nghị bị hỏng; hãy xem trước lại.", "The request's list is damaged; preview again.")
			return
		}
	default:
		d.Body = provision.Payload{Address: r.PostFormValue("address"), FullName: r.PostFormValue("full_name"),
			Title: r.PostFormValue("title"), Phone: r.PostFormValue("phone"), Unit: r.PostFormValue("target"),
			Reason: r.PostFormValue("reason")}
	}
	id, err := wb.opts.Requests.File(r.Context(), actor(r, a), d, a.inScope)
	if err != nil {
		wb.refuse(w, "file request", err)
		return
	}
	wb.Log.Info("web: request filed", "id", id, "kind", d.Kind, "actor", a.Acct.Address, "ip", core.ClientIP(r))
	req, err := wb.opts.Requests.Get(r.Context(), id)
	if err != nil {
		wb.Fail(w, "request", err)
		return
	}
	wb.SetFlash(a.Ctx, &core.Notice{Kind: "ok",
		VI: fmt.Sprintf("Đã gửi đề nghị số %d. Hạn xử lý: hết ngày %s (%d ngày làm việc).", id,
			req.Due.Add(-time.Second).In(provision.Location()).Format("02/01/2006"), wb.opts.Requests.Calendar().WorkingDaysLeft(time.Now(), req.Due)),
		EN: fmt.Sprintf("Request %d filed.", id)})
	http.Redirect(w, r, requestHref(id), http.StatusSeeOther)
}

// request loads the request of the path, in a's scope.
func (wb *room) request(w http.ResponseWriter, r *http.Request, a *adminCtx) *provision.Request {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		wb.Message(w, http.StatusNotFound, "Không có đề nghị này.", "No such request.")
		return nil
	}
	req, err := wb.opts.Requests.Get(r.Context(), id)
	if err != nil {
		wb.refuse(w, "request", err)
		return nil
	}
	if !a.inScope(req.UnitCode) {
		wb.Message(w, http.StatusForbidden, "Đề nghị này không thuộc đơn vị bạn quản lý.", "This request is not of a unit you manage.")
		return nil
	}
	return req
}

type requestShowData struct {
	requestRow
	UnitNames  map[string]string
	CanDecide  bool
	CanFetch   bool // the initial passwords wait for a download
	ResultRows []string
}

func (wb *room) requestShow(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	req := wb.request(w, r, a)
	if req == nil {
		return
	}
	d := requestShowData{requestRow: wb.row(a, *req, time.Now()), UnitNames: map[string]string{},
		CanDecide: a.Acct.Role == directory.RoleOperator && req.State == orgdb.RequestPending,
		CanFetch:  req.HasPasswords && req.Delivery == provision.DeliverDownload}
	for c, x := range a.tree.Units {
		d.UnitNames[c] = x.Name
	}
	if req.Result != "" {
		d.ResultRows = strings.Split(req.Result, "\n")
	}
	wb.Render(w, http.StatusOK, tmpl["admin-request"], wb.adminPage(a, "requests", fmt.Sprintf("Đề nghị số %d", req.ID), "Request", d))
}

func (wb *room) requestApprove(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	req := wb.request(w, r, a)
	if req == nil {
		return
	}
	out, err := wb.opts.Requests.Approve(r.Context(), actor(r, a), req.ID)
	if err != nil && out == nil {
		wb.refuse(w, "approve request", err)
		return
	}
	wb.Log.Info("web: request approved", "id", req.ID, "actor", a.Acct.Address, "ip", core.ClientIP(r), "failed", err != nil)
	n := &core.Notice{Kind: "ok", VI: fmt.Sprintf("Đã duyệt và thực hiện đề nghị số %d.", req.ID), EN: "Request approved and carried out."}
	if err != nil {
		n = &core.Notice{Kind: "error", VI: fmt.Sprintf("Đã duyệt đề nghị số %d nhưng thực hiện bị lỗi; xem kết quả bên dưới.", req.ID),
			EN: "Approved, but carrying it out failed; see the result below."}
	}
	wb.SetFlash(a.Ctx, n)
	http.Redirect(w, r, requestHref(req.ID), http.StatusSeeOther)
}

func (wb *room) requestReject(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	req := wb.request(w, r, a)
	if req == nil {
		return
	}
	if err := wb.opts.Requests.Reject(r.Context(), actor(r, a), req.ID, r.PostFormValue("reason")); err != nil {
		wb.refuse(w, "reject request", err)
		return
	}
	wb.Log.Info("web: request rejected", "id", req.ID, "actor", a.Acct.Address, "ip", core.ClientIP(r))
	wb.SetFlash(a.Ctx, &core.Notice{Kind: "ok", VI: fmt.Sprintf("Đã từ chối đề nghị số %d.", req.ID), EN: "Request rejected."})
	http.Redirect(w, r, requestHref(req.ID), http.StatusSeeOther)
}

// requestPasswords downloads the initial passwords of an approved
// request once, as CSV (UTF-8 with BOM); they are forgotten after.
func (wb *room) requestPasswords(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	req := wb.request(w, r, a)
	if req == nil {
		return
	}
	if req.Delivery != provision.DeliverDownload {
		wb.Message(w, http.StatusConflict, "Đơn vị đã chọn nhận mật khẩu ban đầu qua tệp do quản trị hệ thống trao (congvu request passwords).",
			"The unit chose to receive the passwords as a file from the operator.")
		return
	}
	csv, ok, err := wb.opts.Requests.TakePasswords(r.Context(), actor(r, a), req.ID)
	if err != nil {
		wb.Fail(w, "request passwords", err)
		return
	}
	if !ok {
		wb.Message(w, http.StatusGone, "Mật khẩu ban đầu của đề nghị này đã được tải về trước đó (chỉ tải được một lần). Nếu bị mất, hãy cấp lại mật khẩu cho từng tài khoản.",
			"The initial passwords were downloaded already (once only). If lost, reset each account's password.")
		return
	}
	wb.Log.Info("web: request passwords downloaded", "id", req.ID, "actor", a.Acct.Address, "ip", core.ClientIP(r))
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="mat-khau-de-nghi-%d.csv"`, req.ID))
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, "\uFEFF"+csv)
}
