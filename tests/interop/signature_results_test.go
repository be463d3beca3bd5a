package interop

import (
	"bytes"
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
