package admin

// File import in the admin web (issue 14): a unit administrator or an
// operator uploads a CSV/XLSX list of officials, sees the importer's dry
// run — transfers found by stable key, new accounts with their
// addresses, collisions and departures — and confirms; the confirmation
// runs the same import as `congvu directory import` (stable keys
// recorded, transfers through reorg as `congvu account move`). A unit
// administrator's file may only touch units in their scope.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"

	"congvu/directory"
	"congvu/directory/importer"
	"congvu/internal/mailerr"
	"congvu/reorg"
	"congvu/web/core"
)

// maxImportRows bounds one uploaded list (a province's officials).
const maxImportRows = 20000

type importFormData struct{ Back string }

func (wb *room) importForm(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	back := "/admin"
	if roots := a.scopeRoots(); len(roots) == 1 {
		back = unitHref(roots[0])
	}
	wb.Render(w, http.StatusOK, tmpl["admin-import"], wb.adminPage(a, "units", "Nhập danh sách cán bộ", "Import a list", importFormData{Back: back}))
}

// readImport reads the upload form: the file's rows and name.
func readImport(r *http.Request) (rows []importer.Row, name string, err error) {
	mr := core.Multipart(r)
	if mr == nil {
		return nil, "", errors.New("Biểu mẫu không phải multipart")
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", errors.New("Không đọc được biểu mẫu")
		}
		if p.FormName() != "file" || p.FileName() == "" {
			continue
		}
		data, err := readUploadPart(p)
		if errors.Is(err, errUploadTooLarge) {
			return nil, "", fmt.Errorf("Tệp quá lớn (tối đa %d MiB)", maxUploadBytes>>20)
		}
		if err != nil {
			return nil, "", errors.New("Không đọc được tệp")
		}
		name = filepath.Base(p.FileName())
		rows, err = importer.ReadList(name, bytes.NewReader(data))
		var lineErrs importer.LineErrors
		if err != nil && !errors.As(err, &lineErrs) {
			return nil, name, fmt.Errorf("Không đọc được tệp %s: %v", name, err)
		}
		if err != nil {
			return nil, name, fmt.Errorf("Tệp %s có dòng không đọc được: %v", name, lineErrs)
		}
	}
	switch {
	case name == "":
		return nil, "", errors.New("Hãy chọn tệp CSV hoặc XLSX")
	case len(rows) == 0:
		return nil, name, errors.New("Tệp không có dòng nào")
	case len(rows) > maxImportRows:
		return nil, name, fmt.Errorf("Tệp có quá %d dòng", maxImportRows)
	}
	return rows, name, nil
}

// dryRun is the importer's report of rows as they would be imported now.
func (wb *room) dryRun(r *http.Request, a *adminCtx, rows []importer.Row, dry bool) (*importer.Report, error) {
	opts := importer.Options{Domain: wb.importDomain(a), DryRun: dry}
	if wb.opts.Org != nil {
		keys, err := wb.opts.Org.PersonKeys(r.Context())
		if err != nil {
			return nil, err
		}
		opts.Keys = keys
	}
	return importer.Import(r.Context(), wb.Dir(), rows, opts)
}

// importDomain is the domain of new addresses, as the command's default.
func (wb *room) importDomain(a *adminCtx) string {
	if len(wb.opts.Domains) > 0 {
		return wb.opts.Domains[0]
	}
	return directory.Domain(a.Acct.Address)
}

// outOfScope lists the units of rep a may not touch.
func outOfScope(a *adminCtx, rep *importer.Report) []string {
	var out []string
	add := func(code string) {
		if !a.inScope(code) && !slices.Contains(out, code) {
			out = append(out, code)
		}
	}
	for _, list := range [][]importer.Entry{rep.Created, rep.Updated, rep.Unchanged, rep.Departures} {
		for _, e := range list {
			add(e.UnitCode)
		}
	}
	for _, m := range rep.Moves {
		add(m.FromUnit)
		add(m.ToUnit)
	}
	return out
}

type importPreviewData struct {
	File       string
	Rows       string // JSON, confirmed as they are
	Report     *importer.Report
	UnitNames  map[string]string
	Collisions map[string]string
	Back       string
	Done       bool
	Months     int
}

func (wb *room) importData(a *adminCtx, file string, rep *importer.Report) importPreviewData {
	d := importPreviewData{File: file, Report: rep, UnitNames: map[string]string{}, Collisions: map[string]string{},
		Back: "/admin/import", Months: wb.months()}
	for c, u := range a.tree.Units {
		d.UnitNames[c] = u.Name
	}
	for _, c := range rep.Collisions {
		d.Collisions[c.Assigned] = c.Wanted
	}
	return d
}

// checkImport refuses a report touching units outside a's scope.
func (wb *room) checkImport(w http.ResponseWriter, a *adminCtx, rep *importer.Report) bool {
	if bad := outOfScope(a, rep); len(bad) > 0 {
		names := make([]string, len(bad))
		for i, c := range bad {
			names[i] = a.tree.Units[c].Name + " (" + c + ")"
		}
		wb.Message(w, http.StatusForbidden, "Tệp có cán bộ của đơn vị không thuộc phạm vi bạn quản lý: "+strings.Join(names, ", ")+
			". Hãy bỏ các dòng đó hoặc gửi đề nghị cho quản trị hệ thống.", "The file touches units you do not manage.")
		return false
	}
	return true
}

