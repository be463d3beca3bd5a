package autoconfig

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

type fakeRenames map[string]string // old address or domain → new

func (f fakeRenames) AliasDomain(_ context.Context, d string) (string, bool) {
	t, ok := f[d]
	return t, ok
}

func (f fakeRenames) CurrentAddress(_ context.Context, a string) string { return f[a] }

// A merged province's old domain: Thunderbird and Outlook asking about an
// address there (or a transferred official's old address) get the real
// server settings with the new address as the login.
func TestOldAddressDiscovery(t *testing.T) {
	h := New(Options{Domains: []string{"khanhhoa.gov.vn"}, Hostname: func(string) string { return "mail.khanhhoa.gov.vn" },
		Ports: Ports{IMAPS: 993, Submission: 587, HTTPS: 443}, HTTPS: true,
		Renames: fakeRenames{"ninhthuan.gov.vn": "khanhhoa.gov.vn",
			"vanthu@ninhthuan.gov.vn":       "vanthu2@khanhhoa.gov.vn",
			"thanhnn.skhcn@khanhhoa.gov.vn": "thanhnn.snv@khanhhoa.gov.vn"}})
	web := http.NewServeMux()
	web.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "webmail") })
	for _, p := range Patterns() {
		web.Handle(p, h)
	}
	srv := h.HostRouter(web)
	for _, u := range []string{
		"http://autoconfig.ninhthuan.gov.vn/mail/config-v1.1.xml?emailaddress=vanthu@ninhthuan.gov.vn",
		"http://ninhthuan.gov.vn/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=vanthu%40ninhthuan.gov.vn",
	} {
		rec := do(t, srv, "GET", u, "")
		body := rec.Body.String()
		if rec.Code != 200 || !strings.Contains(body, "<hostname>mail.khanhhoa.gov.vn</hostname>") ||
			!strings.Contains(body, "<username>vanthu2@khanhhoa.gov.vn</username>") || strings.Contains(body, "%EMAILADDRESS%") ||
			!strings.Contains(body, "<domain>ninhthuan.gov.vn</domain>") {
			t.Errorf("%s: %d\n%s", u, rec.Code, body)
		}
	}
	// Without an address, the old domain's autoconfig name still answers.
	if rec := do(t, srv, "GET", "http://autoconfig.ninhthuan.gov.vn/mail/config-v1.1.xml", ""); rec.Code != 200 ||
		!strings.Contains(rec.Body.String(), "%EMAILADDRESS%") {
		t.Errorf("old domain without an address: %d\n%s", rec.Code, rec.Body)
	}
	// A transferred official's old address at a local domain.
	rec := do(t, srv, "GET", "http://autoconfig.khanhhoa.gov.vn/mail/config-v1.1.xml?emailaddress=thanhnn.skhcn@khanhhoa.gov.vn", "")
	if !strings.Contains(rec.Body.String(), "<username>thanhnn.snv@khanhhoa.gov.vn</username>") {
		t.Errorf("transferred official: %s", rec.Body)
	}
	// Outlook: login name and SMTP address are the new one.
	rec = do(t, srv, "POST", "https://autodiscover.ninhthuan.gov.vn/autodiscover/autodiscover.xml", poxRequestBody("vanthu@ninhthuan.gov.vn", nsOutlookResponse))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "<LoginName>vanthu2@khanhhoa.gov.vn</LoginName>") ||
		!strings.Contains(rec.Body.String(), "<AutoDiscoverSMTPAddress>vanthu2@khanhhoa.gov.vn</AutoDiscoverSMTPAddress>") {
		t.Errorf("Outlook for an old-domain address: %d\n%s", rec.Code, rec.Body)
	}
	// A domain that is neither local nor an alias is not ours.
	if rec := do(t, srv, "GET", "http://autoconfig.hue.gov.vn/mail/config-v1.1.xml?emailaddress=a@hue.gov.vn", ""); rec.Code == 200 &&
		strings.Contains(rec.Body.String(), "clientConfig") {
		t.Errorf("another domain got settings: %s", rec.Body)
	}
}
