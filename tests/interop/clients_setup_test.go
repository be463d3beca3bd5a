package interop

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"congvu/directory/addr"
)

// TestClientsSetThemselvesUp plays what Thunderbird, Outlook, an LDAP
// address book, a CardDAV client and a Sieve editor do against one running
// quickstart, with the names clients use (mail.khanhhoa.gov.vn,
// autoconfig.khanhhoa.gov.vn, …) resolved to its listeners.
func TestClientsSetThemselvesUp(t *testing.T) {
	s := startSystem(t, "")
	official := s.user(0)
	web := s.namedClient(t)

	t.Run("Thunderbird autoconfig, then its settings work on the host name", func(t *testing.T) {
		q := "?emailaddress=" + official.Address
		// Thunderbird 128's order: HTTPS then HTTP, autoconfig.<domain>
		// then <domain>/.well-known.
		var doc []byte
		for _, u := range []string{
			"https://autoconfig." + demoDomain + "/mail/config-v1.1.xml" + q,
			"https://" + demoDomain + "/.well-known/autoconfig/mail/config-v1.1.xml" + q,
			"http://autoconfig." + demoDomain + "/mail/config-v1.1.xml" + q,
			"http://" + demoDomain + "/.well-known/autoconfig/mail/config-v1.1.xml" + q,
		} {
			resp, err := web.Get(u)
			if err != nil {
				t.Fatalf("%s: %v", u, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`<clientConfig version="1.1">`)) {
				t.Fatalf("%s: %d\n%s", u, resp.StatusCode, b)
			}
			doc = b
		}
		var cfg struct {
			Incoming []struct {
				Type       string `xml:"type,attr"`
				Hostname   string `xml:"hostname"`
				Port       string `xml:"port"`
				SocketType string `xml:"socketType"`
				Username   string `xml:"username"`
			} `xml:"emailProvider>incomingServer"`
			Outgoing []struct {
				Hostname   string `xml:"hostname"`
				Port       string `xml:"port"`
				SocketType string `xml:"socketType"`
			} `xml:"emailProvider>outgoingServer"`
		}
		if err := xml.Unmarshal(doc, &cfg); err != nil {
			t.Fatal(err)
		}
		imap, smtpOut := cfg.Incoming[0], cfg.Outgoing[0]
		if imap.Type != "imap" || imap.Hostname != "mail."+demoDomain || imap.SocketType != "SSL" || imap.Username != "%EMAILADDRESS%" ||
			"127.0.0.1:"+imap.Port != s.addrs["imaps"] || "127.0.0.1:"+smtpOut.Port != s.addrs["submissions"] {
			t.Fatalf("settings %+v %+v (listeners %v)", imap, smtpOut, s.addrs)
		}
		// What Thunderbird does next: IMAPS and SMTPS to the host name,
		// certificate checked against it, user name = the address.
		user := strings.ReplaceAll(imap.Username, "%EMAILADDRESS%", official.Address)
		c, err := s.dialNamed(imap.Hostname, imap.Port)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		r := bufio.NewReader(c)
		r.ReadString('\n')
		fmt.Fprintf(c, "a1 LOGIN %q %q\r\n", user, official.Password)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(line, "a1 ") {
				if !strings.HasPrefix(line, "a1 OK") {
					t.Fatalf("IMAP LOGIN with the autoconfig settings: %s", line)
				}
				break
			}
		}
		sc, err := s.dialNamed(smtpOut.Hostname, smtpOut.Port)
		if err != nil {
			t.Fatal(err)
		}
		cl, err := smtp.NewClient(sc, smtpOut.Hostname)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		if err := cl.Auth(smtp.PlainAuth("", user, official.Password, smtpOut.Hostname)); err != nil {
			t.Fatalf("SMTP AUTH with the autoconfig settings: %v", err)
		}
	})

	t.Run("Outlook POX and v2 JSON", func(t *testing.T) {
		body := `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>` + official.Address + `</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>`
		// Outlook's order: https://<domain>/autodiscover/autodiscover.xml,
		// https://autodiscover.<domain>/…, then the HTTP redirect method.
		for _, u := range []string{"https://" + demoDomain + "/autodiscover/autodiscover.xml", "https://autodiscover." + demoDomain + "/Autodiscover/Autodiscover.xml"} {
			resp, err := web.Post(u, "text/xml", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			_, imapsPort := hostPort(s.addrs["imaps"])
			if resp.StatusCode != 200 || !bytes.Contains(b, []byte("<AccountType>email</AccountType>")) ||
				!bytes.Contains(b, []byte("<Server>mail."+demoDomain+"</Server>")) || !bytes.Contains(b, []byte("<Port>"+imapsPort+"</Port>")) ||
				bytes.Contains(b, []byte("EXCH")) {
				t.Errorf("%s: %d\n%s", u, resp.StatusCode, b)
			}
		}
		noFollow := *web
		noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := noFollow.Get("http://autodiscover." + demoDomain + "/autodiscover/autodiscover.xml")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		_, httpsPort := hostPort(s.addrs["https"])
		if resp.StatusCode != 302 || resp.Header.Get("Location") != "https://mail."+demoDomain+":"+httpsPort+"/autodiscover/autodiscover.xml" {
			t.Errorf("HTTP redirect method: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, err = web.Get("https://autodiscover." + demoDomain + "/autodiscover/autodiscover.json/v1.0/" + official.Address + "?Protocol=AutodiscoverV1")
		if err != nil {
			t.Fatal(err)
		}
		var v1 map[string]string
		json.NewDecoder(resp.Body).Decode(&v1)
		resp.Body.Close()
		if v1["Protocol"] != "AutodiscoverV1" || v1["Url"] != "https://mail."+demoDomain+":"+httpsPort+"/autodiscover/autodiscover.xml" {
			t.Errorf("v2 JSON: %v", v1)
		}
	})

	t.Run("iPhone profile and Android page", func(t *testing.T) {
		resp, err := web.Get("https://mail." + demoDomain + "/setup/congvu.mobileconfig?emailaddress=" + official.Address)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Header.Get("Content-Type") != "application/x-apple-aspen-config" || !bytes.Contains(b, []byte("<string>mail."+demoDomain+"</string>")) {
			t.Errorf("mobileconfig: %v\n%s", resp.Header, b)
		}
		// plutil is not on Debian; Python's plistlib reads it as iOS would parse the XML.
		out, err := run(t, b, "/usr/bin/python3", "-c", `import plistlib,sys; p=plistlib.loads(sys.stdin.buffer.read()); print(p["PayloadType"], sorted(c["PayloadType"] for c in p["PayloadContent"]))`)
		if err != nil || strings.TrimSpace(out) != "Configuration ['com.apple.carddav.account', 'com.apple.mail.managed']" {
			t.Errorf("plistlib: %v %s", err, out)
		}
		resp, err = web.Get("http://mail." + demoDomain + "/setup/android.png?emailaddress=" + official.Address)
		if err != nil || resp.Header.Get("Content-Type") != "image/png" {
			t.Errorf("QR: %v %v", err, resp)
		}
		resp.Body.Close()
	})

	t.Run("the set-up page names the host, not the bound address", func(t *testing.T) {
		resp, err := web.Get("http://mail." + demoDomain + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		_, imapsPort := hostPort(s.addrs["imaps"])
		if !bytes.Contains(b, []byte("<td>mail."+demoDomain+"</td><td>"+imapsPort+"</td>")) || bytes.Contains(b, []byte("<td>127.0.0.1</td>")) {
			t.Errorf("set-up page:\n%s", b)
		}
	})

	t.Run("ldapsearch and python3-ldap3 find nguyen van", func(t *testing.T) { testLDAPClients(t, s, official) })
	t.Run("vdirsyncer syncs the address books", func(t *testing.T) { testVdirsyncer(t, s, official) })
	t.Run("sieve-connect uploads a fileinto rule; IMAP sees the folder", func(t *testing.T) { testSieveConnect(t, s) })
}

// namedClient is an HTTP client that resolves congvu's names (mail.,
// autoconfig., autodiscover., the domain itself) to the quickstart's
// listeners — what DNS does for real clients — and trusts its certificate.
func (s *system) namedClient(t *testing.T) *http.Client {
	httpAddr, httpsAddr := s.addrs["http"], s.addrs["https"]
	tlsCfg := s.tlsConfig()
	tlsCfg.ServerName = ""
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, _ := net.SplitHostPort(addr)
		if !strings.HasSuffix(host, demoDomain) {
			return nil, fmt.Errorf("test resolver: unknown host %s", host)
		}
		target := httpAddr
		if port == "443" {
			target = httpsAddr
		}
		return (&net.Dialer{}).DialContext(ctx, network, target)
	}
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DialContext: dial, TLSClientConfig: tlsCfg}}
}