func (wb *room) importPreview(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadBytes+1<<20)
	rows, name, err := readImport(r)
	if err != nil {
		p := wb.adminPage(a, "units", "Nhập danh sách cán bộ", "Import a list", importFormData{Back: "/admin"})
		p.Notice = &core.Notice{Kind: "error", VI: err.Error() + ".", EN: "The file could not be taken."}
		wb.Render(w, http.StatusUnprocessableEntity, tmpl["admin-import"], p)
		return
	}
	rep, err := wb.dryRun(r, a, rows, true)
	if err != nil {
		wb.refuse(w, "import preview", err)
		return
	}
	if !wb.checkImport(w, a, rep) {
		return
	}
	d := wb.importData(a, name, rep)
	js, _ := json.Marshal(rows)
	d.Rows = string(js)
	wb.Render(w, http.StatusOK, tmpl["admin-import-preview"], wb.adminPage(a, "units", "Xem trước: nhập danh sách", "Import preview", d))
}

// importRun runs the confirmed import: the dry run again (the scope is
// checked on what the import would do now), then the import, the stable
// keys, the audit entries and the transfers.
func (wb *room) importRun(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	var rows []importer.Row
	if err := json.Unmarshal([]byte(r.PostFormValue("rows")), &rows); err != nil || len(rows) == 0 || len(rows) > maxImportRows {
		wb.Message(w, http.StatusBadRequest, "Danh sách cần nhập bị hỏng; hãy tải tệp lên và xem trước lại.", "The list is damaged; upload it again.")
		return
	}
	file := filepath.Base(strings.TrimSpace(r.PostFormValue("file")))
	rep, err := wb.dryRun(r, a, rows, true)
	if err != nil {
		wb.refuse(w, "import", err)
		return
	}
	if !wb.checkImport(w, a, rep) {
		return
	}
	rep, err = wb.dryRun(r, a, rows, false)
	if rep != nil && wb.opts.Org != nil {
		for _, b := range rep.Keys {
			if kerr := wb.opts.Org.SetPersonKey(r.Context(), b.Key, b.Address); kerr != nil && err == nil {
				err = kerr
			}
		}
		for code, n := range rep.Headcounts {
			if herr := wb.opts.Org.SetHeadcount(r.Context(), code, n, a.Acct.Address); herr != nil && err == nil {
				err = herr
			}
			wb.record(r, a, code, "unit-change", fmt.Sprintf("biên chế / headcount %d (nhập/import %s)", n, file))
		}
	}
	if rep != nil {
		wb.record(r, a, file, "import", fmt.Sprintf("%d tạo mới/created, %d cập nhật/updated, %d chuyển/moves, %d bỏ qua/skipped, %d không còn/departures",
			len(rep.Created), len(rep.Updated), len(rep.Moves), len(rep.Skipped), len(rep.Departures)))
		for _, e := range rep.Created {
			wb.record(r, a, e.Address, auditCreate, fmt.Sprintf("nhập/import %s: %s, %s, %s", file, e.FullName, e.UnitCode, e.Role))
		}
		for _, e := range rep.Updated {
			wb.record(r, a, e.Address, auditEdit, fmt.Sprintf("nhập/import %s: chức vụ, điện thoại / title, phone", file))
		}
	}
	if err != nil {
		wb.Fail(w, "import", err)
		return
	}
	var moveErrs []string
	for i, m := range rep.Moves {
		res, err := wb.opts.Reorg.Run(auditCtx(r), reorg.KindMoveAccount, a.Acct.Address, reorg.Args{Address: m.Address, Unit: m.ToUnit,
			Reason: fmt.Sprintf("nhập danh sách / import %s, dòng/line %d", file, m.Line)})
		if err != nil {
			moveErrs = append(moveErrs, fmt.Sprintf("%s → %s: %s", m.Address, m.ToUnit, describeErr(err)))
			continue
		}
		if len(res.Changes) == 1 {
			rep.Moves[i].Address = res.Changes[0].OldAddress + " → " + res.Changes[0].NewAddress
		}
	}
	wb.Log.Info("web: import", "actor", a.Acct.Address, "file", file, "created", len(rep.Created), "moves", len(rep.Moves), "ip", core.ClientIP(r))
	d := wb.importData(a, file, rep)
	d.Done = true
	p := wb.adminPage(a, "units", "Đã nhập danh sách", "Import done", d)
	p.Notice = &core.Notice{Kind: "ok", VI: "Đã nhập danh sách. Mật khẩu ban đầu chỉ hiện một lần trên trang này.", EN: "Imported; the initial passwords are shown once."}
	if len(moveErrs) > 0 {
		p.Notice = &core.Notice{Kind: "error", VI: "Đã nhập, nhưng không chuyển được: " + strings.Join(moveErrs, "; "), EN: "Imported, but some transfers failed."}
	}
	w.Header().Set("Cache-Control", "no-store")
	wb.Render(w, http.StatusOK, tmpl["admin-import-preview"], p)
}

func describeErr(err error) string {
	if me := mailerr.As(err); me != nil {
		if me.Err != nil {
			return me.MessageVI + " (" + me.Err.Error() + ")"
		}
		return me.MessageVI
	}
	return err.Error()
}
