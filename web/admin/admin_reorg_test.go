package admin

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"congvu/directory"
	"congvu/directory/orgdb"
	"congvu/policy"
	"congvu/reorg"
	"congvu/web/webtest"
)

// reorgAudit keeps the reorg service's audit entries.
type reorgAudit struct {
	mu      sync.Mutex
	entries []policy.AuditEntry
}

func (m *reorgAudit) AppendAudit(_ context.Context, es ...policy.AuditEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries = append(m.entries, es...)
	return nil
}

func (m *reorgAudit) find(action string) *policy.AuditEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.entries {
		if m.entries[i].Action == action {
			return &m.entries[i]
		}
	}
	return nil
}

type reorgEnv struct {
	*webtest.Env
	org   *orgdb.DB
	audit *reorgAudit
	log   *memAuditLog
}

// withReorg gives the site the reorganisation service over its own
// directory, as the server does.
func withReorg(t *testing.T) *reorgEnv {
	re := &reorgEnv{audit: &reorgAudit{}, log: &memAuditLog{}}
	re.Env = newWebEnv(t, func(o *testOptions) {
		org, err := orgdb.Open(filepath.Join(t.TempDir(), "org.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { org.Close() })
		re.org = org
		dir := o.coreOptions.Dir.(*webtest.FlakyDir).Writer
		o.Reorg = reorg.New(reorg.Config{TransitionalMonths: 6}, reorg.Deps{Dir: dir, Org: org, Audit: re.audit})
		o.Org = org
		o.TransitionalMonths = 6
		o.AuditLog = re.log
	})
	withAdmins(re.Env)
	return re
}

func (re *reorgEnv) lookup(address string) *directory.Account {
	re.T.Helper()
	a, err := re.Dir.Lookup(re.T.Context(), address)
	if err != nil {
		re.T.Fatalf("%s: %v", address, err)
	}
	return a
}

// TestReorgUnitsWeb: only operators reorganise units; a merge, a
// rename with a new abbreviation and a domain alias are previewed (what
// changes, nothing written), confirmed, carried out by the reorg service
// and audited with the operator's IP; old addresses keep delivering.
func TestReorgUnitsWeb(t *testing.T) {
	e := withReorg(t)
	ua := e.Browser()
	expect(t, ua.Login(skhcnAdmin, secretPW), 200)
	expect(t, ua.Get("/admin/reorg"), http.StatusForbidden, "Chỉ quản trị hệ thống cấp tỉnh mới sáp nhập")
	expect(t, ua.Post("/admin", "/admin/reorg/run", url.Values{"op": {"unit-merge"}, "from": {"56.skhcn.vp"}, "into": {"56.skhcn"}}),
		http.StatusForbidden)
	if _, err := e.Dir.Lookup(t.Context(), "duclv.vanphong.skhcn@khanhhoa.gov.vn"); err != nil {
		t.Fatal("a unit admin's merge ran")
	}

	op := e.Browser()
	expect(t, op.Login(operatorAddr, secretPW), 200)
	expect(t, op.Get("/admin/reorg"), 200, `id="merge-preview"`, `id="rename-preview"`, `id="move-preview"`, `id="alias-preview"`,
		`lang="en"`, "Sáp nhập đơn vị")
	merge := url.Values{"op": {"unit-merge"}, "from": {"22333"}, "into": {"56.skhcn"}}
	expect(t, op.Do("POST", "/admin/reorg/run", merge), http.StatusForbidden, "CSRF")
	expect(t, op.Post("/admin/reorg", "/admin/reorg/preview", url.Values{"op": {"unit-merge"}, "from": {"22333"}, "into": {"nope"}}),
		http.StatusUnprocessableEntity, "Không có đơn vị “nope”")
	expect(t, op.Post("/admin/reorg", "/admin/reorg/preview", url.Values{"op": {"unit-merge"}, "from": {"56.skhcn"}, "into": {"56.skhcn.vp"}}),
		http.StatusUnprocessableEntity, "đơn vị trực thuộc")
	r := op.Post("/admin/reorg", "/admin/reorg/preview", merge)
	expect(t, r, 200, "Sẽ thay đổi", "tramdt.nhatrang@khanhhoa.gov.vn", "tramdt.skhcn@khanhhoa.gov.vn", "Phường Nha Trang → Sở Khoa học và Công nghệ",
		"trong 6 tháng", `id="confirm"`)
	if a := e.lookup("tramdt.nhatrang@khanhhoa.gov.vn"); a.Address != "tramdt.nhatrang@khanhhoa.gov.vn" {
		t.Fatal("the preview moved the account")
	}
	confirm := hiddenFields(t, r.Body)
	expect(t, op.Post("/admin/reorg", "/admin/reorg/run", confirm), 200, "Đã thực hiện", "tramdt.skhcn@khanhhoa.gov.vn")
	a := e.lookup("tramdt.nhatrang@khanhhoa.gov.vn")
	if a.Address != "tramdt.skhcn@khanhhoa.gov.vn" || a.UnitCode != "56.skhcn" || !slices.Contains(a.Aliases, "tramdt.nhatrang@khanhhoa.gov.vn") {
		t.Errorf("after the merge: %+v", a)
	}
	if units, _ := e.Dir.Units(t.Context()); slices.ContainsFunc(units, func(u directory.Unit) bool { return u.Code == "22333" }) {
		t.Error("the merged unit is still in the directory")
	}
	if en := e.audit.find(policy.ActionMerge); en == nil || en.Actor != operatorAddr || en.IP != "127.0.0.1" || en.Protocol != policy.Web ||
		!strings.Contains(en.Detail, "Phường Nha Trang (22333) → Sở Khoa học và Công nghệ (56.skhcn)") {
		t.Errorf("merge audit: %+v", en)
	}

	// Rename with a new abbreviation: the addresses change.
	rename := url.Values{"op": {"unit-rename"}, "unit": {"56.skhcn"}, "name": {"Sở Khoa học, Công nghệ và Đổi mới"}, "abbr": {"khcn"}}
	r = op.Post("/admin/reorg", "/admin/reorg/preview", rename)
	expect(t, r, 200, "annv.khcn@khanhhoa.gov.vn", "khcn@khanhhoa.gov.vn")
	expect(t, op.Post("/admin/reorg", "/admin/reorg/run", hiddenFields(t, r.Body)), 200, "Đã thực hiện")
	if a := e.lookup("anv.skhcn@khanhhoa.gov.vn"); a.Address != "annv.khcn@khanhhoa.gov.vn" {
		t.Errorf("after the rename: %s", a.Address)
	}
	if en := e.audit.find(policy.ActionUnitChange); en == nil || en.IP != "127.0.0.1" {
		t.Errorf("rename audit: %+v", en)
	}

	// A domain alias, listed with the mail still reaching the old domain.
	expect(t, op.Post("/admin/reorg", "/admin/reorg/preview", url.Values{"op": {"domain-alias-add"}, "old": {"ninh thuan"}, "new": {"khanhhoa.gov.vn"}}),
		http.StatusBadRequest, "Không thực hiện được thay đổi tổ chức")
	r = op.Post("/admin/reorg", "/admin/reorg/preview", url.Values{"op": {"domain-alias-add"}, "old": {"ninhthuan.gov.vn"}, "new": {"khanhhoa.gov.vn"}})
	expect(t, r, 200, "*@ninhthuan.gov.vn")
	expect(t, op.Post("/admin/reorg", "/admin/reorg/run", hiddenFields(t, r.Body)), 200, "Đã thực hiện")
	var arrivals []orgdb.Arrival
	for i := range 7 {
		arrivals = append(arrivals, orgdb.Arrival{Address: "a.stc@ninhthuan.gov.vn", Sender: fmt.Sprintf("s%d@bocongan.gov.vn", i%3), At: time.Now()})
	}
	if err := e.org.RecordArrivals(t.Context(), arrivals); err != nil {
		t.Fatal(err)
	}
	expect(t, op.Get("/admin/reorg"), 200, "@ninhthuan.gov.vn", "a.stc@ninhthuan.gov.vn", `<td>7</td>`)
	expect(t, op.Post("/admin/reorg", "/admin/reorg/run", url.Values{"op": {"domain-alias-remove"}, "old": {"ninhthuan.gov.vn"}}), 200, "Đã thực hiện")
	if list, _ := e.org.DomainAliases(t.Context()); len(list) != 0 {
		t.Errorf("alias not removed: %+v", list)
	}
	if en := e.audit.find(policy.ActionAlias); en == nil || en.IP != "127.0.0.1" {
		t.Errorf("alias audit: %+v", en)
	}
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// hiddenFields are the confirmation form's fields (without its token).
func hiddenFields(t *testing.T, body string) url.Values {
	t.Helper()
	form := strings.Index(body, `id="confirm"`)
	if form < 0 {
		t.Fatalf("no confirmation form:\n%.2000s", body)
	}
	v := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(body[:form], -1) {
		if m[1] != "csrf" {
			v.Set(m[1], htmlUnescape(m[2]))
		}
	}
	return v
}

// TestTransferWeb: a unit admin transfers an official within their scope
// from the account page (preview, then confirm); a unit outside it, an
// unknown unit and a POST without the token are refused; the operator
// transfers anywhere; the move is audited with the admin's IP.
func TestTransferWeb(t *testing.T) {
	e := withReorg(t)
	ua := e.Browser()
	expect(t, ua.Login(skhcnAdmin, secretPW), 200)
	page := "/admin/account?address=" + url.QueryEscape(anAddr)
	r := ua.Get(page)
	expect(t, r, 200, `id="transfer-unit"`, `value="56.skhcn.vp"`)
	if strings.Contains(r.Body, `<option value="22333">`) {
		t.Error("a unit outside the admin's scope is offered")
	}
	expect(t, ua.Do("POST", "/admin/transfer", url.Values{"address": {anAddr}, "unit": {"56.skhcn.vp"}}), http.StatusForbidden, "CSRF")
	expect(t, ua.Post(page, "/admin/transfer/preview", url.Values{"address": {anAddr}, "unit": {"22333"}}), http.StatusForbidden, "không thuộc phạm vi")
	expect(t, ua.Post(page, "/admin/transfer", url.Values{"address": {anAddr}, "unit": {"22333"}}), http.StatusForbidden)
	expect(t, ua.Post(page, "/admin/transfer/preview", url.Values{"address": {anAddr}, "unit": {"56.nowhere"}}), http.StatusUnprocessableEntity, "Không có đơn vị “56.nowhere”")
	expect(t, ua.Post(page, "/admin/transfer/preview", url.Values{"address": {tramAddr}, "unit": {"56.skhcn"}}), http.StatusForbidden)
	r = ua.Post(page, "/admin/transfer/preview", url.Values{"address": {anAddr}, "unit": {"56.skhcn.vp"}, "reason": {"QĐ 12"}})
	expect(t, r, 200, "Chuyển công tác", anAddr, "Sở Khoa học và Công nghệ → Văn phòng Sở")
	if e.lookup(anAddr).UnitCode != "56.skhcn" {
		t.Fatal("the preview moved the account")
	}
	expect(t, ua.Post(page, "/admin/transfer", hiddenFields(t, r.Body)), 200, "Đã chuyển")
	if a := e.lookup(anAddr); a.UnitCode != "56.skhcn.vp" {
		t.Errorf("after the transfer: %+v", a)
	}
	en := e.audit.find(policy.ActionMove)
	if en == nil || en.Actor != skhcnAdmin || en.IP != "127.0.0.1" || !strings.Contains(en.Detail, "QĐ 12") {
		t.Errorf("move audit: %+v", en)
	}

	op := e.Browser()
	expect(t, op.Login(operatorAddr, secretPW), 200)
	page = "/admin/account?address=" + url.QueryEscape(tramAddr)
	r = op.Post(page, "/admin/transfer/preview", url.Values{"address": {tramAddr}, "unit": {"56.skhcn"}})
	expect(t, r, 200, "tramdt.skhcn@khanhhoa.gov.vn")
	expect(t, op.Post(page, "/admin/transfer", hiddenFields(t, r.Body)), 200, "tramdt.skhcn@khanhhoa.gov.vn", "6 tháng")
	if a := e.lookup(tramAddr); a.Address != "tramdt.skhcn@khanhhoa.gov.vn" {
		t.Errorf("old address resolves to %s", a.Address)
	}
}

// TestImportWeb: a unit admin uploads a list, sees the dry run (new
// accounts with addresses, departures) with nothing written, confirms,
// gets the initial passwords once; a file with another unit's people is
// refused; the operator's file moves a known person (stable key) instead
// of duplicating them.
func TestImportWeb(t *testing.T) {
	e := withReorg(t)
	ua := e.Browser()
	expect(t, ua.Login(skhcnAdmin, secretPW), 200)
	expect(t, ua.Get("/admin/unit?code=56.skhcn"), 200, `id="import"`)
	expect(t, ua.Get("/admin/import"), 200, `id="import-file"`)
	csv := "\uFEFFho_ten,don_vi,chuc_vu,bien_che\nNguyễn Văn An,56.skhcn,Giám đốc,25\nPhạm Văn Bình,56.skhcn,Chuyên viên,\n"
	file := []webtest.File{{Field: "file", Name: "skhcn.csv", Type: "text/csv", Data: []byte(csv)}}
	expect(t, ua.PostMultipart("/admin/import", "/admin/import/preview", nil, nil), http.StatusUnprocessableEntity, "Hãy chọn tệp")
	r := ua.PostMultipart("/admin/import", "/admin/import/preview", nil, file)
	expect(t, r, 200, "binhpv.skhcn@khanhhoa.gov.vn", `id="departures"`, thanhAddr, `id="import-confirm"`, "Sở Khoa học và Công nghệ: 25")
	if _, err := e.Dir.Lookup(t.Context(), "binhpv.skhcn@khanhhoa.gov.vn"); err == nil {
		t.Fatal("the preview created an account")
	}
	rows := regexp.MustCompile(`name="rows" value="([^"]+)"`).FindStringSubmatch(r.Body)
	if rows == nil {
		t.Fatalf("no rows:\n%s", r.Body)
	}
	expect(t, ua.Do("POST", "/admin/import", url.Values{"file": {"skhcn.csv"}, "rows": {htmlUnescape(rows[1])}}), http.StatusForbidden, "CSRF")
	r = ua.Post("/admin/import", "/admin/import", url.Values{"file": {"skhcn.csv"}, "rows": {htmlUnescape(rows[1])}})
	expect(t, r, 200, "Đã nhập", "binhpv.skhcn@khanhhoa.gov.vn", `class="secret"`)
	if a := e.lookup("binhpv.skhcn@khanhhoa.gov.vn"); !a.MustChangePassword || a.UnitCode != "56.skhcn" {
		t.Errorf("imported account %+v", a)
	}
	if en := e.log.find("import", "skhcn.csv"); en == nil || en.IP != "127.0.0.1" || en.Actor != skhcnAdmin {
		t.Errorf("import audit %+v", en)
	}
	if en := e.log.find(auditCreate, "binhpv.skhcn@khanhhoa.gov.vn"); en == nil {
		t.Error("no create audit entry")
	}
	if hc, err := e.org.Headcounts(t.Context()); err != nil || hc["56.skhcn"] != 25 {
		t.Errorf("headcount after the import: %v %v", hc, err)
	}
	other := []webtest.File{{Field: "file", Name: "x.csv", Type: "text/csv", Data: []byte("ho_ten,don_vi\nLê Văn Mới,22333\n")}}
	expect(t, ua.PostMultipart("/admin/import", "/admin/import/preview", nil, other), http.StatusForbidden, "Phường Nha Trang")
	forged := `[{"Line":2,"FullName":"Lê Văn Mới","Unit":"22333"}]`
	expect(t, ua.Post("/admin/import", "/admin/import", url.Values{"file": {"x.csv"}, "rows": {forged}}), http.StatusForbidden)
	if _, err := e.Dir.Lookup(t.Context(), "moilv.nhatrang@khanhhoa.gov.vn"); err == nil {
		t.Error("a forged out-of-scope import created an account")
	}

	// The operator's file names Trâm (known by her key) in Sở KH&CN.
	if err := e.org.SetPersonKey(t.Context(), "079190000001", tramAddr); err != nil {
		t.Fatal(err)
	}
	op := e.Browser()
	expect(t, op.Login(operatorAddr, secretPW), 200)
	moved := []webtest.File{{Field: "file", Name: "dieu-dong.csv", Type: "text/csv",
		Data: []byte("ho_ten,don_vi,ma_can_bo\nĐặng Thùy Trâm,56.skhcn,079190000001\n")}}
	r = op.PostMultipart("/admin/import", "/admin/import/preview", nil, moved)
	expect(t, r, 200, `id="moves"`, tramAddr, "Phường Nha Trang → Sở Khoa học và Công nghệ")
	rows = regexp.MustCompile(`name="rows" value="([^"]+)"`).FindStringSubmatch(r.Body)
	expect(t, op.Post("/admin/import", "/admin/import", url.Values{"file": {"dieu-dong.csv"}, "rows": {htmlUnescape(rows[1])}}), 200,
		"tramdt.skhcn@khanhhoa.gov.vn")
	if a := e.lookup(tramAddr); a.Address != "tramdt.skhcn@khanhhoa.gov.vn" || !slices.Contains(a.Aliases, tramAddr) {
		t.Errorf("after the import's move: %+v", a)
	}
	if n, _ := e.Dir.Accounts(t.Context(), "56.skhcn"); slices.ContainsFunc(n, func(a directory.Account) bool { return a.Address == "tramdt2.skhcn@khanhhoa.gov.vn" }) {
		t.Error("the import duplicated the moved person")
	}
}

// The confirmation runs the plan the operator saw: when the directory
// changed in between so that the plan would differ (here the planned new
// address was taken), the run is refused in Vietnamese and nothing moves;
// a new preview shows the new plan, which then runs.
func TestReorgConfirmRunsThePlanShown(t *testing.T) {
	e := withReorg(t)
	op := e.Browser()
	expect(t, op.Login(operatorAddr, secretPW), 200)
	merge := url.Values{"op": {"unit-merge"}, "from": {"22333"}, "into": {"56.skhcn"}}
	r := op.Post("/admin/reorg", "/admin/reorg/preview", merge)
	expect(t, r, 200, "tramdt.skhcn@khanhhoa.gov.vn")
	confirm := hiddenFields(t, r.Body)
	if confirm.Get("plan") == "" {
		t.Fatal("the confirmation form does not carry the plan it shows")
	}
	if err := e.Dir.PutAccount(t.Context(), directory.Account{Address: "tramdt.skhcn@khanhhoa.gov.vn", DisplayName: "Đinh Thị Trâm",
		UnitCode: "56.skhcn"}, "Khanh-Hoa#2026a"); err != nil {
		t.Fatal(err)
	}
	expect(t, op.Post("/admin/reorg", "/admin/reorg/run", confirm), http.StatusBadRequest, "Tổ chức đã thay đổi kể từ lúc xem trước")
	if a := e.lookup("tramdt.nhatrang@khanhhoa.gov.vn"); a.Address != "tramdt.nhatrang@khanhhoa.gov.vn" || a.UnitCode != "22333" {
		t.Fatalf("a refused confirmation moved the account: %+v", a)
	}
	r = op.Post("/admin/reorg", "/admin/reorg/preview", merge)
	expect(t, r, 200, "tramdt2.skhcn@khanhhoa.gov.vn")
	expect(t, op.Post("/admin/reorg", "/admin/reorg/run", hiddenFields(t, r.Body)), 200, "Đã thực hiện", "tramdt2.skhcn@khanhhoa.gov.vn")
	if a := e.lookup("tramdt.nhatrang@khanhhoa.gov.vn"); a.Address != "tramdt2.skhcn@khanhhoa.gov.vn" {
		t.Errorf("after the second confirmation: %+v", a)
	}
}
