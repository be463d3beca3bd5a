package interop

import (
	"encoding/csv"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// webUser is one signed-in user of the HTTPS web, driven with net/http and
// a cookie jar, trusting only the quickstart's certificate.
type webUser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (s *system) adminWeb() *webUser {
	s.t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return &webUser{t: s.t, base: "https://" + s.addrs["https"],
		c: &http.Client{Jar: jar, Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: s.tlsConfig(), ForceAttemptHTTP2: true}}}
}

type webPage struct {
	Status int
	Path   string // after redirects
	Header http.Header
	Body   string
}

func (u *webUser) do(method, path string, form url.Values) webPage {
	u.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u.base+path, body)
	if err != nil {
		u.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", u.base) // as a browser sends with a POST
	}
	res, err := u.c.Do(req)
	if err != nil {
		u.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		u.t.Fatal(err)
	}
	return webPage{res.StatusCode, res.Request.URL.Path, res.Header, string(b)}
}

func (u *webUser) get(path string) webPage { return u.do("GET", path, nil) }

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// submit fills a form of the page at from with its CSRF token and posts it.
func (u *webUser) submit(from, action string, form url.Values) webPage {
	u.t.Helper()
	p := u.get(from)
	m := csrfInput.FindStringSubmatch(p.Body)
	if m == nil {
		u.t.Fatalf("no form token on %s (%d):\n%.1500s", from, p.Status, p.Body)
	}
	form.Set("csrf", m[1])
	return u.do("POST", action, form)
}

// signInFirst signs in for the first time, which forces a password change,
// and changes the password.
func (s *system) signInFirst(a account) *webUser {
	s.t.Helper()
	u := s.adminWeb()
	p := u.submit("/login", "/login", url.Values{"login": {a.Address}, "password": {a.Password}})
	if p.Status != 200 || p.Path != "/password" || !strings.Contains(p.Body, "lần đăng nhập đầu tiên") {
		s.t.Fatalf("first sign-in of %s: %d at %s\n%.1500s", a.Address, p.Status, p.Path, p.Body)
	}
	const fresh = "Nui-Xanh#2026ab"
	p = u.submit("/password", "/password", url.Values{"current": {a.Password}, "new": {fresh}, "confirm": {fresh}})
	if p.Status != 200 || p.Path != "/" || !strings.Contains(p.Body, "Đã đổi mật khẩu") {
		s.t.Fatalf("password change of %s: %d at %s\n%.1500s", a.Address, p.Status, p.Path, p.Body)
	}
	// Later subtests sign in over IMAP, ManageSieve… with the new password.
	for i := range s.accounts {
		if s.accounts[i].Address == a.Address {
			s.accounts[i].Password = fresh
		}
	}
	return u
}

func (s *system) accountWithRole(role string, ok func(account) bool) account {
	s.t.Helper()
	for _, a := range s.accounts {
		if a.Role == role && ok(a) {
			return a
		}
	}
	s.t.Fatalf("no %s account in the demo accounts", role)
	return account{}
}

// unitPart is what follows the given name in an address: the unit's
// abbreviations ("skhcn" in thanhnn.skhcn@…).
func unitPart(addr string) string {
	local, _, _ := strings.Cut(addr, "@")
	_, unit, _ := strings.Cut(local, ".")
	return unit
}