// dialNamed opens implicit TLS to host:port on 127.0.0.1, verifying the
// certificate against host.
func (s *system) dialNamed(host, port string) (net.Conn, error) {
	cfg := s.tlsConfig()
	cfg.ServerName = host
	return tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", "127.0.0.1:"+port, cfg)
}

const demoBaseDN = "dc=khanhhoa,dc=gov,dc=vn"

func testLDAPClients(t *testing.T, s *system, official account) {
	requireTool(t, "ldapsearch")
	filter := "(|(cn=*nguyen van*)(mail=*nguyen van*)(givenName=*nguyen van*)(sn=*nguyen van*))"
	// Thunderbird's query, as ldapsearch sends it (anonymous, subtree).
	out, err := run(t, nil, "ldapsearch", "-x", "-LLL", "-H", "ldap://"+s.addrs["ldap"], "-b", demoBaseDN, "-s", "sub", "-z", "100",
		filter, "cn", "mail", "title", "ou", "telephoneNumber")
	if err != nil && !strings.Contains(out, "Size limit exceeded") {
		t.Fatalf("ldapsearch: %v\n%s", err, out)
	}
	names := ldifValues(out, "cn")
	if len(names) == 0 {
		t.Fatalf("no Nguyễn Văn in the demo province:\n%.2000s", out)
	}
	for _, n := range names {
		if !strings.Contains(addr.Fold(n), "nguyen van") {
			t.Errorf("found %q for nguyen van", n)
		}
	}
	if !strings.Contains(out, "mail: ") {
		t.Errorf("no mail attribute:\n%.1000s", out)
	}
	t.Logf("ldapsearch found %d entries for \"nguyen van\", e.g. %s", len(names), names[0])

	// A bound search over StartTLS (-ZZ), as an official configures it.
	env := append(os.Environ(), "LDAPTLS_CACERT="+s.certFile, "LDAPTLS_REQCERT=demand")
	cmd := exec.Command("ldapsearch", "-x", "-ZZ", "-LLL", "-H", "ldap://"+s.addrs["ldap"], "-D", "uid="+official.Address+",ou=people,"+demoBaseDN,
		"-w", official.Password, "-b", demoBaseDN, "(mail="+official.Address+")", "mail")
	cmd.Env = env
	b, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(b), "mail: "+official.Address) {
		t.Errorf("bound ldapsearch over StartTLS: %v\n%s", err, b)
	}
	// The same bind without TLS is refused (confidentiality required).
	b, err = exec.Command("ldapsearch", "-x", "-LLL", "-H", "ldap://"+s.addrs["ldap"], "-D", official.Address, "-w", official.Password,
		"-b", demoBaseDN, "(mail=x)").CombinedOutput()
	if err == nil || !strings.Contains(string(b), "Confidentiality required") {
		t.Errorf("plaintext bind: %v\n%s", err, b)
	}

	// Debian's python3-ldap3: the same search, then a paged one (RFC 2696)
	// that must return exactly the same entries.
	host, port := hostPort(s.addrs["ldap"])
	script := fmt.Sprintf(`
import json, ldap3
s = ldap3.Server(%q, port=%s, get_info=ldap3.NONE)
c = ldap3.Connection(s, auto_bind=True)
c.search(%q, %q, attributes=["cn", "mail"], size_limit=100)
plain = sorted(str(e.mail) for e in c.entries)
one = lambda v: v[0] if isinstance(v, list) else v
paged = sorted(str(one(e["attributes"]["mail"])) for e in c.extend.standard.paged_search(%q, %q, attributes=["mail"], paged_size=3, generator=True))
print(json.dumps({"plain": plain, "paged": paged}))
`, host, port, demoBaseDN, filter, demoBaseDN, filter)
	out, err = run(t, nil, "/usr/bin/python3", "-c", script)
	if err != nil {
		t.Fatalf("ldap3: %v\n%s", err, out)
	}
	var res struct{ Plain, Paged []string }
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("ldap3 output %q", out)
	}
	if len(res.Plain) != len(names) || fmt.Sprint(res.Plain) != fmt.Sprint(res.Paged) {
		t.Errorf("ldap3 plain %d entries, paged %v, ldapsearch %d", len(res.Plain), res.Paged, len(names))
	}
}

