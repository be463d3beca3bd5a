package interop

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// webMerge merges official's commune (22333) into 22366 through the
// operator's admin web: the preview lists the official's new address and
// changes nothing, the confirmation carries it out; mail to the old
// address reaches the mailbox under the new one. It returns the
// operator's session for later steps.
func webMerge(t *testing.T, s *system, official account, deliver func(to, subject string), hasSubjects func(...string) func([]fetched) bool) *webUser {
	t.Helper()
	deliver(official.Address, "Truoc sap nhap web")
	op := s.signInFirst(s.accountWithRole("operator", func(account) bool { return true }))
	if p := op.get("/admin/reorg"); p.Status != 200 || !strings.Contains(p.Body, `id="merge-preview"`) {
		t.Fatalf("reorganisation page (%d):\n%.1500s", p.Status, p.Body)
	}
	form := url.Values{"op": {"unit-merge"}, "from": {"22333"}, "into": {"22366"}}
	p := op.submit("/admin/reorg", "/admin/reorg/preview", form)
	if p.Status != 200 || !strings.Contains(p.Body, official.Address) || !strings.Contains(p.Body, `id="confirm"`) {
		t.Fatalf("merge preview (%d):\n%.3000s", p.Status, p.Body)
	}
	m := regexp.MustCompile(regexp.QuoteMeta(official.Address) + `</td><td>([^<]+@[^<]+)</td>`).FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("the preview gives %s no new address:\n%.3000s", official.Address, p.Body)
	}
	if r := s.imapResult(official.Address, official.Password); r != "OK" {
		t.Fatalf("the preview changed %s: IMAP %s", official.Address, r)
	}
	p = op.submit("/admin/reorg", "/admin/reorg/run", form)
	if p.Status != 200 || !strings.Contains(p.Body, "Đã thực hiện") || !strings.Contains(p.Body, m[1]) {
		t.Fatalf("merge through the web (%d):\n%.3000s", p.Status, p.Body)
	}
	merged := account{Address: m[1], Password: official.Password}
	deliver(official.Address, "Sau sap nhap web")
	want := []string{"Truoc sap nhap web", "Sau sap nhap web"}
	if ms := s.waitFor(merged, "INBOX", hasSubjects(want...)); !hasSubjects(want...)(ms) {
		t.Errorf("%s (was %s) lacks one of %q after the web merger", merged.Address, official.Address, want)
	}
	return op
}
