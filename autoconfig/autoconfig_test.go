package autoconfig

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func testHandler(https bool) http.Handler {
	h := New(Options{
		Domains: []string{"khanhhoa.gov.vn", "namdinh.gov.vn"},
		Hostname: func(d string) string {
			if d == "namdinh.gov.vn" {
				return "mail.namdinh.gov.vn"
			}
			return "mail.khanhhoa.gov.vn"
		},
		Ports: Ports{IMAPS: 993, IMAP: 143, POP3S: 995, POP3: 110, Submissions: 465, Submission: 587, HTTPS: 443,
			LDAP: 389, LDAPS: 636, ManageSieve: 4190},
		LDAPBaseDN: func(string) string { return "dc=khanhhoa,dc=gov,dc=vn" },
		CardDAV:    true, MTASTSMode: "enforce", MTASTSMaxAge: 604800, HTTPS: https,
	})
	// As internal/server mounts it: the web's mux behind the host router.
	web := http.NewServeMux()
	web.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "webmail "+r.URL.Path) })
	for _, p := range Patterns() {
		web.Handle(p, h)
	}
	return h.HostRouter(web)
}

func do(t *testing.T, h http.Handler, method, url, body string) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, url, r)
	if body != "" {
		req.Header.Set("Content-Type", "text/xml")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// Thunderbird's four requests (TB 102+), in its order: HTTPS then HTTP,
// autoconfig.<domain> then <domain>/.well-known, with the address in the
// query string.
func TestThunderbirdDiscovery(t *testing.T) {
	for _, https := range []bool{true, false} {
		h := testHandler(https)
		scheme := map[bool]string{true: "https", false: "http"}[https]
		for _, u := range []string{
			scheme + "://autoconfig.khanhhoa.gov.vn/mail/config-v1.1.xml?emailaddress=hieuhd.ubnd%40khanhhoa.gov.vn",
			scheme + "://khanhhoa.gov.vn/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=hieuhd.ubnd%40khanhhoa.gov.vn",
			scheme + "://mail.khanhhoa.gov.vn/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=hieuhd.ubnd%40khanhhoa.gov.vn",
		} {
			rec := do(t, h, "GET", u, "")
			if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/xml") {
				t.Fatalf("%s: %d %s", u, rec.Code, rec.Header().Get("Content-Type"))
			}
			var cfg struct {
				Version  string `xml:"version,attr"`
				Provider struct {
					ID       string   `xml:"id,attr"`
					Domains  []string `xml:"domain"`
					Incoming []struct {
						Type, Hostname, SocketType, Authentication, Username string
						Port                                                 int
					} `xml:"incomingServer"`
					Outgoing []struct {
						Type       string `xml:"type,attr"`
						Hostname   string `xml:"hostname"`
						Port       int    `xml:"port"`
						SocketType string `xml:"socketType"`
						Username   string `xml:"username"`
					} `xml:"outgoingServer"`
				} `xml:"emailProvider"`
				AddressBook struct {
					Type      string `xml:"type,attr"`
					ServerURL string `xml:"serverURL"`
				} `xml:"addressBook"`
			}
			if err := xml.Unmarshal(rec.Body.Bytes(), &cfg); err != nil {
				t.Fatal(err)
			}
			if cfg.Version != "1.1" || cfg.Provider.ID != "khanhhoa.gov.vn" || len(cfg.Provider.Incoming) != 4 || len(cfg.Provider.Outgoing) != 2 {
				t.Fatalf("%s: %s", u, rec.Body)
			}
			out := cfg.Provider.Outgoing
			if out[0].Hostname != "mail.khanhhoa.gov.vn" || out[0].Port != 465 || out[0].SocketType != "SSL" ||
				out[1].Port != 587 || out[1].SocketType != "STARTTLS" || out[0].Username != "%EMAILADDRESS%" {
				t.Errorf("outgoing %+v", out)
			}
			if cfg.AddressBook.Type != "carddav" || cfg.AddressBook.ServerURL != "https://mail.khanhhoa.gov.vn/.well-known/carddav" {
				t.Errorf("address book %+v", cfg.AddressBook)
			}
		}
	}
	h := testHandler(true)
	// The per-domain host name.
	rec := do(t, h, "GET", "https://autoconfig.namdinh.gov.vn/mail/config-v1.1.xml?emailaddress=a.b%40namdinh.gov.vn", "")
	if !strings.Contains(rec.Body.String(), "<hostname>mail.namdinh.gov.vn</hostname>") {
		t.Errorf("namdinh: %s", rec.Body)
	}
	// /mail on congvu's own host name is the webmail's, not autoconfig's.
	if rec := do(t, h, "GET", "https://mail.khanhhoa.gov.vn/mail/config-v1.1.xml", ""); rec.Body.String() != "webmail /mail/config-v1.1.xml" {
		t.Errorf("webmail path taken over: %s", rec.Body)
	}
	// Another provider's domain: not found, so the client tries elsewhere.
	if rec := do(t, h, "GET", "https://mail.khanhhoa.gov.vn/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=x%40gmail.com", ""); rec.Code != 404 {
		t.Errorf("foreign domain: %d", rec.Code)
	}
	if rec := do(t, h, "GET", "https://mail.khanhhoa.gov.vn/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=%3Cscript%3E", ""); rec.Code != 400 {
		t.Errorf("bad address: %d", rec.Code)
	}
}