// ldifValues returns the values of attr in ldapsearch's LDIF output
// (base64 for non-ASCII values, "attr:: …").
func ldifValues(ldif, attr string) []string {
	var out []string
	unfolded := strings.ReplaceAll(ldif, "\n ", "")
	for _, line := range strings.Split(unfolded, "\n") {
		if v, ok := strings.CutPrefix(line, attr+":: "); ok {
			b, _ := base64.StdEncoding.DecodeString(v)
			out = append(out, string(b))
		} else if v, ok := strings.CutPrefix(line, attr+": "); ok {
			out = append(out, v)
		}
	}
	return out
}

func testVdirsyncer(t *testing.T, s *system, official account) {
	requireTool(t, "vdirsyncer")
	dir := t.TempDir()
	local := filepath.Join(dir, "contacts")
	os.MkdirAll(local, 0o700)
	cfg := fmt.Sprintf(`[general]
status_path = %q

[pair danhba]
a = "congvu"
b = "local"
collections = ["from a"]

[storage congvu]
type = "carddav"
url = "https://%s/"
username = %q
password = %q
verify = %q

[storage local]
type = "filesystem"
path = %q
fileext = ".vcf"
`, filepath.Join(dir, "status"), s.addrs["https"], official.Address, official.Password, s.certFile, local)
	cfgPath := filepath.Join(dir, "config")
	os.WriteFile(cfgPath, []byte(cfg), 0o600)
	vd := func(stdin string, args ...string) string {
		cmd := exec.Command("vdirsyncer", append([]string{"-c", cfgPath}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		cmd.Env = append(os.Environ(), "HOME="+dir)
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("vdirsyncer %v: %v\n%s", args, err, b)
		}
		return string(b)
	}
	vd(strings.Repeat("y\n", 5), "discover")
	vd("", "sync")
	for _, book := range []string{"tinh", "donvi", "canhan"} {
		if _, err := os.Stat(filepath.Join(local, book)); err != nil {
			t.Fatalf("book %s not discovered: %v", book, err)
		}
	}
	cards, _ := filepath.Glob(filepath.Join(local, "tinh", "*.vcf"))
	if len(cards) < 100 {
		t.Fatalf("province book synced %d cards", len(cards))
	}
	found := 0
	for _, c := range cards {
		b, _ := os.ReadFile(c)
		if strings.Contains(addr.Fold(string(b)), "fn:nguyen van") {
			found++
		}
	}
	if found == 0 {
		t.Errorf("no Nguyễn Văn among %d synced cards", len(cards))
	}
	t.Logf("vdirsyncer synced %d cards of the province, %d named Nguyễn Văn…", len(cards), found)
	// A contact made on the client reaches the personal book on the server.
	card := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:vdir-1\r\nFN:Phạm Minh Châu\r\nEMAIL:chau@example.org\r\nEND:VCARD\r\n"
	os.WriteFile(filepath.Join(local, "canhan", "vdir-1.vcf"), []byte(card), 0o600)
	vd("", "sync")
	req, _ := http.NewRequest("GET", "https://"+s.addrs["https"]+"/carddav/"+official.Address+"/books/canhan/vdir-1.vcf", nil)
	req.SetBasicAuth(official.Address, official.Password)
	resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: s.tlsConfig()}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "FN:Phạm Minh Châu") {
		t.Errorf("card uploaded by vdirsyncer: %d\n%s", resp.StatusCode, b)
	}
	testCardDAVSync(t, s, official, local, func() { vd("", "sync") })
}

