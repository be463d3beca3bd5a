package danhba

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"congvu/addressbook"
	"congvu/directory"
	"congvu/internal/mailerr"
	"congvu/web/webtest"
)

func get(t *testing.T, h http.Handler, target string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestDanhbaSearch(t *testing.T) {
	h := New(addressbook.New(webtest.Seed(t, 0), addressbook.Options{}), Options{})
	for _, tc := range []struct {
		q         string
		want, not []string
	}{
		{"nguyen van an", []string{"Nguyễn Văn An", "anv.skhcn@khanhhoa.gov.vn", "0258 3822 000"}, []string{"Nguyễn Ngọc Thành"}},
		{"Nguyễn Văn An", []string{"anv.skhcn@khanhhoa.gov.vn"}, []string{"tramdt"}},
		{"NGUYEN", []string{"anv.skhcn@", "thanhnn.skhcn@"}, []string{"tramdt"}},   // locked still listed
		{"dang thuy tram", []string{"Đặng Thùy Trâm"}, []string{"anv.skhcn@"}},     // đ → d
		{"thanhnn.skhcn", []string{"Nguyễn Ngọc Thành"}, []string{"anv.skhcn@"}},   // by address
		{"giam doc", []string{"anv.skhcn@", "thanhnn.skhcn@"}, []string{"tramdt"}}, // by title
		{"phuong nha trang", []string{"tramdt.nhatrang@"}, []string{"anv.skhcn@"}}, // by unit
		{"tran thi binh", []string{"Không tìm thấy"}, []string{"binhtt"}},          // retired
		{"<script>", []string{"&lt;script&gt;"}, []string{"<script>"}},             // escaped
	} {
		res, page := get(t, h, "/danhba?q="+strings.ReplaceAll(tc.q, " ", "+"))
		if res.StatusCode != 200 {
			t.Fatalf("q=%q: status %d", tc.q, res.StatusCode)
		}
		for _, w := range tc.want {
			if !strings.Contains(page, w) {
				t.Errorf("q=%q: page lacks %q", tc.q, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(page, n) {
				t.Errorf("q=%q: page has %q", tc.q, n)
			}
		}
	}
}

func TestDanhbaNameMatchesFirst(t *testing.T) {
	src, err := addressbook.New(webtest.Seed(t, 0), addressbook.Options{}).Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	snap := view(src, time.Now())
	// Put the title match first in tree order; the name matches must still lead.
	slices.SortStableFunc(snap.entries, func(a, b entry) int {
		return cmp.Compare(btoi(a.Address != "tramdt.nhatrang@khanhhoa.gov.vn"), btoi(b.Address != "tramdt.nhatrang@khanhhoa.gov.vn"))
	})
	var got []string
	for _, e := range snap.filter("", "van") {
		got = append(got, strings.Split(e.Address, "@")[0])
	}
	if want := []string{"anv.skhcn", "duclv.vanphong.skhcn", "tramdt.nhatrang"}; !slices.Equal(got, want) {
		t.Errorf("q=van: %q, want %q", got, want)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestDanhbaHeadersAndPrivacy(t *testing.T) {
	h := New(addressbook.New(webtest.Seed(t, 0), addressbook.Options{}), Options{})
	for _, path := range []string{"/danhba", "/danhba.csv", "/danhba.vcf", "/danhba.ldif"} {
		res, body := get(t, h, path)
		if res.StatusCode != 200 {
			t.Fatalf("%s: status %d", path, res.StatusCode)
		}
		csp := res.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", path)
		}
		// Private attributes: state, quota, role, password data.
		for _, secret := range []string{"987654321", "argon2", webtest.SecretPW, "locked", "retired", "binhtt", "Trần Thị Bình", "unitadmin"} {
			if strings.Contains(body, secret) {
				t.Errorf("%s: output contains private %q", path, secret)
			}
		}
		if path != "/danhba" {
			if cd := res.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, `filename="danhba`+path[len("/danhba"):]) {
				t.Errorf("%s: Content-Disposition %q", path, cd)
			}
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/danhba", strings.NewReader("q=x")))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") == "" {
		t.Errorf("POST: %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}

func TestDanhbaUnitBrowse(t *testing.T) {
	h := New(addressbook.New(webtest.Seed(t, 0), addressbook.Options{}), Options{})
	_, page := get(t, h, "/danhba")
	if !strings.Contains(page, `href="danhba?unit=56"`) || !strings.Contains(page, "Ủy ban nhân dân tỉnh Khánh Hòa") {
		t.Errorf("top page lacks the province link:\n%s", page)
	}
	_, page = get(t, h, "/danhba?unit=56")
	for _, want := range []string{`href="danhba?unit=56.skhcn"`, `href="danhba?unit=22333"`, "Sở Khoa học và Công nghệ", "Phường Nha Trang"} {
		if !strings.Contains(page, want) {
			t.Errorf("province page lacks %q", want)
		}
	}
	_, page = get(t, h, "/danhba?unit=56.skhcn")
	for _, want := range []string{"Văn phòng Sở", `href="danhba?unit=56.skhcn.vp"`, "anv.skhcn@", "duclv.vanphong.skhcn@", "Hộp thư đơn vị", "skhcn@khanhhoa.gov.vn", `href="danhba.csv?unit=56.skhcn"`} {
		if !strings.Contains(page, want) {
			t.Errorf("department page lacks %q", want)
		}
	}
	if strings.Contains(page, "tramdt") {
		t.Error("department page lists a commune official")
	}
	// The unit mailbox comes first in its unit.
	if i, j := strings.Index(page, ">skhcn@khanhhoa.gov.vn<"), strings.Index(page, "anv.skhcn@"); i < 0 || i > j {
		t.Error("unit mailbox not listed first")
	}
	if res, _ := get(t, h, "/danhba?unit=nope"); res.StatusCode != 404 {
		t.Errorf("unknown unit: %d", res.StatusCode)
	}
}

func TestDanhbaPagination(t *testing.T) {
	h := New(addressbook.New(webtest.Seed(t, 120), addressbook.Options{}), Options{})
	_, page := get(t, h, "/danhba?unit=22333")
	if n := strings.Count(page, "<tr><td>"); n != 50 {
		t.Errorf("page 1 has %d rows, want 50", n)
	}
	for _, want := range []string{"1–50 / 121", `href="danhba?page=2&amp;unit=22333"`, `href="danhba?page=3&amp;unit=22333"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page 1 lacks %q", want)
		}
	}
	_, page = get(t, h, "/danhba?unit=22333&page=3")
	if n := strings.Count(page, "<tr><td>"); n != 21 || !strings.Contains(page, "101–121 / 121") {
		t.Errorf("page 3 has %d rows", n)
	}
	_, page = get(t, h, "/danhba?unit=22333&page=99") // clamped to the last page
	if !strings.Contains(page, "101–121 / 121") {
		t.Error("page 99 not clamped to the last page")
	}
	for _, bad := range []string{"0", "-1", "abc", "1e3"} {
		if res, _ := get(t, h, "/danhba?page="+bad); res.StatusCode != 400 {
			t.Errorf("page=%s: status %d, want 400", bad, res.StatusCode)
		}
	}
	// Exports are not paginated.
	_, body := get(t, h, "/danhba.csv?unit=22333")
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff"))).ReadAll()
	if err != nil || len(rows) != 122 {
		t.Errorf("CSV of the commune: %d rows, %v", len(rows), err)
	}
}

func TestDanhbaCSV(t *testing.T) {
	h := New(addressbook.New(webtest.Seed(t, 0), addressbook.Options{}), Options{})
	res, body := get(t, h, "/danhba.csv?unit=56.skhcn")
	if !strings.HasPrefix(body, "\ufeff") {
		t.Fatal("CSV has no UTF-8 byte order mark")
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename="danhba-56.skhcn.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	rows, err := csv.NewReader(strings.NewReader(body[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows[0], "|"); got != "Họ và tên|Chức vụ|Đơn vị|Thư điện tử|Điện thoại" {
		t.Errorf("header %q", got)
	}
	want := map[string][]string{
		"skhcn@khanhhoa.gov.vn":                {"Sở Khoa học và Công nghệ", "Hộp thư đơn vị", "Sở Khoa học và Công nghệ", "skhcn@khanhhoa.gov.vn", ""},
		"anv.skhcn@khanhhoa.gov.vn":            {"Nguyễn Văn An", "Giám đốc", "Sở Khoa học và Công nghệ", "anv.skhcn@khanhhoa.gov.vn", "0258 3822 000"},
		"thanhnn.skhcn@khanhhoa.gov.vn":        {"Nguyễn Ngọc Thành", "Phó Giám đốc", "Sở Khoa học và Công nghệ", "thanhnn.skhcn@khanhhoa.gov.vn", ""},
		"duclv.vanphong.skhcn@khanhhoa.gov.vn": {"Lê Văn Đức", webtest.LongTitle, "Văn phòng Sở", "duclv.vanphong.skhcn@khanhhoa.gov.vn", "+84 905 123 456"},
	}
	if len(rows) != 1+len(want) {
		t.Errorf("%d rows, want %d (sub-units included, retired excluded)", len(rows)-1, len(want))
	}
	for _, r := range rows[1:] {
		if w, ok := want[r[3]]; !ok || strings.Join(w, "|") != strings.Join(r, "|") {
			t.Errorf("row %q, want %q", r, w)
		}
	}
	_, body = get(t, h, "/danhba.csv?q=nguyen+van+an")
	if n := strings.Count(body, "\n"); n != 2 {
		t.Errorf("CSV for q: %d lines:\n%s", n, body)
	}
}

func TestDanhbaCSVCell(t *testing.T) {
	for in, want := range map[string]string{"=1+1": "'=1+1", "@SUM(A1)": "'@SUM(A1)", "+84 905 123 456": "+84 905 123 456",
		"-2+3+cmd|' /C calc'!A0": "'-2+3+cmd|' /C calc'!A0", "Giám đốc": "Giám đốc"} {
		if got := cell(in); got != want {
			t.Errorf("cell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDanhbaVCard(t *testing.T) {
	h := New(addressbook.New(webtest.Seed(t, 0), addressbook.Options{}), Options{})
	res, body := get(t, h, "/danhba.vcf?unit=56.skhcn")
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/vcard") {
		t.Errorf("Content-Type %q", ct)
	}
	if strings.Contains(strings.ReplaceAll(body, "\r\n", ""), "\n") {
		t.Error("bare LF in vCard")
	}
	folded := false
	for _, l := range strings.Split(strings.TrimSuffix(body, "\r\n"), "\r\n") {
		if len(l) > 75 {
			t.Errorf("line of %d octets: %q", len(l), l)
		}
		if !utf8.ValidString(l) {
			t.Errorf("line splits a UTF-8 sequence: %q", l)
		}
		folded = folded || strings.HasPrefix(l, " ")
	}
	if !folded {
		t.Error("no folded line although a title is longer than 75 octets")
	}
	// Unfold (RFC 6350 3.2) and parse into cards.
	var cards []map[string][]string
	var card map[string][]string
	for _, l := range strings.Split(strings.ReplaceAll(body, "\r\n ", ""), "\r\n") {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		prop, _, _ := strings.Cut(name, ";")
		switch {
		case l == "BEGIN:VCARD":
			card = map[string][]string{}
		case l == "END:VCARD":
			cards = append(cards, card)
			card = nil
		case card != nil:
			card[prop] = append(card[prop], value)
		}
	}
	if len(cards) != 4 {
		t.Fatalf("%d cards, want 4:\n%s", len(cards), body)
	}
	byMail := map[string]map[string][]string{}
	for _, c := range cards {
		if len(c["VERSION"]) != 1 || c["VERSION"][0] != "4.0" || len(c["FN"]) != 1 || len(c["EMAIL"]) != 1 {
			t.Errorf("card %v lacks VERSION 4.0, FN or EMAIL", c)
			continue
		}
		byMail[c["EMAIL"][0]] = c
	}
	an := byMail["anv.skhcn@khanhhoa.gov.vn"]
	if an["FN"][0] != "Nguyễn Văn An" || an["N"][0] != "Nguyễn;An;Văn;;" || an["TEL"][0] != "tel:02583822000" ||
		an["ORG"][0] != "Ủy ban nhân dân tỉnh Khánh Hòa;Sở Khoa học và Công nghệ" {
		t.Errorf("card of Nguyễn Văn An: %v", an)
	}
	duc := byMail["duclv.vanphong.skhcn@khanhhoa.gov.vn"]
	if want := `Phó Trưởng phòng Quản lý khoa học\, công nghệ\; đổi mới sáng tạo và chuyển đổi số`; len(duc["TITLE"]) != 1 || duc["TITLE"][0] != want {
		t.Errorf("escaped TITLE %q, want %q", duc["TITLE"], want)
	}
	if unit := byMail["skhcn@khanhhoa.gov.vn"]; len(unit["KIND"]) != 1 || unit["KIND"][0] != "org" {
		t.Errorf("unit mailbox card %v", unit)
	}
	if got := vcardEscape(`a\b,c;d` + "\ne"); got != `a\\b\,c\;d\ne` {
		t.Errorf("vcardEscape: %q", got)
	}
}

func TestDanhbaLDIF(t *testing.T) {
	h := New(addressbook.New(webtest.Seed(t, 0), addressbook.Options{}), Options{})
	_, body := get(t, h, "/danhba.ldif?q=nguyen+van+an")
	body = strings.ReplaceAll(body, "\n ", "") // unfold (RFC 2849)
	if !strings.HasPrefix(body, "version: 1\n") {
		t.Errorf("no version line:\n%s", body)
	}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, want := range []string{
		"dn:: " + b64("cn=Nguyễn Văn An+mail=anv.skhcn@khanhhoa.gov.vn,ou=danhba") + "\n",
		"cn:: " + b64("Nguyễn Văn An") + "\n",
		"sn:: " + b64("Nguyễn") + "\n",
		"givenName: An\n",
		"mail: anv.skhcn@khanhhoa.gov.vn\n",
		"telephoneNumber: 0258 3822 000\n",
		"objectClass: inetOrgPerson\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("LDIF lacks %q:\n%s", want, body)
		}
	}
	// Long base64 values are folded and unfold back.
	_, body = get(t, h, "/danhba.ldif?unit=56.skhcn.vp")
	unfolded := strings.ReplaceAll(body, "\n ", "")
	if !strings.Contains(unfolded, "title:: "+b64(webtest.LongTitle)+"\n") {
		t.Errorf("LDIF lacks the base64 title:\n%s", body)
	}
	for _, l := range strings.Split(body, "\n") {
		if len(l) > 76 {
			t.Errorf("LDIF line of %d: %q", len(l), l)
		}
	}
	if got := dnEscape(" a,b+c#"); got != `\ a\,b\+c#` {
		t.Errorf("dnEscape: %q", got)
	}
}

// downDir is a directory whose backend cannot be reached.
type downDir struct{ calls atomic.Int32 }

func (d *downDir) err() error {
	d.calls.Add(1)
	return mailerr.ErrDirectoryUnavailable.With(errors.New("ldap: dial tcp 10.9.8.7:636: connection refused"))
}
func (d *downDir) Lookup(context.Context, string) (*directory.Account, error) { return nil, d.err() }
func (d *downDir) Authenticate(context.Context, string, string) (*directory.Account, error) {
	return nil, d.err()
}
func (d *downDir) Units(context.Context) ([]directory.Unit, error)               { return nil, d.err() }
func (d *downDir) Accounts(context.Context, string) ([]directory.Account, error) { return nil, d.err() }

func TestDanhbaUnavailable(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	dir := &downDir{}
	clock := func() time.Time { return now }
	h := New(addressbook.New(dir, addressbook.Options{Now: clock}), Options{Now: clock})
	for _, path := range []string{"/danhba?q=an", "/danhba.csv", "/danhba.vcf", "/danhba.ldif"} {
		res, page := get(t, h, path)
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s: status %d, want 503", path, res.StatusCode)
		}
		for _, want := range []string{"Danh bạ tạm thời không truy cập được", "Directory temporarily unavailable"} {
			if !strings.Contains(page, want) {
				t.Errorf("%s: page lacks %q", path, want)
			}
		}
		if strings.Contains(page, "10.9.8.7") || strings.Contains(page, "ldap:") || res.Header.Get("Content-Disposition") != "" {
			t.Errorf("%s: leaks internal text or offers a download:\n%s", path, page)
		}
	}
	if n := dir.calls.Load(); n != 1 {
		t.Errorf("%d directory calls during an outage, want 1 (failure cached briefly)", n)
	}
	now = now.Add(6 * time.Second)
	get(t, h, "/danhba")
	if n := dir.calls.Load(); n != 2 {
		t.Errorf("%d directory calls after the failure expired, want 2", n)
	}
}

// countingDir counts fetches of the unit list.
type countingDir struct {
	directory.Directory
	units atomic.Int32
}

func (c *countingDir) Units(ctx context.Context) ([]directory.Unit, error) {
	c.units.Add(1)
	return c.Directory.Units(ctx)
}

func TestDanhbaCache(t *testing.T) {
	w := webtest.Seed(t, 0)
	dir := &countingDir{Directory: w}
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	h := New(addressbook.New(dir, addressbook.Options{TTL: 30 * time.Second, Now: clock}), Options{Now: clock})
	for range 5 {
		get(t, h, "/danhba?q=an")
	}
	get(t, h, "/danhba.csv")
	if n := dir.units.Load(); n != 1 {
		t.Errorf("%d fetches within the TTL, want 1", n)
	}
	if err := w.(directory.Writer).SetState(t.Context(), "anv.skhcn@khanhhoa.gov.vn", directory.StateRetired); err != nil {
		t.Fatal(err)
	}
	now = now.Add(31 * time.Second)
	_, page := get(t, h, "/danhba?q=nguyen+van+an")
	if n := dir.units.Load(); n != 2 || strings.Contains(page, "anv.skhcn@") {
		t.Errorf("after the TTL: %d fetches, retired official listed: %v", n, strings.Contains(page, "anv.skhcn@"))
	}
}

// A merged province's old domain is shown as an alias of the new one.
func TestDanhbaAliasDomains(t *testing.T) {
	h := New(addressbook.New(webtest.Seed(t, 0), addressbook.Options{}), Options{AliasDomains: func(context.Context) ([]AliasDomain, error) {
		return []AliasDomain{{Old: "ninhthuan.gov.vn", New: "khanhhoa.gov.vn"}}, nil
	}})
	_, page := get(t, h, "/danhba")
	if !strings.Contains(page, "Tên miền <strong>ninhthuan.gov.vn</strong> (cũ) là bí danh của <strong>khanhhoa.gov.vn</strong>") ||
		!strings.Contains(page, "mail to anyone@ninhthuan.gov.vn is delivered to anyone@khanhhoa.gov.vn") {
		t.Errorf("the danh bạ does not show the alias domain:\n%.2000s", page)
	}
	_, page = get(t, New(addressbook.New(webtest.Seed(t, 0), addressbook.Options{}), Options{}), "/danhba")
	if strings.Contains(page, "bí danh") {
		t.Error("an alias shown without any")
	}
}
