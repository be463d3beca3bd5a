package official

import (
	"context"
	"errors"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"congvu/internal/mailerr"
	"congvu/smime/smimetest"
)

// A small site's key in a PKCS #12 file made by openssl (AES-256, PBKDF2:
// OpenSSL 3's defaults) signs mail that openssl verifies; a message from
// another address than the certificate's is refused.
func TestPKCS12Keys(t *testing.T) {
	pki := smimetest.New(t)
	unit := pki.Issue(smimetest.Spec{CommonName: "UBND xã Ninh Tây", Organization: "UBND tỉnh Khánh Hòa", Email: "ninhtay@khanhhoa.gov.vn"})
	p12 := filepath.Join(t.TempDir(), "ninhtay.p12")
	if out, err := exec.Command("openssl", "pkcs12", "-export", "-in", unit.CertPEM, "-inkey", unit.KeyPEM, "-certfile", unit.ChainPEM,
		"-out", p12, "-passout", "pass:Mat-khau-p12").CombinedOutput(); err != nil {
		t.Fatalf("openssl pkcs12: %v\n%s", err, out)
	}
	k, err := LoadKeys(KeysConfig{Backend: "pkcs12", PKCS12Password: "Mat-khau-p12", PSS: true,
		Keys: []KeyConfig{{Unit: "22333", PKCS12File: p12}}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if !k.CanSign("22333") || k.CanSign("22334") {
		t.Fatal("CanSign")
	}
	// The webmail offers the unit's signature only to whom it can sign for.
	if !k.CanSignAs("22333", "NinhTay@khanhhoa.gov.vn") || k.CanSignAs("22333", "chutich@khanhhoa.gov.vn") || k.CanSignAs("22334", "ninhtay@khanhhoa.gov.vn") {
		t.Fatal("CanSignAs")
	}
	msg := []byte("From: UBND xa Ninh Tay <ninhtay@khanhhoa.gov.vn>\r\nTo: vanthu@syt.khanhhoa.gov.vn\r\nSubject: Bao cao\r\n\r\nKính gửi.\r\n")
	signed, serial, err := k.Sign(context.Background(), "22333", msg)
	if err != nil || serial == "" {
		t.Fatal(err)
	}
	if out, ok := pki.Verify(signed); !ok {
		t.Fatalf("openssl cms -verify: %s", out)
	}
	if p := pki.PrintCMS(signed); !strings.Contains(p, "rsassaPss") {
		t.Fatalf("not PSS:\n%s", p)
	}
	other := []byte(strings.Replace(string(msg), "From: UBND xa Ninh Tay <ninhtay@", "From: <chutich@", 1))
	if _, _, err := k.Sign(context.Background(), "22333", other); !errors.Is(err, errCertAddress) || mailerr.As(err).SMTPCode != 554 {
		t.Fatalf("From not in the certificate: %v", err)
	}
	if _, err := LoadKeys(KeysConfig{Backend: "pkcs12", PKCS12Password: "sai", Keys: []KeyConfig{{Unit: "1", PKCS12File: p12}}}, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("wrong password accepted")
	}
}