// testCardDAVSync: after vdirsyncer's initial sync, the directory changes
// (an official retires, another's phone is withheld); vdirsyncer's next
// sync removes the one card and updates the other, leaving the rest; the
// RFC 6578 report from the token taken before the change lists exactly
// those two (the retired one as 404) with a new token, and an unknown
// token is refused with 403 DAV:valid-sync-token. vdirsyncer 0.19 lists a
// collection by PROPFIND and ETags, not by sync-collection (its CardDAV
// storage sends no sync-token), so the report is checked on the raw wire.
func testCardDAVSync(t *testing.T, s *system, official account, local string, sync func()) {
	cardOf := func() map[string]string { // address → card as synced
		out := map[string]string{}
		files, _ := filepath.Glob(filepath.Join(local, "tinh", "*.vcf"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			if m := regexp.MustCompile(`(?m)^EMAIL[^:]*:(\S+)`).FindStringSubmatch(string(b)); m != nil {
				out[strings.ToLower(m[1])] = string(b)
			}
		}
		return out
	}
	before := cardOf()
	busy := map[string]bool{official.Address: true}
	for i := range 4 {
		busy[s.user(i).Address] = true
	}
	var retiree, withheld string
	for _, a := range s.accounts {
		card, ok := before[a.Address]
		switch {
		case a.Role != "official" || busy[a.Address] || !ok:
		case withheld == "" && strings.Contains(card, "\nTEL"):
			withheld = a.Address
		case retiree == "" && a.Address != withheld:
			retiree = a.Address
		}
	}
	if retiree == "" || withheld == "" {
		t.Fatalf("no official to retire (%q) or with a phone to withhold (%q) among %d synced cards", retiree, withheld, len(before))
	}
	dav := func(method, body, depth string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, "https://"+s.addrs["https"]+"/carddav/"+official.Address+"/books/tinh/", strings.NewReader(body))
		req.SetBasicAuth(official.Address, official.Password)
		req.Header.Set("Depth", depth)
		req.Header.Set("Content-Type", "application/xml; charset=utf-8")
		resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: s.tlsConfig()}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	syncReport := func(token string) (int, string) {
		return dav("REPORT", `<?xml version="1.0" encoding="utf-8"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>`+token+
			`</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>`, "0")
	}
	tokenRE := regexp.MustCompile(`<d:sync-token>([^<]+)</d:sync-token>`)
	code, prop := dav("PROPFIND", `<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:sync-token/></d:prop></d:propfind>`, "0")
	m := tokenRE.FindStringSubmatch(prop)
	if code != 207 || m == nil {
		t.Fatalf("PROPFIND DAV:sync-token on the province book: %d\n%.1500s", code, prop)
	}
	t0 := m[1]

	if out, err := s.congvu("account retire", "--reason", "nghỉ hưu", retiree); err != nil {
		t.Fatalf("account retire: %v\n%s", err, out)
	}
	if out, err := s.congvu("danhba withhold", "phone", withheld); err != nil {
		t.Fatalf("danhba withhold: %v\n%s", err, out)
	}
	sync()
	after := cardOf()
	if _, ok := after[retiree]; ok {
		t.Errorf("vdirsyncer kept the retired official's card %s", retiree)
	}
	if c, ok := after[withheld]; !ok || strings.Contains(c, "\nTEL") {
		t.Errorf("vdirsyncer did not update %s's card (phone withheld): present %v\n%s", withheld, ok, c)
	}
	if len(after) != len(before)-1 {
		t.Errorf("after the incremental sync %d cards, want %d", len(after), len(before)-1)
	}

	code, body := syncReport(t0)
	hrefs := regexp.MustCompile(`<d:href>[^<]*/([^/<]+)\.vcf</d:href>`).FindAllStringSubmatch(body, -1)
	m = tokenRE.FindStringSubmatch(body)
	if code != 207 || len(hrefs) != 2 || m == nil || m[1] == t0 ||
		!strings.Contains(body, "/"+retiree+".vcf</d:href><d:status>HTTP/1.1 404 Not Found</d:status>") ||
		!strings.Contains(body, "/"+withheld+".vcf</d:href><d:propstat>") {
		t.Errorf("sync-collection from the token before the change (retired %s, withheld %s): %d\n%.3000s", retiree, withheld, code, body)
	}
	if code, body := syncReport("urn:congvu:sync:0000:1"); code != 403 || !strings.Contains(body, "<d:valid-sync-token/>") {
		t.Errorf("an unknown sync token: %d\n%s", code, body)
	}
}

