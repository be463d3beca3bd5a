package carddav

import (
	"context"
	"io"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	wcard "github.com/emersion/go-webdav/carddav"

	"congvu/directory"
)

const (
	tinh       = Prefix + "/" + me + "/books/tinh/"
	donvi      = Prefix + "/" + me + "/books/donvi/"
	canhan     = Prefix + "/" + me + "/books/canhan/"
	syncReport = `<?xml version="1.0" encoding="utf-8"?>
<d:sync-collection xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">
  <d:sync-token>%s</d:sync-token><d:sync-level>1</d:sync-level>%s
  <d:prop><d:getetag/><card:address-data/><x:color xmlns:x="http://example.org/ns/"/></d:prop>
</d:sync-collection>`
)

var (
	tokenRE    = regexp.MustCompile(`<d:sync-token>([^<]+)</d:sync-token>`)
	responseRE = regexp.MustCompile(`(?s)<d:response><d:href>([^<]+)</d:href>(.*?)</d:response>`)
)

// report sends a sync-collection REPORT and returns the status, the
// members reported (href → "404" or its ETag) and the new token.
func report(t *testing.T, srv *httptest.Server, path, token, extra string) (int, map[string]string, string, string) {
	t.Helper()
	body := strings.Replace(strings.Replace(syncReport, "%s", token, 1), "%s", extra, 1)
	resp := raw(t, srv, "REPORT", path, body, map[string]string{"Depth": "0", "Content-Type": "application/xml"})
	b, _ := io.ReadAll(resp.Body)
	members := map[string]string{}
	for _, m := range responseRE.FindAllStringSubmatch(string(b), -1) {
		switch {
		case strings.Contains(m[2], "404 Not Found</d:status></d:response>") || strings.HasPrefix(m[2], "<d:status>HTTP/1.1 404"):
			members[m[1]] = "404"
		default:
			etag := regexp.MustCompile(`<d:getetag>([^<]+)</d:getetag>`).FindStringSubmatch(m[2])
			if etag == nil || !strings.Contains(m[2], "BEGIN:VCARD") || !strings.Contains(m[2], `<x:color xmlns:x="http://example.org/ns/"/></d:prop><d:status>HTTP/1.1 404`) {
				t.Errorf("member %s without its ETag, card or the unknown property as not found:\n%s", m[1], m[2])
				continue
			}
			members[m[1]] = etag[1]
		}
	}
	tok := ""
	if m := tokenRE.FindStringSubmatch(string(b)); m != nil {
		tok = m[1]
	}
	return resp.StatusCode, members, tok, string(b)
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k[strings.LastIndexByte(k, '/')+1:])
	}
	slices.Sort(out)
	return out
}

