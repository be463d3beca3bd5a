package interop

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"
)

// newOfficialsXLSX writes the unit's list of three new officials as a
// unit's office would: an Excel workbook with Vietnamese headers.
func newOfficialsXLSX(t *testing.T, unit string) string {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sheet := f.GetSheetName(0)
	rows := [][]any{
		{"Họ và tên", "Đơn vị", "Chức vụ", "Điện thoại"},
		{"Nguyễn Văn Khải", unit, "Chuyên viên", "0258 3822 101"},
		{"Trần Thị Ngọc Hân", unit, "Chuyên viên", "0258 3822 102"},
		{"Lê Minh Tuấn", unit, "Văn thư", ""},
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(sheet, cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "can-bo-moi.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	return path
}

var resultHref = regexp.MustCompile(`href="/admin/account\?address=([^"]+)"`)

// adminRequestsInBrowser continues TestWebAdminInBrowser (issue 14's
// "done when"): the unit administrator, signed in with adminPassword,
// finds "nguyen van" within their scope and edits a title (audited with
// before and after), files a request for three new officials from an
// XLSX after a preview of their addresses; the operator approves it in
// the same browser; the unit administrator downloads the initial
// passwords once; the new accounts are answered [EXPIRED] over IMAP
// until they change the password on the web, then log in; `congvu
// request list` shows the request approved.
func (s *system) adminRequestsInBrowser(ctx context.Context, admin account, adminPassword string) {
	t := s.t
	t.Helper()
	base := "https://" + s.addrs["https"]
	officials := map[string]bool{}
	for _, a := range s.accounts {
		if a.Role == "official" {
			officials[a.Address] = true
		}
	}

	// Find "nguyen van": every hit is a Nguyễn Văn… of the admin's scope.
	do(t, ctx, "find nguyen van", chromedp.Navigate(base+"/admin/find?q=nguyen+van"), chromedp.WaitVisible("#results"))
	html, err := chromedp.Run(ctx, chromedp.OuterHTML("#results"))
	if err != nil {
		t.Fatal(err)
	}
	var target string
	for _, m := range resultHref.FindAllStringSubmatch(html, -1) {
		if a, _ := url.QueryUnescape(m[1]); officials[a] {
			target = a
			break
		}
	}
	if target == "" || !strings.Contains(text(t, ctx, "#results"), "Nguyễn Văn") {
		t.Fatalf("no official named Nguyễn Văn… found:\n%s", html)
	}
	do(t, ctx, "edit the title",
		chromedp.Navigate(base+"/admin/account?address="+url.QueryEscape(target)),
		chromedp.WaitVisible("#edit-title"),
		chromedp.SetValue("#edit-title", "Chuyên viên chính"),
		chromedp.Click("#edit"),
		chromedp.WaitVisible("[role=status]"))
	if facts := text(t, ctx, "dl.facts"); !strings.Contains(facts, "Chuyên viên chính") || !strings.Contains(facts, "Dung lượng") ||
		!strings.Contains(facts, "Truy cập gần nhất") {
		t.Errorf("after the edit the account shows:\n%s", facts)
	}
	do(t, ctx, "audit of the edit", chromedp.Navigate(base+"/admin/audit?action=edit&subject="+url.QueryEscape(target)), chromedp.WaitVisible("main"))
	if a := text(t, ctx, "main"); !strings.Contains(a, "Chuyên viên chính") || !strings.Contains(a, admin.Address) || !strings.Contains(a, "127.0.0.1") {
		t.Errorf("the audit log lacks the edit by %s:\n%s", admin.Address, a)
	}

	// The request: the form of the admin's unit, an XLSX, the preview.
	do(t, ctx, "new request form", chromedp.Navigate(base+"/admin/requests"), chromedp.WaitVisible("#new-request"), chromedp.Click("#new-request"),
		chromedp.WaitVisible("#file"))
	loc := location(t, ctx)
	unit := loc[strings.Index(loc, "unit=")+len("unit="):]
	do(t, ctx, "preview the XLSX",
		chromedp.SetUploadFiles("#file", []string{newOfficialsXLSX(t, unit)}),
		chromedp.Click("#preview"),
		chromedp.WaitVisible("#preview-rows"))
	preview := text(t, ctx, "#preview-rows")
	var planned []string
	for _, m := range regexp.MustCompile(`[a-z0-9.]+@[a-z0-9.-]+`).FindAllString(preview, -1) {
		planned = append(planned, m)
	}
	for _, name := range []string{"Nguyễn Văn Khải", "Trần Thị Ngọc Hân", "Lê Minh Tuấn"} {
		if !strings.Contains(preview, name) {
			t.Errorf("preview lacks %s:\n%s", name, preview)
		}
	}
	screenshot(t, ctx, "request-preview")
	do(t, ctx, "file the request", chromedp.SetValue("#delivery", "download"), chromedp.Click("#file-request"), chromedp.WaitVisible("#request-state"))
	reqPage := location(t, ctx)
	if st := text(t, ctx, "#request-state"); !strings.Contains(st, "Chờ duyệt") {
		t.Fatalf("filed request is %q", st)
	}
	if due := text(t, ctx, "#due"); !strings.Contains(due, "ngày làm việc") {
		t.Errorf("due date shown as %q", due)
	}

	// The operator approves in the same browser.
	operator := s.accountWithRole("operator", func(account) bool { return true })
	do(t, ctx, "sign out", chromedp.Click("header form.inline button"), chromedp.WaitVisible("#login"))
	s.signIn(ctx, operator.Address, operator.Password)
	changePassword(t, ctx, operator.Password, "Van-Hanh#2026y")
	do(t, ctx, "operator's account page", chromedp.WaitVisible("dl.facts"))
	do(t, ctx, "approve",
		chromedp.Navigate(reqPage),
		chromedp.WaitVisible("#approve"),
		chromedp.Click("#approve"),
		chromedp.WaitVisible("#request-result"))
	result := text(t, ctx, "#request-result")
	screenshot(t, ctx, "request-approved")
	if !strings.Contains(text(t, ctx, "#request-state"), "Đã duyệt") {
		t.Fatalf("approved request shows %q", text(t, ctx, "#request-state"))
	}

	// The unit administrator downloads the initial passwords, once.
	u := s.adminWeb()
	if p := u.submit("/login", "/login", url.Values{"login": {admin.Address}, "password": {adminPassword}}); p.Status != 200 {
		t.Fatalf("unit admin sign-in: %d", p.Status)
	}
	reqPath := strings.TrimPrefix(reqPage, base)
	p := u.submit(reqPath, reqPath+"/passwords", url.Values{})
	if p.Status != 200 || !strings.HasPrefix(p.Body, "\ufeffaddress,password,role") {
		t.Fatalf("password download: %d %.300q", p.Status, p.Body)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(p.Body, "\ufeff"))).ReadAll()
	if err != nil || len(rows) != 4 {
		t.Fatalf("password file: %v %q", err, rows)
	}
	if p := u.submit(reqPath, reqPath+"/passwords", url.Values{}); p.Status != 410 {
		t.Errorf("second download: %d", p.Status)
	}
	// While they waited, org.db held them sealed: no clear copy is left
	// in the file or its log.
	for _, f := range []string{"org.db", "org.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(s.dir, "demo", f))
		for _, r := range rows[1:] {
			if bytes.Contains(b, []byte(r[1])) {
				t.Errorf("%s holds the initial password of %s in clear", f, r[0])
			}
		}
	}
	var created []string
	for _, r := range rows[1:] {
		created = append(created, r[0])
		if !strings.Contains(result, r[0]) {
			t.Errorf("the result does not list %s:\n%s", r[0], result)
		}
		if got := s.imapResult(r[0], r[1]); !strings.Contains(got, "[EXPIRED]") {
			t.Errorf("new account %s over IMAP with its initial password: %q, want [EXPIRED]", r[0], got)
		}
	}
	slices.Sort(created)
	slices.Sort(planned)
	if !slices.Equal(created, planned) {
		t.Errorf("created %v, the preview said %v", created, planned)
	}
	// One of them changes the password on the web, then IMAP lets them in.
	fresh := account{Address: rows[1][0], Password: rows[1][1], Role: "official"}
	s.accounts = append(s.accounts, fresh)
	s.signInFirst(fresh)
	if got := s.imapResult(fresh.Address, "Nui-Xanh#2026ab"); got != "OK" {
		t.Errorf("IMAP after the password change: %q", got)
	}
	// The operator's page of the new account: today's access, its quota.
	today := time.Now().In(time.FixedZone("ICT", 7*3600)).Format("02/01/2006")
	do(t, ctx, "new account's page", chromedp.Navigate(base+"/admin/account?address="+url.QueryEscape(fresh.Address)), chromedp.WaitVisible("#last-access"))
	if got := text(t, ctx, "#last-access"); !strings.Contains(got, today) {
		t.Errorf("last access of %s shown as %q, want %s", fresh.Address, got, today)
	}
	if got := text(t, ctx, "#quota"); !strings.Contains(got, "2 GB") {
		t.Errorf("quota of %s shown as %q", fresh.Address, got)
	}

	out, err := run(t, nil, binaryPath, "request", "list", "--all", "--config", filepath.Join(s.dir, "demo", "congvu.toml"))
	if err != nil || !strings.Contains(out, "approved") || !strings.Contains(out, admin.Address) {
		t.Errorf("congvu request list: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(s.dir, "demo", "org.db")); err != nil {
		t.Errorf("org.db: %v", err)
	}
}