func testSieveConnect(t *testing.T, s *system) {
	requireTool(t, "sieve-connect")
	official, sender := s.user(1), s.user(2)
	script := filepath.Join(t.TempDir(), "rules.sieve")
	os.WriteFile(script, []byte("require [\"fileinto\", \"mailbox\", \"imap4flags\"];\r\n"+
		"if header :contains \"subject\" \"báo cáo\" {\r\n  fileinto :create :flags \"\\\\Flagged\" \"Báo cáo\";\r\n  stop;\r\n}\r\n"), 0o600)
	sc := func(args ...string) string { return sieveConnect(t, s, official, args...) }
	sc("--upload", "--localsieve", script, "--remotesieve", "Quy tắc")
	sc("--activate", "--remotesieve", "Quy tắc")
	if out := sc("--list"); !strings.Contains(out, `"Quy tắc" ACTIVE`) {
		t.Errorf("--list: %s", out)
	}
	if err := s.submit(sender, official.Address, "Báo cáo tháng 6"); err != nil {
		t.Fatal(err)
	}
	if err := s.submit(sender, official.Address, "Mời họp"); err != nil {
		t.Fatal(err)
	}
	// imaplib names folders in modified UTF-7 (RFC 3501 5.1.3): "Báo cáo".
	msgs := s.waitFor(official, `"B&AOE-o c&AOE-o"`, func(ms []fetched) bool { return len(ms) == 1 })
	if len(msgs) != 1 || !strings.Contains(strings.Join(msgs[0].Flags, " "), `\Flagged`) {
		t.Fatalf("Báo cáo folder over IMAP: %+v", msgs)
	}
	inbox := s.waitFor(official, "INBOX", func(ms []fetched) bool { return len(ms) >= 1 })
	for _, m := range inbox {
		if bytes.Contains(m.Raw, []byte("Báo cáo tháng 6")) {
			t.Error("the report also landed in INBOX")
		}
	}
}

// sieveConnect runs Debian's sieve-connect as acct against the ManageSieve
// listener (STARTTLS, certificate checked against the host name, PLAIN).
func sieveConnect(t *testing.T, s *system, acct account, args ...string) string {
	t.Helper()
	requireTool(t, "sieve-connect")
	host, port := hostPort(s.addrs["managesieve"])
	// The password goes on file descriptor 3, as --passwordfd wants.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, acct.Password+"\n")
	w.Close()
	cmd := exec.Command("sieve-connect", append([]string{"--server", host, "--port", port, "--user", acct.Address,
		"--passwordfd", "3", "--tlscafile", s.certFile, "--tlshostname", "mail." + demoDomain, "--authmech", "PLAIN", "--noclearauth"}, args...)...)
	cmd.ExtraFiles = []*os.File{r}
	b, err := cmd.CombinedOutput()
	r.Close()
	if err != nil {
		t.Fatalf("sieve-connect %v: %v\n%s", args, err, b)
	}
	return string(b)
}
