// Package webtest starts the authenticated web for the rooms' tests: a
// small province in a real sqldir, the site with the account pages (and
// whatever rooms a test registers) on an httptest TLS server, a settable
// clock, a recording login policy, and a browser with a cookie jar that
// fills in the CSRF token of each form.
package webtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"congvu/directory"
	"congvu/directory/sqldir"
	"congvu/internal/mailerr"
	"congvu/web/account"
	"congvu/web/core"
)

const (
	AnAddr  = "anv.skhcn@khanhhoa.gov.vn"
	DucAddr = "duclv.vanphong.skhcn@khanhhoa.gov.vn"
)

// Clock is a settable clock starting now (the directory stamps
// PasswordChanged with the real time).
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// FlakyDir is a directory that can be made unreachable.
type FlakyDir struct {
	directory.Writer
	Down atomic.Bool
}

func (f *FlakyDir) Authenticate(ctx context.Context, login, pw string) (*directory.Account, error) {
	if f.Down.Load() {
		return nil, mailerr.ErrDirectoryUnavailable
	}
	return f.Writer.Authenticate(ctx, login, pw)
}

func (f *FlakyDir) Lookup(ctx context.Context, address string) (*directory.Account, error) {
	if f.Down.Load() {
		return nil, mailerr.ErrDirectoryUnavailable
	}
	return f.Writer.Lookup(ctx, address)
}

// FakePolicy records the hooks and refuses what the test asks.
type FakePolicy struct {
	mu        sync.Mutex
	Throttled string // login refused by BeforeLogin
	LockAfter int    // failures of one login that turn into a lock
	Failures  map[string]int
	accesses  []string
	AfterIPs  []string
}

func (p *FakePolicy) BeforeLogin(_ context.Context, login string, ip net.IP) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if login == p.Throttled {
		return &mailerr.Error{SMTPCode: 454, Enhanced: [3]int{4, 7, 0}, Temporary: true, IMAPCode: "UNAVAILABLE",
			Message: "Too many failed logins", MessageVI: "Đăng nhập sai quá nhiều lần từ địa chỉ của bạn"}
	}
	return nil
}

func (p *FakePolicy) AfterLogin(_ context.Context, login string, ip net.IP, _ *directory.Account, authErr error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.AfterIPs = append(p.AfterIPs, ip.String())
	if authErr == nil {
		// Like the engine: a successful login is that day's access.
		delete(p.Failures, login)
		p.accesses = append(p.accesses, login)
		return nil
	}
	if p.Failures == nil {
		p.Failures = map[string]int{}
	}
	p.Failures[login]++
	if p.LockAfter > 0 && p.Failures[login] >= p.LockAfter {
		return mailerr.ErrAccountDisabled.WithMessage("Locked after too many failures", "Tài khoản đã bị khoá do nhập sai mật khẩu quá nhiều lần")
	}
	return nil
}

func (p *FakePolicy) RecordAccess(_ context.Context, address string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.accesses = append(p.accesses, address)
}

func (p *FakePolicy) AccessCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.accesses)
}

// Env is the site on a test server.
type Env struct {
	T      *testing.T
	Srv    *httptest.Server
	Dir    *FlakyDir
	Site   *core.Site
	Clock  *Clock
	Policy *FakePolicy

	opts     core.Options
	account  account.Options
	register []func(*core.Site)
}

// New starts the site with the account pages and the rooms register
// adds; tune may change the site's options first.
func New(t *testing.T, tune func(*core.Options), register ...func(*core.Site)) *Env {
	t.Helper()
	return NewAccount(t, tune, account.Options{}, register...)
}

// NewAccount is New with the account pages' options.
func NewAccount(t *testing.T, tune func(*core.Options), acct account.Options, register ...func(*core.Site)) *Env {
	t.Helper()
	e := &Env{T: t, Dir: &FlakyDir{Writer: Seed(t, 0)}, Clock: &Clock{t: time.Now()}, Policy: &FakePolicy{}}
	opts := core.Options{Dir: e.Dir, Policy: e.Policy, Now: e.Clock.Now}
	if tune != nil {
		tune(&opts)
	}
	e.opts, e.register, e.account = opts, register, acct
	e.Site = e.newSite()
	e.Srv = httptest.NewTLSServer(e.Site)
	t.Cleanup(e.Srv.Close)
	return e
}

func (e *Env) newSite() *core.Site {
	site := core.New(e.opts)
	account.Register(site, e.account)
	for _, r := range e.register {
		r(site)
	}
	return site
}

// Restart replaces the site with a new one built from the same options,
// as a restart of the server does; browsers keep their cookies.
func (e *Env) Restart() {
	e.Site = e.newSite()
	e.Srv.Config.Handler = e.Site
}

// Browser is one cookie jar talking to the test server.
type Browser struct {
	E      *Env
	C      *http.Client
	Header http.Header // added to every request
}

// Browser returns a new browser without cookies.
func (e *Env) Browser() *Browser {
	jar, _ := cookiejar.New(nil)
	c := *e.Srv.Client() // the server's client is shared: copy it
	c.Jar = jar
	return &Browser{E: e, C: &c, Header: http.Header{"Sec-Fetch-Site": {"same-origin"}}}
}

// Response is a response with its body read.
type Response struct {
	*http.Response
	Body string
}

