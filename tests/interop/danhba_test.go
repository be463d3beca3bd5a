package interop

import (
	"encoding/csv"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"congvu/directory/addr"
)

// TestDanhba checks the published directory of the demo province over HTTP:
// a search without diacritics finds an official, and the CSV export of a
// unit lists exactly the people its (paginated) page lists.
func TestDanhba(t *testing.T) {
	s := startSystem(t, "")
	base := "http://" + s.addrs["http"] + "/"
	fetch := func(path string) (*http.Response, string) {
		t.Helper()
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %s\n%s", path, res.Status, b)
		}
		return res, string(b)
	}
	csvAddresses := func(path string) (rows [][]string, addrs []string) {
		t.Helper()
		res, body := fetch(path)
		if !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment;") {
			t.Errorf("%s: Content-Disposition %q", path, res.Header.Get("Content-Disposition"))
		}
		body, ok := strings.CutPrefix(body, "\ufeff")
		if !ok {
			t.Errorf("%s: no byte order mark", path)
		}
		rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) < 2 || rows[0][0] != "Họ và tên" || rows[0][3] != "Thư điện tử" {
			t.Fatalf("%s: unexpected CSV %q", path, rows)
		}
		for _, r := range rows[1:] {
			addrs = append(addrs, r[3])
		}
		slices.Sort(addrs)
		return rows[1:], addrs
	}
	rowMail := regexp.MustCompile(`<td><a href="mailto:([^"]+)">`)
	next := regexp.MustCompile(`href="([^"]+)" rel="next"`)
	pageAddresses := func(path string) []string {
		t.Helper()
		var addrs []string
		for n := 0; path != ""; n++ {
			if n > 100 {
				t.Fatal("more than 100 pages")
			}
			_, page := fetch(path)
			for _, m := range rowMail.FindAllStringSubmatch(page, -1) {
				addrs = append(addrs, html.UnescapeString(m[1]))
			}
			path = ""
			if m := next.FindStringSubmatch(page); m != nil {
				path = html.UnescapeString(m[1])
			}
		}
		slices.Sort(addrs)
		return addrs
	}

	// Search by the folded name of a demo official.
	all, allAddrs := csvAddresses("danhba.csv")
	u := s.user(0)
	var name string
	for _, r := range all {
		if r[3] == u.Address {
			name = r[0]
		}
	}
	if name == "" {
		t.Fatalf("demo official %s not in the province CSV", u.Address)
	}
	folded := addr.Fold(name)
	if folded == strings.ToLower(name) {
		t.Logf("name %q has no diacritics", name)
	}
	t.Logf("searching %q for %s", folded, u.Address)
	_, page := fetch("danhba?q=" + url.QueryEscape(folded))
	if !strings.Contains(page, `href="mailto:`+u.Address+`"`) || !strings.Contains(page, html.EscapeString(name)) {
		t.Errorf("search %q does not find %s (%s)", folded, name, u.Address)
	}
	for _, a := range s.accounts {
		if strings.Contains(page, a.Password) {
			t.Fatal("a password is on the page")
		}
	}

	// Same people on the page and in the exports, for a department and
	// for the whole province (several pages).
	_, top := fetch("danhba")
	m := regexp.MustCompile(`href="danhba\?unit=([^"&]+)"`).FindStringSubmatch(top)
	if m == nil {
		t.Fatalf("no unit link on the top page:\n%s", top)
	}
	province := m[1]
	_, provPage := fetch("danhba?unit=" + url.QueryEscape(province))
	m = regexp.MustCompile(`<li><a href="danhba\?unit=([^"&]+)">`).FindStringSubmatch(provPage)
	if m == nil {
		t.Fatalf("no sub-unit on the province page:\n%s", provPage)
	}
	for _, unit := range []string{m[1], province} {
		q := "?unit=" + url.QueryEscape(unit)
		onPage := pageAddresses("danhba" + q)
		_, inCSV := csvAddresses("danhba.csv" + q)
		t.Logf("unit %s: %d people on the page and in the exports", unit, len(inCSV))
		if len(onPage) == 0 || !slices.Equal(onPage, inCSV) {
			t.Errorf("unit %s: page lists %d people, CSV %d:\npage %q\ncsv  %q", unit, len(onPage), len(inCSV), onPage, inCSV)
		}
		_, vcf := fetch("danhba.vcf" + q)
		if n := strings.Count(vcf, "BEGIN:VCARD\r\n"); n != len(inCSV) {
			t.Errorf("unit %s: %d vCards, %d CSV rows", unit, n, len(inCSV))
		}
		_, ldif := fetch("danhba.ldif" + q)
		if n := strings.Count(ldif, "\ndn:"); n != len(inCSV) {
			t.Errorf("unit %s: %d LDIF entries, %d CSV rows", unit, n, len(inCSV))
		}
		if unit == province && !slices.Equal(inCSV, allAddrs) {
			t.Errorf("province export differs from the whole directory: %d vs %d", len(inCSV), len(allAddrs))
		}
	}
}
