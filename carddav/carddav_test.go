package carddav

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/emersion/go-vcard"
	"github.com/emersion/go-webdav"
	wcard "github.com/emersion/go-webdav/carddav"

	"congvu/addressbook"
	"congvu/directory"
	"congvu/directory/sqldir"
)

const (
	me     = "annv.skhcn@khanhhoa.gov.vn"
	mePass = "Mật-khẩu-0!"
)

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv, _, _ := newServerWith(t)
	return srv
}

// newServerWith also returns the directory and the danh bạ it serves.
func newServerWith(t *testing.T) (*httptest.Server, *sqldir.DB, *addressbook.Book) {
	t.Helper()
	ctx := context.Background()
	dir, err := sqldir.Open(filepath.Join(t.TempDir(), "d.db"), sqldir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dir.Close() })
	for _, u := range []directory.Unit{
		{Code: "56", Name: "Tỉnh Khánh Hòa", Kind: directory.UnitProvince},
		{Code: "56.skhcn", Name: "Sở Khoa học và Công nghệ", Abbr: "skhcn", Kind: directory.UnitDepartment, ParentCode: "56"},
		{Code: "56.syt", Name: "Sở Y tế", Abbr: "syt", Kind: directory.UnitDepartment, ParentCode: "56"},
	} {
		if err := dir.PutUnit(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	for i, a := range []directory.Account{
		{Address: me, DisplayName: "Nguyễn Văn An", Title: "Chuyên viên", UnitCode: "56.skhcn", Phone: "0258 3812 345"},
		{Address: "binhnv.syt@khanhhoa.gov.vn", DisplayName: "Nguyễn Văn Bình", UnitCode: "56.syt"},
		{Address: "dungtt.skhcn@khanhhoa.gov.vn", DisplayName: "Trần Thị Dung", UnitCode: "56.skhcn"},
		{Address: "cu.skhcn@khanhhoa.gov.vn", DisplayName: "Nguyễn Văn Cũ", UnitCode: "56.skhcn", State: directory.StateRetired},
	} {
		pass := ""
		if i == 0 {
			pass = mePass
		}
		if err := dir.PutAccount(ctx, a, pass); err != nil {
			t.Fatal(err)
		}
	}
	personal, err := OpenPersonal(t.TempDir(), 2)
	if err != nil {
		t.Fatal(err)
	}
	book := addressbook.New(dir, addressbook.Options{})
	h := New(Options{Book: book, Dir: dir, Personal: personal})
	mux := http.NewServeMux()
	mux.Handle("/.well-known/carddav", h)
	mux.Handle(Prefix+"/", h)
	mux.Handle(Prefix, h)
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	return srv, dir, book
}

func authed(srv *httptest.Server, user, pass string) webdav.HTTPClient {
	return webdav.HTTPClientWithBasicAuth(srv.Client(), user, pass)
}

func raw(t *testing.T, srv *httptest.Server, method, path, body string, hdr map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	req.SetBasicAuth(me, mePass)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := *srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestDiscoveryAndSearch(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	// No password: a Basic challenge.
	resp, err := srv.Client().Get(srv.URL + "/.well-known/carddav")
	if err != nil || resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
		t.Fatalf("unauthenticated: %v %v", err, resp)
	}
	if r := raw(t, srv, "GET", "/.well-known/carddav", "", nil); r.StatusCode != http.StatusPermanentRedirect || r.Header.Get("Location") != "/carddav/"+me+"/" {
		t.Errorf("well-known: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	c, err := wcard.NewClient(authed(srv, me, mePass), srv.URL+"/carddav/")
	if err != nil {
		t.Fatal(err)
	}
	principal, err := c.FindCurrentUserPrincipal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	home, err := c.FindAddressBookHomeSet(ctx, principal)
	if err != nil || home != "/carddav/"+me+"/books/" {
		t.Fatalf("home set %q %v", home, err)
	}
	books, err := c.FindAddressBooks(ctx, home)
	if err != nil || len(books) != 3 {
		t.Fatalf("books %+v %v", books, err)
	}
	// The province: everybody not retired; the unit: only Sở KH&CN.
	count := func(book string) []string {
		aos, err := c.QueryAddressBook(ctx, home+book+"/", &wcard.AddressBookQuery{DataRequest: wcard.AddressDataRequest{AllProp: true}})
		if err != nil {
			t.Fatalf("%s: %v", book, err)
		}
		var out []string
		for _, ao := range aos {
			out = append(out, ao.Card.PreferredValue(vcard.FieldEmail))
		}
		sort.Strings(out)
		return out
	}
	if got := fmt.Sprint(count("tinh")); got != "[annv.skhcn@khanhhoa.gov.vn binhnv.syt@khanhhoa.gov.vn dungtt.skhcn@khanhhoa.gov.vn]" {
		t.Errorf("tinh: %s", got)
	}
	if got := fmt.Sprint(count("donvi")); got != "[annv.skhcn@khanhhoa.gov.vn dungtt.skhcn@khanhhoa.gov.vn]" {
		t.Errorf("donvi: %s", got)
	}
	// "nguyen van" finds the Nguyễn Văn colleagues, without diacritics.
	aos, err := c.QueryAddressBook(ctx, home+"tinh/", &wcard.AddressBookQuery{
		DataRequest: wcard.AddressDataRequest{AllProp: true},
		PropFilters: []wcard.PropFilter{{Name: vcard.FieldFormattedName, TextMatches: []wcard.TextMatch{{Text: "nguyen van"}}}},
	})
	if err != nil || len(aos) != 2 {
		t.Fatalf("nguyen van: %d %v", len(aos), err)
	}
	for _, ao := range aos {
		if ao.Card.Value(vcard.FieldVersion) != "3.0" || !strings.HasPrefix(ao.Card.Value(vcard.FieldFormattedName), "Nguyễn Văn") {
			t.Errorf("card %v", ao.Card)
		}
	}
	// Raw REPORT asking for vCard 4.0.
	r := raw(t, srv, "REPORT", "/carddav/"+me+"/books/donvi/", `<?xml version="1.0" encoding="utf-8"?>
<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
  <D:prop><D:getetag/><C:address-data content-type="text/vcard" version="4.0"/></D:prop>
  <C:filter><C:prop-filter name="EMAIL"><C:text-match match-type="starts-with">DUNG</C:text-match></C:prop-filter></C:filter>
</C:addressbook-query>`, map[string]string{"Content-Type": "application/xml", "Depth": "1"})
	body, _ := io.ReadAll(r.Body)
	if r.StatusCode != 207 || !strings.Contains(string(body), "VERSION:4.0") || !strings.Contains(string(body), "dungtt.skhcn@khanhhoa.gov.vn") ||
		strings.Contains(string(body), "donvi/annv.skhcn@khanhhoa.gov.vn.vcf") {
		t.Errorf("REPORT v4: %d\n%s", r.StatusCode, body)
	}
	// Raw PROPFIND Depth 1 on the home set lists the books with their names.
	r = raw(t, srv, "PROPFIND", "/carddav/"+me+"/books/", `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:displayname/><D:resourcetype/></D:prop></D:propfind>`,
		map[string]string{"Depth": "1", "Content-Type": "application/xml"})
	body, _ = io.ReadAll(r.Body)
	if r.StatusCode != 207 || !strings.Contains(string(body), "Danh bạ toàn tỉnh") || !strings.Contains(string(body), "addressbook") {
		t.Errorf("PROPFIND: %d\n%s", r.StatusCode, body)
	}
	// Another official's books are not for me.
	if r := raw(t, srv, "PROPFIND", "/carddav/dungtt.skhcn@khanhhoa.gov.vn/books/canhan/", "", map[string]string{"Depth": "1"}); r.StatusCode != 403 {
		t.Errorf("other user's book: %d", r.StatusCode)
	}
}

func TestPersonalBookReadWrite(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	c, _ := wcard.NewClient(authed(srv, me, mePass), srv.URL+"/carddav/")
	home := "/carddav/" + me + "/books/"
	card := vcard.Card{}
	card.SetValue(vcard.FieldVersion, "3.0")
	card.SetValue(vcard.FieldUID, "c1")
	card.SetValue(vcard.FieldFormattedName, "Phạm Minh Châu")
	card.SetName(&vcard.Name{FamilyName: "Phạm", GivenName: "Châu", AdditionalName: "Minh"})
	card.AddValue(vcard.FieldEmail, "chau@example.org")
	if _, err := c.PutAddressObject(ctx, home+"tinh/c1.vcf", card); err == nil {
		t.Error("PUT into the province book succeeded")
	}
	ao, err := c.PutAddressObject(ctx, home+"canhan/c1.vcf", card)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetAddressObject(ctx, home+"canhan/c1.vcf")
	if err != nil || got.Card.Value(vcard.FieldFormattedName) != "Phạm Minh Châu" || got.ETag == "" {
		t.Fatalf("GET back: %+v %v", got, err)
	}
	// If-None-Match: * on an existing card; then a stale If-Match.
	r := raw(t, srv, "PUT", home+"canhan/c1.vcf", "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c1\r\nFN:X\r\nEND:VCARD\r\n",
		map[string]string{"If-None-Match": "*", "Content-Type": "text/vcard"})
	if r.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("If-None-Match on existing: %d", r.StatusCode)
	}
	r = raw(t, srv, "PUT", home+"canhan/c1.vcf", "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c1\r\nFN:X\r\nEND:VCARD\r\n",
		map[string]string{"If-Match": `"stale"`, "Content-Type": "text/vcard"})
	if r.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("stale If-Match: %d", r.StatusCode)
	}
	// Without UID: refused (RFC 6352 5.1).
	r = raw(t, srv, "PUT", home+"canhan/c2.vcf", "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Y\r\nEND:VCARD\r\n", map[string]string{"Content-Type": "text/vcard"})
	if r.StatusCode/100 == 2 {
		t.Errorf("card without UID stored: %d", r.StatusCode)
	}
	// A 4.0 card comes back as 4.0 to a 4.0 reader and 3.0 otherwise.
	r = raw(t, srv, "PUT", home+"canhan/c3.vcf", "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:3\r\nFN:Lê Thị Hoa\r\nTEL;VALUE=uri;TYPE=cell:tel:+84-90-123-4567\r\nEND:VCARD\r\n", map[string]string{"Content-Type": "text/vcard"})
	if r.StatusCode/100 != 2 {
		t.Fatalf("PUT 4.0: %d", r.StatusCode)
	}
	r = raw(t, srv, "GET", home+"canhan/c3.vcf", "", nil)
	body, _ := io.ReadAll(r.Body)
	if !strings.Contains(string(body), "VERSION:3.0") || !strings.Contains(string(body), "TEL;TYPE=cell:+84-90-123-4567") {
		t.Errorf("3.0 view:\n%s", body)
	}
	// The personal book holds at most 2 cards here.
	r = raw(t, srv, "PUT", home+"canhan/c4.vcf", "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c4\r\nFN:Z\r\nEND:VCARD\r\n", map[string]string{"Content-Type": "text/vcard"})
	if r.StatusCode != http.StatusInsufficientStorage {
		t.Errorf("over the limit: %d", r.StatusCode)
	}
	if err := c.RemoveAll(ctx, ao.Path); err != nil {
		t.Errorf("DELETE: %v", err)
	}
	if _, err := c.GetAddressObject(ctx, home+"canhan/c1.vcf"); err == nil {
		t.Error("deleted card still there")
	}
}