// poxRequestBody is what Outlook posts (MS-OXDSCLI 4.1).
func poxRequestBody(address, schema string) string {
	return `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>` + address + `</EMailAddress>
    <AcceptableResponseSchema>` + schema + `</AcceptableResponseSchema>
  </Request>
</Autodiscover>`
}

// elementNames lists the child element names of the first element named
// parent, in document order.
func elementNames(t *testing.T, doc []byte, parent string) [][]string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var out [][]string
	depth, inside := 0, -1
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			depth++
			if e.Name.Local == parent {
				inside = depth
				out = append(out, nil)
			} else if inside >= 0 && depth == inside+1 {
				out[len(out)-1] = append(out[len(out)-1], e.Name.Local)
			}
		case xml.EndElement:
			if depth == inside {
				inside = -1
			}
			depth--
		}
	}
}

func TestOutlookPOX(t *testing.T) {
	h := testHandler(true)
	for _, u := range []string{
		"https://autodiscover.khanhhoa.gov.vn/autodiscover/autodiscover.xml",
		"https://autodiscover.khanhhoa.gov.vn/Autodiscover/Autodiscover.xml",
		"https://khanhhoa.gov.vn/autodiscover/autodiscover.xml",
		"https://mail.khanhhoa.gov.vn/Autodiscover/Autodiscover.xml",
	} {
		rec := do(t, h, "POST", u, poxRequestBody("hieuhd.ubnd@khanhhoa.gov.vn", nsOutlookResponse))
		if rec.Code != 200 {
			t.Fatalf("%s: %d", u, rec.Code)
		}
		body := rec.Body.Bytes()
		var resp struct {
			XMLName  xml.Name
			Response struct {
				XMLName xml.Name
				Account struct {
					AccountType, Action string
					Protocol            []struct {
						Type, Server, LoginName, SSL, Encryption, SPA, AuthRequired string
						Port                                                        int
					}
				}
			}
		}
		if err := xml.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		if resp.XMLName.Space != nsResponse || resp.Response.XMLName.Space != nsOutlookResponse {
			t.Errorf("namespaces %v %v", resp.XMLName, resp.Response.XMLName)
		}
		a := resp.Response.Account
		if a.AccountType != "email" || a.Action != "settings" || len(a.Protocol) != 3 {
			t.Fatalf("%s", body)
		}
		want := map[string]int{"IMAP": 993, "POP3": 995, "SMTP": 465}
		for _, p := range a.Protocol {
			if p.Port != want[p.Type] || p.Server != "mail.khanhhoa.gov.vn" || p.LoginName != "hieuhd.ubnd@khanhhoa.gov.vn" ||
				p.SSL != "on" || p.SPA != "off" || p.AuthRequired != "on" {
				t.Errorf("protocol %+v", p)
			}
		}
		// Element order of the POX schema's Protocol sequence.
		order := []string{"Type", "TTL", "Server", "Port", "LoginName", "DomainRequired", "SPA", "SSL", "Encryption", "AuthRequired", "UsePOPAuth", "SMTPLast"}
		for _, got := range elementNames(t, body, "Protocol") {
			i := 0
			for _, name := range got {
				for i < len(order) && order[i] != name {
					i++
				}
				if i == len(order) {
					t.Errorf("Protocol children %v out of schema order", got)
					break
				}
			}
		}
		if names := elementNames(t, body, "Account"); len(names) != 1 || strings.Join(names[0][:2], ",") != "AccountType,Action" {
			t.Errorf("Account children %v", names)
		}
	}
	// ActiveSync's schema: no such service, said in the error schema.
	rec := do(t, h, "POST", "https://autodiscover.khanhhoa.gov.vn/autodiscover/autodiscover.xml",
		poxRequestBody("hieuhd.ubnd@khanhhoa.gov.vn", nsMobileResponse))
	if !strings.Contains(rec.Body.String(), "<ErrorCode>601</ErrorCode>") || strings.Contains(rec.Body.String(), "<Account>") {
		t.Errorf("mobilesync: %s", rec.Body)
	}
	if rec := do(t, h, "POST", "https://mail.khanhhoa.gov.vn/autodiscover/autodiscover.xml", "<not xml"); !strings.Contains(rec.Body.String(), "<ErrorCode>600</ErrorCode>") {
		t.Errorf("garbage: %s", rec.Body)
	}
	if rec := do(t, h, "POST", "https://mail.khanhhoa.gov.vn/autodiscover/autodiscover.xml", poxRequestBody("a@gmail.com", nsOutlookResponse)); !strings.Contains(rec.Body.String(), "<ErrorCode>500</ErrorCode>") {
		t.Errorf("foreign: %s", rec.Body)
	}
	// Plain HTTP: the redirect method (Outlook GETs, follows, then POSTs).
	hh := testHandler(false)
	rec = do(t, hh, "GET", "http://autodiscover.khanhhoa.gov.vn/autodiscover/autodiscover.xml", "")
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != "https://mail.khanhhoa.gov.vn/autodiscover/autodiscover.xml" {
		t.Errorf("http redirect: %d %q", rec.Code, rec.Header().Get("Location"))
	}
}

