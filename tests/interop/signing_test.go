package interop

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"congvu/internal/config"
	"congvu/pdf/pdftest"
	"congvu/smime"
	"congvu/smime/smimetest"
)

// TestSignedDocuments: a văn thư (the Sở KH&CN unit mailbox) sends an
// official PDF with swaks. Unsigned and without central signing it is
// refused with the rule's reason; asking for central signing, congvu signs
// it with the unit's key in a SoftHSM2 token, Postfix of the other
// province receives it and openssl verifies it there against the root; a
// colleague of another unit reads it over IMAP with smime=pass and the
// agency's name; a TỐI MẬT draft sent with msmtp is refused; the usage
// report shows the signed share.
func TestSignedDocuments(t *testing.T) {
	requireTool(t, "swaks")
	requireTool(t, "msmtp")
	requireTool(t, "softhsm2-util")
	pki := smimetest.New(t)
	const unitBox = "skhcn@" + demoDomain
	const unitCode = "56.skhcn" // the demo's Sở Khoa học và Công nghệ (internal/demo)
	unitCert := pki.Issue(smimetest.Spec{CommonName: "Sở Khoa học và Công nghệ tỉnh Khánh Hòa", Organization: "UBND tỉnh Khánh Hòa", Email: unitBox})
	// The token's configuration is in the environment congvu inherits.
	tok := smimetest.SoftHSM(t, map[string]*smimetest.Cert{"skhcn": unitCert})

	root, _ := os.ReadFile(pki.RootPEM)
	p := startProvince(t, func(c *config.Config) {
		// As an operator does: the unit's certificate chain and the
		// token PIN in the data directory, the test root in trust/.
		cert, _ := os.ReadFile(unitCert.CertPEM)
		chain, _ := os.ReadFile(unitCert.ChainPEM)
		os.WriteFile(filepath.Join(c.Server.DataDir, "skhcn-chain.pem"), append(cert, chain...), 0o600)
		os.WriteFile(filepath.Join(c.Server.DataDir, "hsm-pin"), []byte(tok.PIN+"\n"), 0o600)
		os.WriteFile(filepath.Join(c.Server.DataDir, "trust", "test-root.pem"), root, 0o600)
		c.Signing.Central = config.Central{Backend: "pkcs11", PKCS11Module: tok.Module, PKCS11TokenLabel: tok.Label,
			PKCS11PINFile: "hsm-pin", Padding: "pss", Header: "X-Congvu-Sign",
			Keys: []config.CentralKey{{Unit: unitCode, KeyLabel: "skhcn", CertFile: "skhcn-chain.pem"}}}
	})
	s := p.congvu

	var unit account
	for _, a := range s.accounts {
		if a.Address == unitBox {
			unit = a
		}
	}
	if unit.Address == "" {
		t.Fatalf("no %s in the demo accounts", unitBox)
	}
	colleague := s.user(30) // an official of another unit
	pdf := filepath.Join(t.TempDir(), "CV-123-SKHCN.pdf")
	os.WriteFile(pdf, pdftest.QPDF(t, pdftest.Document([]string{"SỞ KHOA HỌC VÀ CÔNG NGHỆ", "Số: 123/SKHCN-VP", "V/v báo cáo số liệu"})), 0o600)
	swaks := func(to string, extra ...string) (string, error) {
		args := append([]string{"--server", s.addrs["submission"], "--tls", "--tls-ca-path", s.certFile,
			"--auth", "PLAIN", "--auth-user", unit.Address, "--auth-password", unit.Password,
			"--from", unit.Address, "--to", to, "--header", "Subject: Cong van 123/SKHCN-VP",
			"--body", "Kinh gui, So KH&CN gui cong van.", "--attach-type", "application/pdf", "--attach", "@" + pdf}, extra...)
		return run(t, nil, "swaks", args...)
	}

	t.Run("unsigned official document refused", func(t *testing.T) {
		out, err := swaks(otherUser)
		if err == nil || !strings.Contains(out, "554 5.7.1") || !strings.Contains(out, "must be digitally signed") {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
	})

	t.Run("central signing, verified by openssl at Postfix", func(t *testing.T) {
		out, err := swaks(otherUser, "--add-header", "X-Congvu-Sign: yes")
		if err != nil || !strings.Contains(out, "250") {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
		m := p.waitPostfixMail(otherUser, 1, 20*time.Second)[0]
		if strings.Contains(m, "X-Congvu-Sign") || !strings.Contains(m, "multipart/signed") {
			t.Fatalf("message at Postfix:\n%.2000s", m)
		}
		if out, ok := pki.Verify([]byte(m)); !ok {
			t.Fatalf("openssl cms -verify at Postfix: %s", out)
		}
		if printed := pki.PrintCMS([]byte(m)); !strings.Contains(printed, "rsassaPss") {
			t.Errorf("not RSASSA-PSS:\n%s", printed)
		}
	})

	t.Run("colleague sees smime=pass over IMAP", func(t *testing.T) {
		out, err := swaks(colleague.Address, "--add-header", "X-Congvu-Sign: yes")
		if err != nil || !strings.Contains(out, "250") {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
		msgs := s.waitFor(colleague, "INBOX", func(ms []fetched) bool { return len(ms) > 0 })
		if len(msgs) == 0 {
			t.Fatal("nothing in the colleague's INBOX")
		}
		rs := smime.FromHeader(msgs[len(msgs)-1].Raw, "mail."+demoDomain)
		if len(rs) != 1 || rs[0].Status != smime.Pass || rs[0].Organization != "UBND tỉnh Khánh Hòa" ||
			!strings.Contains(rs[0].SignerName, "Khoa học và Công nghệ") {
			t.Fatalf("stamp read over IMAP: %#v", rs)
		}
	})

	t.Run("a PDF signed by the agency's own tool satisfies the rule", func(t *testing.T) {
		// Signed the way signing tools do (incremental update, ByteRange,
		// detached CMS from openssl), with the agency's key.
		signedPDF := filepath.Join(t.TempDir(), "CV-124-da-ky.pdf")
		base, _ := os.ReadFile(pdf)
		os.WriteFile(signedPDF, pdftest.Sign(t, base, "So KH&CN Khanh Hoa", func(b []byte) []byte {
			return pki.SignDetachedDER(unitCert, b, true)
		}), 0o600)
		pdftest.Check(t, mustRead(t, signedPDF))
		out, err := run(t, nil, "swaks", "--server", s.addrs["submission"], "--tls", "--tls-ca-path", s.certFile,
			"--auth", "PLAIN", "--auth-user", unit.Address, "--auth-password", unit.Password,
			"--from", unit.Address, "--to", colleague.Address, "--header", "Subject: Cong van 124 da ky so",
			"--body", "Kinh gui.", "--attach-type", "application/pdf", "--attach", "@"+signedPDF)
		if err != nil || !strings.Contains(out, "250") {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
		var raw []byte
		s.waitFor(colleague, "INBOX", func(ms []fetched) bool {
			for _, m := range ms {
				if strings.Contains(string(m.Raw), "Cong van 124") {
					raw = m.Raw
				}
			}
			return raw != nil
		})
		rs := smime.FromHeader(raw, "mail."+demoDomain)
		if len(rs) != 1 || rs[0].Status != smime.Pass || rs[0].Part != "pdf:CV-124-da-ky.pdf" || rs[0].Organization != "UBND tỉnh Khánh Hòa" {
			t.Fatalf("stamp of the signed PDF: %#v", rs)
		}
	})

	t.Run("TỐI MẬT draft refused (msmtp)", func(t *testing.T) {
		official := s.user(0)
		host, port := hostPort(s.addrs["submission"])
		conf := filepath.Join(t.TempDir(), "msmtprc")
		os.WriteFile(conf, []byte("account default\nhost "+host+"\nport "+port+"\ntls on\ntls_starttls on\ntls_trust_file "+
			s.certFile+"\nauth plain\nuser "+official.Address+"\npassword "+official.Password+"\nfrom "+official.Address+"\n"), 0o600)
		draft := "From: " + official.Address + "\r\nTo: " + colleague.Address + "\r\nSubject: Du thao phuong an\r\n" +
			"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nTỐI MẬT\r\n\r\nPhương án bảo vệ mục tiêu.\r\n"
		out, err := run(t, []byte(draft), "msmtp", "-C", conf, colleague.Address)
		if err == nil || !strings.Contains(out, "554") || !strings.Contains(out, "TOI MAT") {
			t.Fatalf("msmtp: %v\n%s", err, out)
		}
	})

	t.Run("usage report shows the signed share", func(t *testing.T) {
		loc, _ := time.LoadLocation("Asia/Ho_Chi_Minh")
		// The server writes its counters every policy.flush_seconds.
		var out string
		for deadline := time.Now().Add(10 * time.Second); ; {
			var err error
			out, err = run(t, nil, binaryPath, "report", "usage", "--config", p.cfgPath, "--unit", unitCode, "--format", "csv",
				"--period", time.Now().In(loc).Format("2006-01"))
			if err != nil {
				t.Fatalf("report: %v\n%s", err, out)
			}
			if strings.Contains(out, ",3,3,100.0%,100.0%") || time.Now().After(deadline) {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if !strings.Contains(out, "Tỷ lệ ký số") || !strings.Contains(out, ",3,3,100.0%,100.0%") {
			t.Fatalf("usage report:\n%s", out)
		}
	})

	t.Run("văn thư signs with the unit's certificate on the web", func(t *testing.T) {
		testClerkSignsOnWeb(t, s, pki, unit, colleague, pdf)
	})
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testClerkSignsOnWeb: the văn thư, signed in to the Sở KH&CN unit mailbox
// on the web, writes an official PDF to a colleague of another unit in
// Chromium. Without "Ký số bằng chứng
// thư của đơn vị" the signed-document rule refuses it on the form and the
// draft keeps it; ticked, the server signs it with the unit's key in the
// token and the colleague's copy verifies: smime=pass with the agency's
// name over IMAP, and openssl against the test root.
func testClerkSignsOnWeb(t *testing.T, s *system, pki *smimetest.PKI, clerk, colleague account, pdf string) {
	// The văn thư works in the unit mailbox, whose address the unit's
	// certificate names; a personal mailbox is not offered the choice.
	officialOfUnit := s.accountWithRole("clerk", func(a account) bool { return personOfSKHCN.MatchString(a.Address) })
	if p := officialOfUnit.signInFirstPage(t, s, "/mail/compose"); strings.Contains(p, `name="sign"`) {
		t.Errorf("%s (no address in the unit certificate) is offered the unit's signature", officialOfUnit.Address)
	}
	ctx := s.browser()
	s.signIn(ctx, clerk.Address, clerk.Password)
	changePassword(t, ctx, clerk.Password, "Van-Thu#2026kyso")
	do(t, ctx, "account page", chromedp.WaitVisible("dl.facts"))

	const subject = "Công văn 125/SKHCN-VP gửi qua thư điện tử"
	base := "https://" + s.addrs["https"]
	do(t, ctx, "compose without signing", chromedp.Navigate(base+"/mail/compose"), chromedp.WaitVisible("#sign"),
		chromedp.SendKeys("#to", colleague.Address), chromedp.SendKeys("#subject", subject),
		chromedp.SendKeys("#body", "Kính gửi, Sở KH&CN gửi công văn số 125."),
		chromedp.SetUploadFiles("#files", []string{pdf}), chromedp.Click("#send"), chromedp.WaitVisible("main [role=alert]"))
	if n := text(t, ctx, "main [role=alert]"); !strings.Contains(n, "phải có chữ ký số") || !strings.Contains(n, "Thư nháp") {
		t.Fatalf("refusal on the form: %q", n)
	}
	if v := runT(t, ctx, chromedp.Value("#subject")); v != subject {
		t.Fatalf("the form after the refusal has subject %q", v)
	}
	if a := text(t, ctx, "fieldset.carried"); !strings.Contains(a, filepath.Base(pdf)) {
		t.Fatalf("the draft lost its attachment: %q", a)
	}
	screenshot(t, ctx, "webmail-sign-refused")

	do(t, ctx, "sign and send", chromedp.Click("#sign"), chromedp.Click("#send"), chromedp.WaitVisible("main [role=status]"))
	if n := text(t, ctx, "main [role=status]"); !strings.Contains(n, "Đã gửi thư") {
		t.Fatalf("after Send with signing: %q", n)
	}
	var raw []byte
	s.waitFor(colleague, "INBOX", func(ms []fetched) bool {
		for _, m := range ms {
			if strings.Contains(leafSubject(t, m.Raw), "125/SKHCN-VP") {
				raw = m.Raw
			}
		}
		return raw != nil
	})
	if raw == nil {
		t.Fatal("the signed message did not reach the colleague")
	}
	rs := smime.FromHeader(raw, "mail."+demoDomain)
	if len(rs) != 1 || rs[0].Status != smime.Pass || rs[0].Organization != "UBND tỉnh Khánh Hòa" || !strings.Contains(rs[0].SignerName, "Khoa học và Công nghệ") {
		t.Fatalf("stamp of the web's signed message over IMAP: %#v", rs)
	}
	if out, ok := pki.Verify(raw); !ok {
		t.Fatalf("openssl cms -verify of the colleague's copy: %s", out)
	}
}

// personOfSKHCN matches the personal addresses of the demo's Sở KH&CN.
var personOfSKHCN = regexp.MustCompile(`^[a-z0-9]+\.skhcn@`)

// signInFirstPage signs a in (changing the initial password) with Go's
// client and returns the body of page.
func (a account) signInFirstPage(t *testing.T, s *system, page string) string {
	u := s.signInFirst(a)
	return u.get(page).Body
}

// leafSubject is a raw message's decoded subject.
func leafSubject(t *testing.T, raw []byte) string {
	subject, _, _ := leaves(t, raw)
	return subject
}
