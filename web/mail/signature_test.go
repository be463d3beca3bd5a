package mail

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"congvu/smime"
	"congvu/storage"
	"congvu/web/core"
	"congvu/web/webtest"
)

// The badge shows what the stamp says (here a stand-in for
// smime.FromHeader keyed on a test field), and the .p7s of a signed
// message is not listed as an attachment.
func TestMailSignatureBadge(t *testing.T) {
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fromHeader := func(h []byte) []smime.Result {
		switch {
		case bytes.Contains(h, []byte("X-Test-Sig: pass")):
			return []smime.Result{{Status: smime.Pass, SignerName: "Nguyễn Văn An", Organization: "Sở Khoa học và Công nghệ", Identifier: anAddr, Part: "1"}}
		case bytes.Contains(h, []byte("X-Test-Sig: fail")):
			return []smime.Result{{Status: smime.Fail, Reason: "signature does not verify", ReasonVI: "chữ ký không khớp với nội dung (đã bị sửa)"}}
		}
		return nil
	}
	e := &mailEnv{store: st}
	e.Env = webtest.New(t, nil, func(s *core.Site) { Register(s, Options{Mail: st, Signatures: fromHeader}) })
	signed := func(result string) string {
		return `
From: ` + anAddr + `
Subject: Công văn ký số
X-Test-Sig: ` + result + `
MIME-Version: 1.0
Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="sig"

--sig
Content-Type: text/plain; charset=utf-8

Nội dung công văn.
--sig
Content-Type: application/pkcs7-signature; name="smime.p7s"
Content-Disposition: attachment; filename="smime.p7s"
Content-Transfer-Encoding: base64

MIIBAAYJKoZIhvcNAQcCoIIB
--sig--
`
	}
	good := e.appendMsg(anAddr, "INBOX", signed("pass"))
	bad := e.appendMsg(anAddr, "INBOX", signed("fail"))
	plain := e.appendMsg(anAddr, "INBOX", "\nFrom: "+ducAddr+"\nSubject: Thường\n\nKhông ký.\n")
	b := e.Browser()
	expect(t, b.Login(anAddr, secretPW), 200)
	v := b.Get(fmt.Sprintf("/mail/msg?folder=INBOX&uid=%d", good)).Body
	if !strings.Contains(v, `id="sig-valid"`) || !strings.Contains(v, "Nguyễn Văn An, Sở Khoa học và Công nghệ") {
		t.Errorf("valid signature: no badge")
	}
	if strings.Contains(v, "smime.p7s") {
		t.Error("the .p7s is listed as an attachment")
	}
	v = b.Get(fmt.Sprintf("/mail/msg?folder=INBOX&uid=%d", bad)).Body
	if !strings.Contains(v, `id="sig-invalid"`) || !strings.Contains(v, "chữ ký không khớp với nội dung (đã bị sửa)") {
		t.Errorf("invalid signature: no badge with the reason")
	}
	v = b.Get(fmt.Sprintf("/mail/msg?folder=INBOX&uid=%d", plain)).Body
	if !strings.Contains(v, `id="sig-none"`) {
		t.Errorf("unsigned: no badge")
	}
}
