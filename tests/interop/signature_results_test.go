package interop

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"congvu/smime"
	"congvu/smime/smimetest"
)

// TestSignatureResultsOverIMAP: mail from another province signed with
// `openssl cms -sign` — valid (RSASSA-PSS), tampered in transit, expired,
// for the wrong purpose, revoked (the test's own OCSP responder says so),
// issued by an untrusted CA, and with SHA-1 — each arrives (signatures
// never block inbound mail) and, read back over IMAP, carries the RFC 7281
// result and reason an official's client and the webmail badge show. The
// test root is dropped into the quickstart's trust/ directory and taken in
// by `congvu reload`, as the README tells operators.
func TestSignatureResultsOverIMAP(t *testing.T) {
	pki, other := smimetest.New(t), smimetest.New(t)
	dir := t.TempDir()
	s := startSystem(t, dir)
	root, err := os.ReadFile(pki.RootPEM)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "demo", "trust", "so-tnmt-angiang-test-root.pem"), root, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := s.congvu("reload"); err != nil {
		t.Fatalf("congvu reload: %v\n%s", err, out)
	}
	official := s.user(5)
	t.Run("a published certificate reaches LDAP, the danh bạ and CardDAV", func(t *testing.T) {
		testPublishedCertificate(t, s, pki, s.user(6))
	})
	const sender = "vanthu.stnmt@angiang.gov.vn"
	spec := func(s smimetest.Spec) smimetest.Spec {
		s.CommonName, s.Organization, s.Email = "Văn thư Sở TN&MT", "UBND tỉnh An Giang", sender
		return s
	}
	valid := pki.Issue(spec(smimetest.Spec{}))
	revoked := pki.Issue(spec(smimetest.Spec{}))
	pki.Revoke(revoked)
	cases := []struct {
		name        string
		cert        *smimetest.Cert
		opt         smimetest.SignOptions
		tamper      bool
		want        smime.Status
		reasonWords string
	}{
		{"valid-pss", valid, smimetest.SignOptions{PSS: true}, false, smime.Pass, ""},
		{"tampered", valid, smimetest.SignOptions{PSS: true}, true, smime.Fail, "thay đổi"},
		{"expired", pki.Issue(spec(smimetest.Spec{Expired: true})), smimetest.SignOptions{}, false, smime.Policy, "hết hạn"},
		{"wrong-eku", pki.Issue(spec(smimetest.Spec{EKU: "serverAuth"})), smimetest.SignOptions{}, false, smime.Policy, "không dùng để ký thư"},
		{"revoked", revoked, smimetest.SignOptions{}, false, smime.Policy, "thu hồi"},
		{"untrusted", other.Issue(spec(smimetest.Spec{})), smimetest.SignOptions{}, false, smime.Neutral, "không do tổ chức tin cậy"},
		{"sha1", valid, smimetest.SignOptions{Digest: "sha1"}, false, smime.Policy, "băm yếu"},
	}
	c, err := smtp.DialStartTLS(s.addrs["smtp"], s.tlsConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range cases {
		body := "Content-Type: text/plain; charset=utf-8\r\n\r\nKính gửi Sở KH&CN: công văn số 45/STNMT (" + tc.name + ").\r\n"
		signed := pki.Sign(tc.cert, []byte(body), tc.opt)
		if tc.cert == cases[5].cert {
			signed = other.Sign(tc.cert, []byte(body), tc.opt)
		}
		if tc.tamper {
			signed = bytes.Replace(signed, []byte("45/STNMT"), []byte("46/STNMT"), 1)
		}
		msg := "From: <" + sender + ">\r\nTo: <" + official.Address + ">\r\nSubject: ky so " + tc.name +
			"\r\nMessage-ID: <" + tc.name + "@angiang.gov.vn>\r\nDate: Mon, 02 Jun 2025 09:15:04 +0700\r\n" + string(signed)
		if err := c.SendMail(sender, []string{official.Address}, strings.NewReader(msg)); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
	msgs := s.waitFor(official, "INBOX", func(m []fetched) bool { return len(m) >= len(cases) })
	bySubject := map[string][]byte{}
	for _, m := range msgs {
		raw := string(m.Raw)
		if i := strings.Index(raw, "Subject: ky so "); i >= 0 {
			name := strings.TrimSpace(strings.SplitN(raw[i+len("Subject: ky so "):], "\r\n", 2)[0])
			bySubject[name] = m.Raw
		}
	}
	for _, tc := range cases {
		raw, ok := bySubject[tc.name]
		if !ok {
			t.Errorf("%s: not delivered", tc.name)
			continue
		}
		rs := smime.FromHeader(raw, "mail."+demoDomain)
		if len(rs) != 1 {
			t.Errorf("%s: %d results stamped", tc.name, len(rs))
			continue
		}
		r := rs[0]
		if r.Status != tc.want || !strings.Contains(r.ReasonVI, tc.reasonWords) {
			t.Errorf("%s: %s (%q / %q), want %s with %q", tc.name, r.Status, r.ReasonVI, r.Reason, tc.want, tc.reasonWords)
		}
		if tc.want == smime.Pass && (r.Identifier != sender || r.Organization != "UBND tỉnh An Giang") {
			t.Errorf("%s: signer %q of %q", tc.name, r.Identifier, r.Organization)
		}
	}
}

// testPublishedCertificate: `congvu cert import` publishes an official's
// certificate; after `congvu reload` colleagues' clients find it where
// they look — Thunderbird's and Outlook's LDAP lookup (ldapsearch for
// userCertificate;binary and userSMIMECertificate), the danh bạ page's
// download (which openssl reads), its vCard (KEY) and LDIF exports, and
// CardDAV.
func testPublishedCertificate(t *testing.T, s *system, pki *smimetest.PKI, official account) {
	cert := pki.Issue(smimetest.Spec{CommonName: "Cán bộ nhận", Organization: "UBND tỉnh Khánh Hòa", Email: official.Address})
	leaf, _ := os.ReadFile(cert.CertPEM)
	chain, _ := os.ReadFile(cert.ChainPEM)
	file := filepath.Join(t.TempDir(), "cert.pem")
	os.WriteFile(file, append(leaf, chain...), 0o600)
	if out, err := s.congvu("cert import", official.Address, file); err != nil {
		t.Fatalf("congvu cert import: %v\n%s", err, out)
	}
	if out, err := s.congvu("reload"); err != nil {
		t.Fatalf("congvu reload: %v\n%s", err, out)
	}
	der := cert.Cert.Raw

	out, err := run(t, nil, "ldapsearch", "-x", "-LLL", "-H", "ldap://"+s.addrs["ldap"], "-b", demoBaseDN,
		"(mail="+official.Address+")", "userCertificate;binary", "userSMIMECertificate")
	if err != nil {
		t.Fatalf("ldapsearch: %v\n%s", err, out)
	}
	if got := ldifValues(out, "userCertificate;binary"); len(got) != 1 || got[0] != string(der) {
		t.Errorf("ldapsearch userCertificate;binary: %d values\n%.1500s", len(got), out)
	}
	if got := ldifValues(out, "userSMIMECertificate"); len(got) != 1 || !bytes.Contains([]byte(got[0]), der) {
		t.Errorf("ldapsearch userSMIMECertificate: %d values", len(got))
	}

	get := func(path string) []byte {
		t.Helper()
		resp, err := http.Get("http://" + s.addrs["http"] + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d\n%.800s", path, resp.StatusCode, b)
		}
		return b
	}
	q := url.Values{"q": {official.Address}}.Encode()
	if page := get("/danhba?" + q); !bytes.Contains(page, []byte(`href="danhba.cer?address=`)) {
		t.Errorf("the danh bạ page offers no certificate for %s", official.Address)
	}
	cer := get("/danhba.cer?" + url.Values{"address": {official.Address}}.Encode())
	x509Out, err := run(t, cer, "openssl", "x509", "-inform", "DER", "-noout", "-email")
	if err != nil || strings.TrimSpace(x509Out) != official.Address {
		t.Errorf("openssl x509 on the danh bạ's .cer: %v %q", err, x509Out)
	}
	vcf := strings.ReplaceAll(string(get("/danhba.vcf?"+q)), "\r\n ", "")
	if !strings.Contains(vcf, "KEY:data:application/pkix-cert;base64,"+base64.StdEncoding.EncodeToString(der)) {
		t.Errorf("vCard export without the certificate:\n%.600s", vcf)
	}
	if got := ldifValues(string(get("/danhba.ldif?"+q)), "userCertificate;binary"); len(got) != 1 || got[0] != string(der) {
		t.Errorf("LDIF export: %d certificate values", len(got))
	}

	// CardDAV: the colleague's card in the province book, as a client GETs it.
	req, _ := http.NewRequest("GET", "https://"+s.addrs["https"]+"/carddav/"+official.Address+"/books/tinh/"+official.Address+".vcf", nil)
	req.SetBasicAuth(official.Address, official.Password)
	resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: s.tlsConfig()}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	card, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	unfolded := strings.ReplaceAll(string(card), "\r\n ", "")
	if resp.StatusCode != 200 || !strings.Contains(unfolded, base64.StdEncoding.EncodeToString(der)) {
		t.Errorf("CardDAV card: %d\n%.600s", resp.StatusCode, card)
	}
}