// RFC 6578 on the raw wire: the book's DAV:sync-token (and the ctag) in
// a Depth: 0 PROPFIND with sync-collection among the supported reports;
// an initial sync lists every published card; the same token again lists
// nothing; after a change in the directory the old token lists the changed
// card (new ETag), the added one and the retired one as 404, with a new
// token; a token of another book, another server run or none of ours is
// refused with 403 DAV:valid-sync-token; the personal book refuses the
// report; a limit below the changes is 507.
func TestSyncCollectionRaw(t *testing.T) {
	srv, dir, book := newServerWith(t)
	ctx := context.Background()

	resp := raw(t, srv, "PROPFIND", tinh, `<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/">
<d:prop><d:sync-token/><cs:getctag/><d:displayname/><d:resourcetype/><d:supported-report-set/><d:quota-used-bytes/></d:prop></d:propfind>`,
		map[string]string{"Depth": "0"})
	b, _ := io.ReadAll(resp.Body)
	prop := string(b)
	if resp.StatusCode != 207 || !tokenRE.MatchString(prop) || !strings.Contains(prop, "<d:sync-collection/>") ||
		!strings.Contains(prop, "Danh bạ toàn tỉnh") || !strings.Contains(prop, "<card:addressbook/>") ||
		!strings.Contains(prop, `<x:quota-used-bytes xmlns:x="DAV:"/></d:prop><d:status>HTTP/1.1 404 Not Found`) {
		t.Fatalf("PROPFIND sync-token: %d\n%s", resp.StatusCode, prop)
	}
	propToken := tokenRE.FindStringSubmatch(prop)[1]

	code, members, t1, body := report(t, srv, tinh, "", "")
	if code != 207 || !slices.Equal(keys(members), []string{"annv.skhcn@khanhhoa.gov.vn.vcf", "binhnv.syt@khanhhoa.gov.vn.vcf", "dungtt.skhcn@khanhhoa.gov.vn.vcf"}) ||
		t1 != propToken {
		t.Fatalf("initial sync: %d %v token %q (PROPFIND gave %q)\n%s", code, keys(members), t1, propToken, body)
	}
	dungTag := members[tinh+"dungtt.skhcn@khanhhoa.gov.vn.vcf"]
	if code, m, tok, body := report(t, srv, tinh, t1, ""); code != 207 || len(m) != 0 || tok != t1 {
		t.Errorf("nothing changed: %d %v %q\n%s", code, m, tok, body)
	}
	_, _, unitToken, _ := report(t, srv, donvi, "", "")

	// The directory changes: a new title, a retirement, a newcomer.
	dung, _ := dir.Lookup(ctx, "dungtt.skhcn@khanhhoa.gov.vn")
	dung.Title = "Phó Giám đốc"
	binh, _ := dir.Lookup(ctx, "binhnv.syt@khanhhoa.gov.vn")
	binh.State = directory.StateRetired
	for _, a := range []directory.Account{*dung, *binh, {Address: "hoalt.syt@khanhhoa.gov.vn", DisplayName: "Lê Thị Hoa", UnitCode: "56.syt"}} {
		if err := dir.PutAccount(ctx, a, ""); err != nil {
			t.Fatal(err)
		}
	}
	book.Forget() // the snapshot is otherwise re-read after its TTL
	code, members, t2, body := report(t, srv, tinh, t1, "")
	want := map[string]bool{"dungtt.skhcn@khanhhoa.gov.vn.vcf": true, "binhnv.syt@khanhhoa.gov.vn.vcf": true, "hoalt.syt@khanhhoa.gov.vn.vcf": true}
	if code != 207 || len(members) != 3 || t2 == t1 || t2 == "" {
		t.Fatalf("incremental sync: %d %v %q\n%s", code, members, t2, body)
	}
	for href, v := range members {
		name := href[strings.LastIndexByte(href, '/')+1:]
		switch {
		case !want[name]:
			t.Errorf("unchanged member reported: %s", href)
		case name == "binhnv.syt@khanhhoa.gov.vn.vcf" && v != "404":
			t.Errorf("the retired official is not reported removed: %s", v)
		case name == "dungtt.skhcn@khanhhoa.gov.vn.vcf" && (v == "404" || v == dungTag):
			t.Errorf("the changed card keeps its ETag %s", v)
		}
	}
	if code, m, tok, _ := report(t, srv, tinh, t2, ""); code != 207 || len(m) != 0 || tok != t2 {
		t.Errorf("after catching up: %d %v", code, m)
	}
	// The unit's book: only its own members changed (Dung); Sở Y tế's
	// changes are none of its business.
	if code, m, _, body := report(t, srv, donvi, unitToken, ""); code != 207 || !slices.Equal(keys(m), []string{"dungtt.skhcn@khanhhoa.gov.vn.vcf"}) {
		t.Errorf("unit book incremental: %d %v\n%s", code, keys(m), body)
	}

	for name, tok := range map[string]string{
		"another book's token": t1,
		"not ours":             "http://sabre.io/ns/sync/5",
		"another server run":   strings.Replace(t2, ":sync:", ":sync:00", 1),
		"a generation to come": t2[:strings.LastIndexByte(t2, ':')+1] + "99",
		"garbage generation":   t2[:strings.LastIndexByte(t2, ':')+1] + "x",
	} {
		path := tinh
		if name == "another book's token" {
			path = donvi
		}
		code, _, _, body := report(t, srv, path, tok, "")
		if code != 403 || !strings.Contains(body, "<d:valid-sync-token/>") {
			t.Errorf("%s (%s): %d\n%s", name, tok, code, body)
		}
	}
	if code, _, _, body := report(t, srv, canhan, "", ""); code != 403 || !strings.Contains(body, "<d:supported-report/>") {
		t.Errorf("sync-collection on the personal book: %d\n%s", code, body)
	}
	if code, _, _, body := report(t, srv, tinh, "", "<d:limit><d:nresults>1</d:nresults></d:limit>"); code != 507 ||
		!strings.Contains(body, "number-of-matches-within-limits") {
		t.Errorf("limit below the members: %d\n%s", code, body)
	}
}

// go-webdav's RFC 6578 client (a real implementation of the client side)
// syncs the province book, then gets only the change.
func TestSyncCollectionWithClient(t *testing.T) {
	srv, dir, book := newServerWith(t)
	ctx := context.Background()
	c, err := wcard.NewClient(authed(srv, me, mePass), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	first, err := c.SyncCollection(ctx, tinh, &wcard.SyncQuery{DataRequest: wcard.AddressDataRequest{AllProp: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Updated) != 3 || len(first.Deleted) != 0 || first.SyncToken == "" {
		t.Fatalf("initial: %d updated, %d deleted, token %q", len(first.Updated), len(first.Deleted), first.SyncToken)
	}
	dung, _ := dir.Lookup(ctx, "dungtt.skhcn@khanhhoa.gov.vn")
	dung.Phone = "0258 3999 999"
	if err := dir.PutAccount(ctx, *dung, ""); err != nil {
		t.Fatal(err)
	}
	book.Forget()
	next, err := c.SyncCollection(ctx, tinh, &wcard.SyncQuery{SyncToken: first.SyncToken, DataRequest: wcard.AddressDataRequest{AllProp: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(next.Updated) != 1 || len(next.Deleted) != 0 || !strings.HasSuffix(next.Updated[0].Path, "dungtt.skhcn@khanhhoa.gov.vn.vcf") ||
		next.SyncToken == first.SyncToken {
		t.Fatalf("incremental: %+v deleted %v token %q", next.Updated, next.Deleted, next.SyncToken)
	}
	for _, ao := range first.Updated {
		if ao.Path == next.Updated[0].Path && ao.ETag == next.Updated[0].ETag {
			t.Errorf("the changed card kept its ETag %s", ao.ETag)
		}
	}
	card, err := c.GetAddressObject(ctx, next.Updated[0].Path)
	if err != nil || card.Card.PreferredValue("TEL") != "0258 3999 999" {
		t.Errorf("the changed card: %v %v", card, err)
	}
}
