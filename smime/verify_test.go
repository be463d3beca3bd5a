package smime_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"congvu/smime"
	"congvu/smime/smimetest"
)

const (
	thanhAddr = "thanhnn.skhcn@khanhhoa.gov.vn"
	unitAddr  = "skhcn@khanhhoa.gov.vn"
)

var entity = []byte("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
	"Kính gửi: Sở Y tế\r\nSở Khoa học và Công nghệ gửi công văn số 123/SKHCN-VP.\r\n")

func message(from string, signed []byte) []byte {
	return append([]byte("From: =?utf-8?b?VGjDoG5o?= <"+from+">\r\nTo: vanthu.syt@khanhhoa.gov.vn\r\nSubject: Cong van 123\r\n"), signed...)
}

// trustStore trusts the test root (and, as in production, the built-in
// Government root).
func trustStore(t *testing.T, pki *smimetest.PKI) *smime.TrustStore {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(pki.RootPEM)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "test-root.pem"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	ts, err := smime.NewTrustStore(smime.TrustConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestVerifyOpenSSLSignatures(t *testing.T) {
	pki := smimetest.New(t)
	ts := trustStore(t, pki)
	if len(ts.Roots()) != 2 || !strings.Contains(ts.Roots()[0].Subject.CommonName, "RootCA chuyên dùng Chính phủ G2") {
		t.Fatalf("roots: want the built-in Government root and the test root, got %d", len(ts.Roots()))
	}
	v := smime.NewVerifier(smime.VerifierConfig{Trust: ts})
	ctx := context.Background()

	person := pki.Issue(smimetest.Spec{CommonName: "Nguyễn Ngọc Thành", Organization: "Sở Khoa học và Công nghệ", Email: thanhAddr})
	agency := pki.Issue(smimetest.Spec{CommonName: "Sở Khoa học và Công nghệ tỉnh Khánh Hòa", Organization: "UBND tỉnh Khánh Hòa", Bits: 3072})
	expired := pki.Issue(smimetest.Spec{CommonName: "Trần Văn Cũ", Email: thanhAddr, Expired: true})
	serverOnly := pki.Issue(smimetest.Spec{CommonName: "mail.khanhhoa.gov.vn", Email: thanhAddr, EKU: "serverAuth"})
	other := smimetest.New(t).Issue(smimetest.Spec{CommonName: "Kẻ giả mạo", Email: thanhAddr})

	check := func(name string, msg []byte, want smime.Status, reason string) smime.Result {
		t.Helper()
		rs := v.VerifyMessage(ctx, msg)
		if len(rs) != 1 {
			t.Fatalf("%s: %d results: %#v", name, len(rs), rs)
		}
		r := rs[0]
		if r.Status != want || !strings.Contains(r.Reason, reason) {
			t.Fatalf("%s: got %s (%s / %s), want %s (%s)", name, r.Status, r.Reason, r.ReasonVI, want, reason)
		}
		if want != smime.Pass && r.ReasonVI == "" {
			t.Errorf("%s: no Vietnamese reason", name)
		}
		return r
	}

	r := check("PKCS#1 v1.5", message(thanhAddr, pki.Sign(person, entity, smimetest.SignOptions{})), smime.Pass, "")
	if r.Identifier != thanhAddr || r.SignerName != "Nguyễn Ngọc Thành" || r.Organization != "Sở Khoa học và Công nghệ" ||
		r.Part != "1" || r.Serial != strings.ToUpper(person.Cert.SerialNumber.Text(16)) || !strings.Contains(r.Issuer, "CA phục vụ") {
		t.Errorf("signer fields: %#v", r)
	}
	check("RSASSA-PSS", message(thanhAddr, pki.Sign(person, entity, smimetest.SignOptions{PSS: true})), smime.Pass, "")
	check("RSASSA-PSS SHA-512", message(thanhAddr, pki.Sign(person, entity, smimetest.SignOptions{PSS: true, Digest: "sha512"})), smime.Pass, "")
	check("BER, indefinite lengths", message(thanhAddr, pki.Sign(person, entity, smimetest.SignOptions{PSS: true, Stream: true})), smime.Pass, "")
	check("opaque BER", message(thanhAddr, pki.Sign(person, entity, smimetest.SignOptions{Opaque: true, Stream: true})), smime.Pass, "")
	check("opaque RSASSA-PSS", message(thanhAddr, pki.Sign(person, entity, smimetest.SignOptions{PSS: true, Opaque: true})), smime.Pass, "")
	// An organisation certificate names no address: any author passes.
	check("agency, 3072 bits", message(unitAddr, pki.Sign(agency, entity, smimetest.SignOptions{PSS: true})), smime.Pass, "")

	good := message(thanhAddr, pki.Sign(person, entity, smimetest.SignOptions{PSS: true}))
	tampered := bytes.Replace(good, []byte("123/SKHCN"), []byte("124/SKHCN"), 1)
	if bytes.Equal(tampered, good) {
		t.Fatal("tampering changed nothing")
	}
	check("tampered", tampered, smime.Fail, "does not match")
	// A store that turned CRLF into LF does not break the signature.
	check("LF line ends", bytes.ReplaceAll(good, []byte("\r\n"), []byte("\n")), smime.Pass, "")
	check("wrong chain", message(thanhAddr, pki.Sign(other, entity, smimetest.SignOptions{})), smime.Neutral, "trusted authority")
	check("expired", message(thanhAddr, pki.Sign(expired, entity, smimetest.SignOptions{})), smime.Policy, "expired")
	check("wrong EKU", message(thanhAddr, pki.Sign(serverOnly, entity, smimetest.SignOptions{})), smime.Policy, "not for signing e-mail")
	check("From mismatch", message("chutich@khanhhoa.gov.vn", pki.Sign(person, entity, smimetest.SignOptions{})), smime.Policy, "differs from the sender")
	check("SHA-1", message(thanhAddr, pki.Sign(person, entity, smimetest.SignOptions{Digest: "sha1"})), smime.Policy, "weak")
	broken := bytes.Replace(good, []byte("MII"), []byte("XII"), 1)
	check("malformed", broken, smime.PermError, "")

	// Nested: a signed message forwarded as an attachment inside
	// multipart/mixed keeps its own author check and part number.
	fwd := []byte("From: <vanthu.syt@khanhhoa.gov.vn>\r\nTo: a@khanhhoa.gov.vn\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nChuyen tiep\r\n--XX\r\n" +
		"Content-Type: message/rfc822\r\n\r\n")
	fwd = append(fwd, good...)
	fwd = append(fwd, "\r\n--XX--\r\n"...)
	r = check("forwarded", fwd, smime.Pass, "")
	if r.Part != "2.1" {
		t.Errorf("forwarded part = %q, want 2.1", r.Part)
	}
}

func FuzzVerify(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.p7s")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte{0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02, 0xa0, 0x80, 0x30, 0x80, 0, 0, 0, 0, 0, 0})
	ts, err := smime.NewTrustStore(smime.TrustConfig{})
	if err != nil {
		f.Fatal(err)
	}
	v := smime.NewVerifier(smime.VerifierConfig{Trust: ts})
	f.Fuzz(func(t *testing.T, p7 []byte) {
		r := v.Verify(context.Background(), p7, []byte("content\r\n"), []string{"a@b.vn"})
		if r.Status == smime.Pass {
			t.Fatalf("random bytes verified")
		}
		v.Verify(context.Background(), p7, nil, nil)
	})
}
