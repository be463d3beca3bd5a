package smime_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"os"
	"strings"
	"testing"

	"congvu/smime"
	"congvu/smime/smimetest"
)

// loadKey reads a test certificate's PKCS #8 key and chain.
func loadKey(t *testing.T, c *smimetest.Cert) (crypto.Signer, []*x509.Certificate) {
	t.Helper()
	b, err := os.ReadFile(c.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	chainPEM, _ := os.ReadFile(c.ChainPEM)
	inter, err := smime.ParsePEMCertificates(chainPEM)
	if err != nil {
		t.Fatal(err)
	}
	return k.(crypto.Signer), append([]*x509.Certificate{c.Cert}, inter...)
}

func TestSignMessageVerifiesWithOpenSSL(t *testing.T) {
	pki := smimetest.New(t)
	unit := pki.Issue(smimetest.Spec{CommonName: "Sở Khoa học và Công nghệ", Organization: "UBND tỉnh Khánh Hòa", Email: unitAddr})
	key, chain := loadKey(t, unit)
	v := smime.NewVerifier(smime.VerifierConfig{Trust: trustStore(t, pki)})
	msg := []byte("From: Sở KH&CN <" + unitAddr + ">\r\nTo: vanthu.syt@khanhhoa.gov.vn\r\nSubject: =?utf-8?b?Q8O0bmcgdsSDbg==?=\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: 8bit\r\n\r\nKính gửi Sở Y tế,\r\nxin gửi công văn.\r\n--b1\r\nContent-Type: application/pdf; name=\"Công văn.pdf\"\r\n" +
		"Content-Disposition: attachment; filename=\"Công văn.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjcK\r\n--b1--\r\n")
	for _, pss := range []bool{true, false} {
		signed, err := smime.SignMessage(msg, key, chain, smime.SignOptions{PSS: pss})
		if err != nil {
			t.Fatal(err)
		}
		// The signed entity is 7-bit (the top header may stay UTF-8).
		for _, c := range signed[strings.Index(string(signed), "\r\n\r\n"):] {
			if c >= 0x80 {
				t.Fatalf("signed body is not 7-bit")
			}
		}
		if out, ok := pki.Verify(signed); !ok {
			t.Fatalf("pss=%v: openssl cms -verify failed:\n%s\n%s", pss, out, signed)
		}
		printed := pki.PrintCMS(signed)
		if pss != strings.Contains(printed, "rsassaPss") || pss && !strings.Contains(printed, "mgf1") {
			t.Fatalf("pss=%v: openssl print:\n%s", pss, printed)
		}
		rs := v.VerifyMessage(context.Background(), signed)
		if len(rs) != 1 || rs[0].Status != smime.Pass || rs[0].Identifier != unitAddr {
			t.Fatalf("pss=%v: own verification %#v", pss, rs)
		}
		if !strings.Contains(string(signed), "Subject: =?utf-8?b?Q8O0bmcgdsSDbg==?=") || !strings.Contains(string(signed), "micalg=sha-256") {
			t.Fatalf("header not kept:\n%s", signed)
		}
	}
}