func TestOutlookJSON(t *testing.T) {
	h := testHandler(true)
	get := func(u string) (int, map[string]any) {
		rec := do(t, h, "GET", u, "")
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v %s", u, err, rec.Body)
		}
		return rec.Code, m
	}
	code, m := get("https://autodiscover.khanhhoa.gov.vn/autodiscover/autodiscover.json/v1.0/hieuhd.ubnd@khanhhoa.gov.vn?Protocol=AutodiscoverV1")
	if code != 200 || m["Protocol"] != "AutodiscoverV1" || m["Url"] != "https://mail.khanhhoa.gov.vn/autodiscover/autodiscover.xml" {
		t.Errorf("v1: %d %v", code, m)
	}
	code, m = get("https://mail.khanhhoa.gov.vn/autodiscover/autodiscover.json?Email=hieuhd.ubnd%40khanhhoa.gov.vn&Protocol=IMAP")
	if code != 200 || m["Hostname"] != "mail.khanhhoa.gov.vn" || m["Port"] != float64(993) || m["Url"] != "imaps://mail.khanhhoa.gov.vn:993" {
		t.Errorf("imap: %d %v", code, m)
	}
	code, m = get("https://mail.khanhhoa.gov.vn/autodiscover/autodiscover.json/v1.0/hieuhd.ubnd@khanhhoa.gov.vn?Protocol=SMTP")
	if code != 200 || m["Port"] != float64(465) {
		t.Errorf("smtp: %d %v", code, m)
	}
	code, m = get("https://mail.khanhhoa.gov.vn/autodiscover/autodiscover.json/v1.0/hieuhd.ubnd@khanhhoa.gov.vn?Protocol=ActiveSync")
	if code != 400 || m["ErrorCode"] != "InvalidProtocol" {
		t.Errorf("activesync: %d %v", code, m)
	}
	code, _ = get("https://mail.khanhhoa.gov.vn/autodiscover/autodiscover.json/v1.0/someone@gmail.com?Protocol=AutodiscoverV1")
	if code != 404 {
		t.Errorf("foreign: %d", code)
	}
}

