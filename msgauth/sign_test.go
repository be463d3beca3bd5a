package msgauth

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
)

func TestKeygenSignVerify(t *testing.T) {
	dir := t.TempDir()
	records := map[string]string{}
	for _, alg := range []string{AlgRSA, AlgEd25519} {
		path, rec, err := Keygen(dir, "KhanhHoa.gov.vn", alg+"-2025", alg)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(rec, "v=DKIM1; k="+alg+"; p=") {
			t.Errorf("record %q", rec)
		}
		records[alg+"-2025._domainkey.khanhhoa.gov.vn"] = rec
		if _, _, err := Keygen(dir, "khanhhoa.gov.vn", alg+"-2025", alg); err == nil {
			t.Errorf("Keygen overwrote %s", path)
		}
	}
	if _, _, err := Keygen(dir, "khanhhoa.gov.vn", "../x", AlgRSA); err == nil {
		t.Error("selector with a path accepted")
	}
	s, err := LoadSigner(dir)
	if err != nil {
		t.Fatal(err)
	}
	msg := "From: =?utf-8?q?Nguy=E1=BB=85n_Th=C3=A0nh?= <thanhnn.skhcn@khanhhoa.gov.vn>\r\nTo: vanthu@angiang.gov.vn\r\nSubject: Test\r\n\r\nBody  with   spaces\r\n"
	sig, err := s.Sign(strings.NewReader(msg))
	if err != nil || bytes.Count(sig, []byte("DKIM-Signature:")) != 2 {
		t.Fatalf("want two signatures, got %q %v", sig, err)
	}
	signed := string(sig) + msg
	vs, err := dkim.VerifyWithOptions(strings.NewReader(signed), &dkim.VerifyOptions{LookupTXT: func(name string) ([]string, error) {
		return []string{records[name]}, nil
	}})
	if err != nil || len(vs) != 2 {
		t.Fatalf("verify: %v %v", vs, err)
	}
	for _, v := range vs {
		if v.Err != nil || v.Domain != "khanhhoa.gov.vn" {
			t.Errorf("signature %+v", v)
		}
	}
	// Oversigned From: a From added later breaks the signatures.
	vs, _ = dkim.VerifyWithOptions(strings.NewReader(string(sig)+"From: attacker@evil.example\r\n"+msg), &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) { return []string{records[name]}, nil }})
	for _, v := range vs {
		if v.Err == nil {
			t.Error("signature survived an added From field")
		}
	}
	// Other domains and multi-domain From are not signed.
	for _, m := range []string{"From: a@angiang.gov.vn\r\n\r\nx\r\n", "From: a@khanhhoa.gov.vn, b@angiang.gov.vn\r\n\r\nx\r\n"} {
		if sig, err := s.Sign(strings.NewReader(m)); err != nil || sig != nil {
			t.Errorf("%q signed: %q %v", m, sig, err)
		}
	}
	if line := ZoneLine("khanhhoa.gov.vn", "rsa-2025", records["rsa-2025._domainkey.khanhhoa.gov.vn"]); !strings.HasPrefix(line, `rsa-2025._domainkey.khanhhoa.gov.vn. IN TXT ( "v=DKIM1; k=rsa; p=`) || !strings.Contains(line, `" "`) {
		t.Errorf("zone line %s", line)
	}
}

// A key made while the server runs signs after Reload; a broken key file
// makes Reload fail and leaves the keys in use.
func TestSignerReload(t *testing.T) {
	dir := t.TempDir()
	s, err := LoadSigner(dir)
	if err != nil {
		t.Fatal(err)
	}
	msg := "From: thanhnn.skhcn@khanhhoa.gov.vn\r\nSubject: x\r\n\r\nx\r\n"
	if sig, err := s.Sign(strings.NewReader(msg)); err != nil || sig != nil {
		t.Fatalf("signed without keys: %q %v", sig, err)
	}
	if _, _, err := Keygen(dir, "khanhhoa.gov.vn", "ed-2026", AlgEd25519); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if sig, err := s.Sign(strings.NewReader(msg)); err != nil || !bytes.Contains(sig, []byte("s=ed-2026")) {
		t.Fatalf("after Reload: %q %v", sig, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "khanhhoa.gov.vn", "broken.pem"), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(); err == nil {
		t.Error("Reload accepted a broken key file")
	}
	if sig, _ := s.Sign(strings.NewReader(msg)); !bytes.Contains(sig, []byte("s=ed-2026")) {
		t.Error("a failed Reload dropped the keys in use")
	}
}
