package interop

import (
	"bytes"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// clusterBrowser is an official's browser on one node's web (net/http
// with a cookie jar), trusting the cluster's certificate.
type clusterBrowser struct {
	e    *clusterEnv
	base string
	c    *http.Client
}

func (e *clusterEnv) browser(node string) *clusterBrowser {
	jar, _ := cookiejar.New(nil)
	trust := e.trust.Clone()
	trust.ServerName = "" // the node's IP address, in the certificate
	return &clusterBrowser{e: e, base: "https://" + e.nodes[node].addrs["https"], c: &http.Client{Jar: jar,
		Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: trust, ForceAttemptHTTP2: true}}}
}

// do sends a request as a browser does (Origin on a POST) and returns the
// status, the path after redirects and the page.
func (b *clusterBrowser) do(method, path, contentType string, body io.Reader, header http.Header) (int, string, string) {
	t := b.e.t
	t.Helper()
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Origin", b.base)
	}
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	page, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Request.URL.Path, string(page)
}

func (b *clusterBrowser) get(path string) (int, string) {
	b.e.t.Helper()
	code, _, page := b.do(http.MethodGet, path, "", nil, nil)
	return code, page
}

var (
	clusterCSRF    = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	clusterCompose = regexp.MustCompile(`name="compose" value="([^"]+)"`)
	clusterMsgLink = regexp.MustCompile(`href="(/mail/msg\?[^"]+)"`)
)

func (b *clusterBrowser) field(re *regexp.Regexp, path, page string) string {
	b.e.t.Helper()
	m := re.FindStringSubmatch(page)
	if m == nil {
		b.e.t.Fatalf("%s: no %s on the page:\n%.2000s", path, re, page)
	}
	return html.UnescapeString(m[1])
}

// signIn fills the sign-in form.
func (b *clusterBrowser) signIn(a account) {
	t := b.e.t
	t.Helper()
	_, page := b.get("/login")
	form := url.Values{"csrf": {b.field(clusterCSRF, "/login", page)}, "login": {a.Address}, "password": {a.Password}}
	code, at, page := b.do(http.MethodPost, "/login", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), nil)
	if code != http.StatusOK || at != "/" {
		t.Fatalf("web sign-in of %s: %d at %s\n%.2000s", a.Address, code, at, page)
	}
}

// send writes and sends a message with the compose form (multipart, the
// CSRF token first, as the page's form is) and returns the page after.
func (b *clusterBrowser) send(to, subject, body string) (int, string, string) {
	t := b.e.t
	t.Helper()
	_, page := b.get("/mail/compose")
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range [][2]string{{"csrf", b.field(clusterCSRF, "/mail/compose", page)},
		{"compose", b.field(clusterCompose, "/mail/compose", page)}, {"action", "send"},
		{"to", to}, {"subject", subject}, {"body", body}} {
		mw.WriteField(f[0], f[1])
	}
	mw.Close()
	return b.do(http.MethodPost, "/mail/compose", mw.FormDataContentType(), &buf, nil)
}

// webmailOnAnotherNode: a node-2 official signs in on node 1's web, reads
// a message stored only on node 2 and sends one through node 1's web; a
// ticket header a client makes up is refused by node 2.
func (e *clusterEnv) webmailOnAnotherNode(u2, u3 account, stored string) *clusterBrowser {
	t := e.t
	t.Helper()
	b := e.browser("node1")
	b.signIn(u2)
	code, list := b.get("/mail")
	if code != http.StatusOK || !strings.Contains(list, stored) {
		t.Fatalf("node 1's webmail for a node-2 mailbox: %d, want the INBOX with %q:\n%.3000s", code, stored, list)
	}
	link := b.field(clusterMsgLink, "/mail", list)
	if code, msg := b.get(link); code != http.StatusOK || !strings.Contains(msg, stored) || !strings.Contains(msg, "Kinh gui") {
		t.Errorf("reading %s through node 1: %d\n%.3000s", link, code, msg)
	}
	const subject = "Gui tu webmail qua nut 1"
	code, at, page := b.send(u3.Address, subject, "Kinh gui dong chi Cuong.")
	if code != http.StatusOK || !strings.Contains(page, "Đã gửi thư.") {
		t.Errorf("sending from node 1's webmail for a node-2 mailbox: %d at %s, want the notice \"Đã gửi thư.\"\n%.3000s", code, at, page)
	}
	e.waitSubject(u3, subject, 30*time.Second)
	// The copy in Sent is on node 2, the mailbox's node.
	if code, sent := b.get("/mail?folder=Sent"); code != http.StatusOK || !strings.Contains(sent, subject) {
		t.Errorf("Sent through node 1's webmail: %d, want %q listed\n%.3000s", code, subject, sent)
	}

	// A client that makes up a ticket, straight to node 2's web.
	direct := e.browser("node2")
	for _, forged := range []string{"x", "eyJhIjoiYmluaHR0LnVibmRAa2hhbmhob2EuZ292LnZuIn0.AAAA"} {
		code, _, page := direct.do(http.MethodGet, "/mail", "", nil, http.Header{"X-Congvu-Node-Ticket": {forged}})
		if code != http.StatusForbidden || !strings.Contains(page, "không hợp lệ") || strings.Contains(page, stored) {
			t.Errorf("forged node ticket sent to node 2: %d, want 403\n%.2000s", code, page)
		}
	}
	return b
}

// webmailHomeDown: with the mailbox's node down, node 1 answers its
// webmail with a readable Vietnamese page and keeps serving the rest.
func (e *clusterEnv) webmailHomeDown(b *clusterBrowser) {
	t := e.t
	t.Helper()
	code, page := b.get("/mail")
	if code != http.StatusServiceUnavailable || !strings.Contains(page, "Hộp thư của bạn tạm thời không truy cập được") {
		t.Errorf("node 1's webmail with the home node down: %d, want 503 with the Vietnamese notice\n%.2000s", code, page)
	}
	if code, _ := b.get("/"); code != http.StatusOK {
		t.Errorf("node 1's account page with node 2 down: %d", code)
	}
}