// Do sends a request, a form when form is not nil, following redirects.
func (b *Browser) Do(method, path string, form url.Values) Response {
	b.E.T.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.E.Srv.URL+path, body)
	if err != nil {
		b.E.T.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range b.Header {
		req.Header[k] = v
	}
	res, err := b.C.Do(req)
	if err != nil {
		b.E.T.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return Response{res, string(data)}
}

// Get fetches path.
func (b *Browser) Get(path string) Response { return b.Do("GET", path, nil) }

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// CSRF returns the form token of the page at path.
func (b *Browser) CSRF(path string) string {
	b.E.T.Helper()
	r := b.Get(path)
	m := csrfField.FindStringSubmatch(r.Body)
	if m == nil {
		b.E.T.Fatalf("no CSRF field on %s (%d):\n%.1500s", path, r.StatusCode, r.Body)
	}
	return m[1]
}

// Post submits a form of the page at from, with its token.
func (b *Browser) Post(from, action string, form url.Values) Response {
	b.E.T.Helper()
	form.Set("csrf", b.CSRF(from))
	return b.Do("POST", action, form)
}

// File is a file a multipart form uploads.
type File struct {
	Field, Name, Type string
	Data              []byte
}

// PostMultipart submits a multipart form (one with files) of the page at
// from, its CSRF token first as the site requires; fields keep their order.
func (b *Browser) PostMultipart(from, action string, fields [][2]string, files []File) Response {
	b.E.T.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf", b.CSRF(from))
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, f.Field, f.Name))
		h.Set("Content-Type", f.Type)
		w, _ := mw.CreatePart(h)
		w.Write(f.Data)
	}
	mw.Close()
	req, err := http.NewRequest("POST", b.E.Srv.URL+action, &body)
	if err != nil {
		b.E.T.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	for k, v := range b.Header {
		req.Header[k] = v
	}
	res, err := b.C.Do(req)
	if err != nil {
		b.E.T.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return Response{res, string(data)}
}

// Login signs in through the form.
func (b *Browser) Login(address, pw string) Response {
	b.E.T.Helper()
	return b.Post("/login", "/login", url.Values{"login": {address}, "password": {pw}})
}

// Expect checks the status and that the page has each of wants.
func Expect(t *testing.T, r Response, status int, wants ...string) {
	t.Helper()
	if r.StatusCode != status {
		t.Errorf("%s %s: status %d, want %d\n%.2500s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.Body)
		return
	}
	for _, w := range wants {
		if !strings.Contains(r.Body, w) {
			t.Errorf("%s %s: page lacks %q\n%.2500s", r.Request.Method, r.Request.URL.Path, w, r.Body)
		}
	}
}

const (
	LongTitle = "Phó Trưởng phòng Quản lý khoa học, công nghệ; đổi mới sáng tạo và chuyển đổi số"
	SecretPW  = "MatKhau-RatBiMat-2025"
)

// seed builds a small province in a real sqldir: a department with a
// division, a commune with many officials (for paging), and one retired
// and one locked official.
func Seed(t *testing.T, many int) directory.Writer {
	t.Helper()
	d, err := sqldir.Open(filepath.Join(t.TempDir(), "directory.db"), sqldir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ctx := t.Context()
	for _, u := range []directory.Unit{
		{Code: "56", Name: "Ủy ban nhân dân tỉnh Khánh Hòa", Abbr: "ubnd", Kind: directory.UnitProvince, Address: "ubnd@khanhhoa.gov.vn"},
		{Code: "56.skhcn", Name: "Sở Khoa học và Công nghệ", Abbr: "skhcn", Kind: directory.UnitDepartment, ParentCode: "56", Address: "skhcn@khanhhoa.gov.vn"},
		{Code: "56.skhcn.vp", Name: "Văn phòng Sở", Abbr: "vanphong", Kind: directory.UnitDivision, ParentCode: "56.skhcn"},
		{Code: "22333", Name: "Phường Nha Trang", Abbr: "nhatrang", Kind: directory.UnitCommune, ParentCode: "56"},
	} {
		if err := d.PutUnit(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	put := func(a directory.Account) {
		t.Helper()
		if a.Role == "" {
			a.Role = directory.RoleOfficial
		}
		if a.State == "" {
			a.State = directory.StateActive
		}
		a.QuotaBytes = 987654321
		if err := d.PutAccount(ctx, a, SecretPW); err != nil {
			t.Fatal(err)
		}
	}
	put(directory.Account{Address: "skhcn@khanhhoa.gov.vn", DisplayName: "Sở Khoa học và Công nghệ", UnitCode: "56.skhcn", Role: directory.RoleUnit})
	put(directory.Account{Address: "anv.skhcn@khanhhoa.gov.vn", DisplayName: "Nguyễn Văn An", UnitCode: "56.skhcn", Title: "Giám đốc", Phone: "0258 3822 000"})
	put(directory.Account{Address: "thanhnn.skhcn@khanhhoa.gov.vn", DisplayName: "Nguyễn Ngọc Thành", UnitCode: "56.skhcn", Title: "Phó Giám đốc", State: directory.StateLocked})
	put(directory.Account{Address: "binhtt.skhcn@khanhhoa.gov.vn", DisplayName: "Trần Thị Bình", UnitCode: "56.skhcn", Title: "Chuyên viên", State: directory.StateRetired})
	put(directory.Account{Address: "duclv.vanphong.skhcn@khanhhoa.gov.vn", DisplayName: "Lê Văn Đức", UnitCode: "56.skhcn.vp", Title: LongTitle, Phone: "+84 905 123 456"})
	put(directory.Account{Address: "tramdt.nhatrang@khanhhoa.gov.vn", DisplayName: "Đặng Thùy Trâm", UnitCode: "22333", Title: "Văn thư"})
	for i := range many {
		put(directory.Account{Address: fmt.Sprintf("cv%03d.nhatrang@khanhhoa.gov.vn", i), DisplayName: fmt.Sprintf("Hoàng Minh Chuyên %03d", i), UnitCode: "22333", Title: "Chuyên viên"})
	}
	return d
}