// The admin web on the real binary: 13 wrong IMAP passwords (Python
// imaplib) lock an official; the operator, after the forced first
// password change, finds the lock with its reason on the audit page and
// the account page, downloads the access report CSV (BOM, one row per unit
// of the directory), its SVG chart and the usage CSV, and sees that the
// queue view says outbound delivery is off. The unit admin of the
// official's unit sees the entry; another unit's admin does not, nor the
// queue.
func TestAdminWebAuditAndReports(t *testing.T) {
	s := startSystem(t, "")
	official := s.user(0)
	var wrong struct{ Answers []string }
	s.pyJSON(&wrong, "imap-wrong-logins", "--addr", s.addrs["imaps"], "--user", official.Address, "--password", official.Password, "--count", "13")
	if len(wrong.Answers) != 13 || !strings.Contains(wrong.Answers[12], "CONTACTADMIN") {
		t.Fatalf("13 wrong IMAP logins answered %q", wrong.Answers)
	}

	op := s.signInFirst(s.accountWithRole("operator", func(account) bool { return true }))
	p := op.get("/admin/audit?action=lock&subject=" + url.QueryEscape(official.Address))
	for _, want := range []string{official.Address, "Khoá tài khoản", "Sai mật khẩu liên tiếp", "13 consecutive failed logins", "127.0.0.1", "imap"} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("operator's audit page (%d) lacks %q:\n%.4000s", p.Status, want, p.Body)
		}
	}
	p = op.get("/admin/account?address=" + url.QueryEscape(official.Address))
	if !strings.Contains(p.Body, "Đang khoá") || !strings.Contains(p.Body, "13 consecutive failed logins") || !strings.Contains(p.Body, "Được gửi thư") {
		t.Errorf("account page of the locked official (%d):\n%.4000s", p.Status, p.Body)
	}

	// The access report of the whole province (the operator's default).
	page := op.get("/admin/reports")
	var units []string
	for _, m := range regexp.MustCompile(`<option value="([^"]+)"`).FindAllStringSubmatch(page.Body, -1) {
		units = append(units, m[1])
	}
	if len(units) < 50 || !strings.Contains(page.Body, `<img src="/admin/reports/access.svg?`) {
		t.Fatalf("reports page (%d) offers %d units / no chart:\n%.3000s", page.Status, len(units), page.Body)
	}
	p = op.get("/admin/reports/access.csv")
	if p.Status != 200 || p.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.HasPrefix(p.Header.Get("Content-Disposition"), "attachment; ") || !strings.HasPrefix(p.Body, "\ufeff") {
		t.Fatalf("access CSV: %d %q %q, starts %q", p.Status, p.Header.Get("Content-Type"), p.Header.Get("Content-Disposition"), p.Body[:min(30, len(p.Body))])
	}
	table, _, _ := strings.Cut(strings.TrimPrefix(p.Body, "\ufeff"), "\r\n\r\n")
	rows, err := csv.NewReader(strings.NewReader(table)).ReadAll()
	if err != nil {
		t.Fatalf("access CSV: %v", err)
	}
	var inCSV []string
	for _, r := range rows[1:] {
		if r[3] == "đơn vị" {
			inCSV = append(inCSV, r[0])
		}
	}
	slices.Sort(units)
	slices.Sort(inCSV)
	if !slices.Equal(units, inCSV) {
		t.Errorf("the CSV has %d unit rows, the directory %d units\nCSV: %v\nunits: %v", len(inCSV), len(units), inCSV, units)
	}
	if p := op.get("/admin/reports/access.svg"); p.Status != 200 || p.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(p.Body, "<svg") {
		t.Errorf("chart: %d %q %.80q", p.Status, p.Header.Get("Content-Type"), p.Body)
	}
	if p := op.get("/admin/reports/access.png"); p.Status != 200 || !strings.HasPrefix(p.Body, "\x89PNG") {
		t.Errorf("PNG chart: %d %q", p.Status, p.Header.Get("Content-Type"))
	}
	if p := op.get("/admin/reports/usage"); p.Status != 200 || !strings.Contains(p.Body, "Báo cáo sử dụng thư điện tử công vụ") {
		t.Errorf("usage page: %d\n%.3000s", p.Status, p.Body)
	}
	if p := op.get("/admin/reports/usage.csv?period=" + time.Now().Format("2006-01")); p.Status != 200 || !strings.HasPrefix(p.Body, "\ufeffMã đơn vị") {
		t.Errorf("usage CSV: %d %.80q", p.Status, p.Body)
	}
	// Quickstart leaves outbound delivery off.
	if p := op.get("/admin/queue"); p.Status != 200 || !strings.Contains(p.Body, "Gửi thư ra ngoài đang tắt") {
		t.Errorf("queue page: %d\n%.3000s", p.Status, p.Body)
	}

	own := s.signInFirst(s.accountWithRole("unitadmin", func(a account) bool { return unitPart(a.Address) == unitPart(official.Address) }))
	if p := own.get("/admin/audit"); !strings.Contains(p.Body, "13 consecutive failed logins") || !strings.Contains(p.Body, official.Address) {
		t.Errorf("the official's unit admin does not see the lock (%d):\n%.4000s", p.Status, p.Body)
	}
	other := s.signInFirst(s.accountWithRole("unitadmin", func(a account) bool {
		x, y := unitPart(a.Address), unitPart(official.Address)
		return !strings.HasSuffix(x, y) && !strings.HasSuffix(y, x)
	}))
	if p := other.get("/admin/audit?subject=" + url.QueryEscape(official.Address)); p.Status != 200 || strings.Contains(p.Body, "13 consecutive failed logins") {
		t.Errorf("another unit's admin sees the lock (%d):\n%.4000s", p.Status, p.Body)
	}
	if p := other.get("/admin/queue"); p.Status != http.StatusForbidden {
		t.Errorf("a unit admin's queue page: %d", p.Status)
	}
}