func TestAppleProfileAndAndroid(t *testing.T) {
	h := testHandler(true)
	rec := do(t, h, "GET", "https://mail.khanhhoa.gov.vn/setup/congvu.mobileconfig?emailaddress=hieuhd.ubnd%40khanhhoa.gov.vn", "")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/x-apple-aspen-config" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	body := rec.Body.String()
	var plist struct {
		Dict struct {
			Keys []string `xml:"key"`
		} `xml:"dict"`
	}
	if err := xml.Unmarshal(rec.Body.Bytes(), &plist); err != nil {
		t.Fatal(err)
	}
	if strings.Join(plist.Dict.Keys, ",") != "PayloadContent,PayloadDescription,PayloadDisplayName,PayloadIdentifier,PayloadOrganization,PayloadRemovalDisallowed,PayloadType,PayloadUUID,PayloadVersion" {
		t.Errorf("top keys %v", plist.Dict.Keys)
	}
	for _, want := range []string{"<string>com.apple.mail.managed</string>", "<string>com.apple.carddav.account</string>",
		"<string>com.apple.ldap.account</string>", "<key>IncomingMailServerHostName</key>\n\t\t\t<string>mail.khanhhoa.gov.vn</string>",
		"<integer>993</integer>", "<integer>465</integer>", "<string>dc=khanhhoa,dc=gov,dc=vn</string>"} {
		if !strings.Contains(body, want) {
			t.Errorf("profile lacks %q", want)
		}
	}
	if strings.Contains(body, "Password</key>\n\t\t\t<string>") {
		t.Error("profile carries a password")
	}
	// Same address, same UUIDs: a second download replaces the profile.
	if again := do(t, h, "GET", "https://mail.khanhhoa.gov.vn/setup/congvu.mobileconfig?emailaddress=hieuhd.ubnd%40khanhhoa.gov.vn", ""); again.Body.String() != body {
		t.Error("profile not deterministic")
	}

	rec = do(t, h, "GET", "https://mail.khanhhoa.gov.vn/setup/android?emailaddress=hieuhd.ubnd%40khanhhoa.gov.vn", "")
	page := rec.Body.String()
	if !strings.Contains(page, "<td>mail.khanhhoa.gov.vn</td><td>993</td><td>SSL/TLS</td>") ||
		!strings.Contains(page, `src="/setup/android.png?emailaddress=hieuhd.ubnd@khanhhoa.gov.vn"`) ||
		!strings.Contains(rec.Header().Get("Content-Security-Policy"), "default-src 'none'") || strings.Contains(page, "<script") {
		t.Errorf("android page: %s", page)
	}
	rec = do(t, h, "GET", "https://mail.khanhhoa.gov.vn/setup/android.png?emailaddress=hieuhd.ubnd%40khanhhoa.gov.vn", "")
	img, err := png.Decode(rec.Body)
	if err != nil || img.Bounds().Dx() < 100 {
		t.Fatalf("QR png: %v", err)
	}
	if txt := qrText(New(Options{Domains: []string{"khanhhoa.gov.vn"}, Hostname: func(string) string { return "mail.khanhhoa.gov.vn" },
		Ports: Ports{IMAPS: 993, Submissions: 465}}).settings("khanhhoa.gov.vn", "a@khanhhoa.gov.vn")); !strings.Contains(txt, "mail.khanhhoa.gov.vn:993 SSL/TLS") {
		t.Errorf("qr text %q", txt)
	}
	rec = do(t, h, "GET", "https://mail.khanhhoa.gov.vn/setup/", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "https://mail.khanhhoa.gov.vn/.well-known/carddav") {
		t.Errorf("index: %d %s", rec.Code, rec.Body)
	}
}

func TestMTASTS(t *testing.T) {
	h := testHandler(true)
	rec := do(t, h, "GET", "https://mta-sts.khanhhoa.gov.vn/.well-known/mta-sts.txt", "")
	if rec.Code != 200 || rec.Body.String() != "version: STSv1\r\nmode: enforce\r\nmx: mail.khanhhoa.gov.vn\r\nmax_age: 604800\r\n" ||
		rec.Header().Get("Content-Type") != "text/plain" {
		t.Errorf("%d %q", rec.Code, rec.Body)
	}
	// RFC 8461 3.3: HTTPS only.
	if rec := do(t, testHandler(false), "GET", "http://mta-sts.khanhhoa.gov.vn/.well-known/mta-sts.txt", ""); rec.Code != 404 {
		t.Errorf("over http: %d", rec.Code)
	}
}
