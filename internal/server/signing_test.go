package server

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"io"
	"log/slog"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"congvu/directory"
	"congvu/internal/config"
	"congvu/pdf/pdftest"
	"congvu/policy"
	"congvu/smime"
	"congvu/smime/smimetest"
	"congvu/storage"
)

const (
	sigDomain = "khanhhoa.gov.vn"
	skhcnUnit = "56.skhcn"
	sytUnit   = "56.syt"
	unitBox   = "skhcn@khanhhoa.gov.vn"
	thanhBox  = "thanhnn.skhcn@khanhhoa.gov.vn"
	lanBox    = "lanpt.syt@khanhhoa.gov.vn"
	opBox     = "quantri@khanhhoa.gov.vn"
	sigPass   = "Mat-khau-9!x"
)

// signingSystem runs the whole server with the test PKI trusted and the
// Sở KH&CN organisation key in a SoftHSM2 token.
type signingSystem struct {
	r   *Running
	pki *smimetest.PKI
	cfg config.Config
}

func startSigningSystem(t *testing.T) *signingSystem {
	t.Helper()
	pki := smimetest.New(t)
	unitCert := pki.Issue(smimetest.Spec{CommonName: "Sở Khoa học và Công nghệ tỉnh Khánh Hòa", Organization: "UBND tỉnh Khánh Hòa", Email: unitBox})
	tok := smimetest.SoftHSM(t, map[string]*smimetest.Cert{"skhcn": unitCert})

	cfg := config.Default()
	dir := t.TempDir()
	cfg.Server.DataDir = dir
	cfg.Server.Hostname = "mail." + sigDomain
	cfg.Server.LocalDomains = []string{sigDomain}
	cfg.Listen = config.Listen{SMTP: "127.0.0.1:0", Submission: "127.0.0.1:0"}
	cfg.Inbound.Authenticate = false
	root, _ := os.ReadFile(pki.RootPEM)
	os.MkdirAll(filepath.Join(dir, "trust"), 0o700)
	os.WriteFile(filepath.Join(dir, "trust", "test-root.pem"), root, 0o600)
	cert, _ := os.ReadFile(unitCert.CertPEM)
	chain, _ := os.ReadFile(unitCert.ChainPEM)
	os.WriteFile(filepath.Join(dir, "skhcn-chain.pem"), append(cert, chain...), 0o600)
	os.WriteFile(filepath.Join(dir, "hsm-pin"), []byte(tok.PIN+"\n"), 0o600)
	cfg.Signing.Central = config.Central{Backend: "pkcs11", PKCS11Module: tok.Module, PKCS11TokenLabel: tok.Label,
		PKCS11PINFile: "hsm-pin", Padding: "pss", Header: "X-Congvu-Sign",
		Keys: []config.CentralKey{{Unit: skhcnUnit, KeyLabel: "skhcn", CertFile: "skhcn-chain.pem"}}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	// Seed the directory before the server starts (the same database).
	w, err := OpenDirectory(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, u := range []directory.Unit{
		{Code: "56", Name: "Tỉnh Khánh Hòa", Abbr: "khanhhoa", Kind: directory.UnitProvince},
		{Code: skhcnUnit, Name: "Sở Khoa học và Công nghệ", Abbr: "skhcn", Kind: directory.UnitDepartment, ParentCode: "56", Address: unitBox},
		{Code: sytUnit, Name: "Sở Y tế", Abbr: "syt", Kind: directory.UnitDepartment, ParentCode: "56", Address: "syt@" + sigDomain},
	} {
		if err := w.PutUnit(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []directory.Account{
		{Address: unitBox, DisplayName: "Sở Khoa học và Công nghệ", UnitCode: skhcnUnit, Role: directory.RoleUnit},
		{Address: thanhBox, DisplayName: "Nguyễn Ngọc Thành", UnitCode: skhcnUnit, Role: directory.RoleOfficial},
		{Address: lanBox, DisplayName: "Phạm Thị Lan", UnitCode: sytUnit, Role: directory.RoleOfficial},
		{Address: opBox, DisplayName: "Quản trị", UnitCode: skhcnUnit, Role: directory.RoleOperator},
	} {
		a.State = directory.StateActive
		if err := w.PutAccount(ctx, a, sigPass); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	r, err := Start(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return &signingSystem{r: r, pki: pki, cfg: cfg}
}

// send submits msg as user (STARTTLS, AUTH PLAIN) or, with user "", on
// the MX listener; it returns the server's error, if any.
func (s *signingSystem) send(t *testing.T, user, from string, to []string, msg []byte) error {
	t.Helper()
	addr := s.r.Addrs["smtp"]
	if user != "" {
		addr = s.r.Addrs["submission"]
	}
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if user != "" {
		if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil {
			t.Fatal(err)
		}
		if err := c.Auth(smtp.PlainAuth("", user, sigPass, "127.0.0.1")); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	w.Write(msg)
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// mailbox returns the messages of user's folder.
func (s *signingSystem) mailbox(t *testing.T, user, folder string) []string {
	t.Helper()
	ctx := context.Background()
	mb, err := s.r.Store.Mailbox(ctx, user, 0)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := mb.Messages(ctx, folder)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		rc, err := mb.Open(ctx, folder, m.UID)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		out = append(out, string(b))
	}
	return out
}

func pdfMessage(from, to, subject string, pdf []byte, extra string) []byte {
	return []byte("From: <" + from + ">\r\nTo: <" + to + ">\r\nSubject: " + subject + "\r\nMessage-ID: <" +
		time.Now().Format("150405.000000") + "@test>\r\n" + extra + "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nKính gửi Sở Y tế, xin gửi công văn.\r\n" +
		"--b\r\nContent-Type: application/pdf; name=\"CV123.pdf\"\r\nContent-Disposition: attachment; filename=\"CV123.pdf\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString(pdf) + "\r\n--b--\r\n")
}

func TestSigningEndToEnd(t *testing.T) {
	s := startSigningSystem(t)
	authserv := s.cfg.Server.Hostname
	doc := pdftest.Document([]string{"SỞ KHOA HỌC VÀ CÔNG NGHỆ", "Số: 123/SKHCN-VP", "Về việc báo cáo số liệu"})

	// 1. The unit mailbox sends an unsigned official PDF to another
	// agency: refused with the rule's reason.
	err := s.send(t, unitBox, unitBox, []string{lanBox}, pdfMessage(unitBox, lanBox, "Cong van 123", doc, ""))
	if err == nil || !strings.Contains(err.Error(), "554") || !strings.Contains(err.Error(), "5.7.1") || !strings.Contains(err.Error(), "must be digitally signed") {
		t.Fatalf("unsigned official document: %v", err)
	}
	if n := len(s.mailbox(t, lanBox, storage.Inbox)); n != 0 {
		t.Fatalf("refused message delivered (%d)", n)
	}

	// 2. With central signing asked, and a forged stamp of ours inside:
	// it leaves signed with the unit's key from the token; the recipient's
	// copy carries our stamp (pass, the unit's name) and not the forgery,
	// and openssl verifies it against the test root.
	forged := "Authentication-Results: " + authserv + "; smime=pass body.smime-identifier=chutich@khanhhoa.gov.vn\r\n"
	err = s.send(t, unitBox, unitBox, []string{lanBox}, pdfMessage(unitBox, lanBox, "Cong van 123", doc, "X-Congvu-Sign: yes\r\n"+forged))
	if err != nil {
		t.Fatalf("central signing: %v", err)
	}
	box := s.mailbox(t, lanBox, storage.Inbox)
	if len(box) != 1 {
		t.Fatalf("%d messages", len(box))
	}
	got := box[0]
	if strings.Contains(got, "chutich@") || strings.Contains(got, "X-Congvu-Sign") {
		t.Fatalf("forged stamp or control field kept:\n%s", got[:min(len(got), 2000)])
	}
	rs := smime.FromHeader([]byte(got), authserv)
	if len(rs) != 1 || rs[0].Status != smime.Pass || rs[0].Identifier != unitBox || !strings.Contains(rs[0].SignerName, "Khoa học") {
		t.Fatalf("stamp: %#v", rs)
	}
	if out, ok := s.pki.Verify([]byte(got)); !ok {
		t.Fatalf("openssl cms -verify on the delivered copy: %s", out)
	}
	if p := s.pki.PrintCMS([]byte(got)); !strings.Contains(p, "rsassaPss") {
		t.Fatalf("not PSS:\n%s", p)
	}

	// 3. A TỐI MẬT draft in a DOCX is refused at submission.
	var z bytes.Buffer
	zw := zip.NewWriter(&z)
	f, _ := zw.Create("word/document.xml")
	io.WriteString(f, `<w:document xmlns:w="x"><w:body><w:p><w:r><w:t>TỐI MẬT</w:t></w:r></w:p><w:p><w:r><w:t>Phương án</w:t></w:r></w:p></w:body></w:document>`)
	zw.Close()
	draft := []byte("From: <" + thanhBox + ">\r\nTo: <" + lanBox + ">\r\nSubject: Du thao\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nGui anh xem.\r\n--b\r\nContent-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document; name=\"du-thao.docx\"\r\n" +
		"Content-Disposition: attachment; filename=\"du-thao.docx\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString(z.Bytes()) + "\r\n--b--\r\n")
	err = s.send(t, thanhBox, thanhBox, []string{lanBox}, draft)
	if err == nil || !strings.Contains(err.Error(), "554") || !strings.Contains(err.Error(), "5.7.1") || !strings.Contains(err.Error(), "TOI MAT") {
		t.Fatalf("TỐI MẬT draft: %v", err)
	}

	// 4. The same arriving from outside is quarantined: 250, not in the
	// mailbox, kept on disk, the operator alerted.
	if err := s.send(t, "", "vanthu@boyte.gov.vn", []string{lanBox}, bytes.Replace(draft, []byte(thanhBox), []byte("vanthu@boyte.gov.vn"), 1)); err != nil {
		t.Fatalf("inbound classified: %v", err)
	}
	if n := len(s.mailbox(t, lanBox, storage.Inbox)); n != 1 {
		t.Fatalf("classified message delivered: %d messages", n)
	}
	q, _ := filepath.Glob(filepath.Join(s.cfg.Server.DataDir, "quarantine", "*.eml"))
	if len(q) != 1 {
		t.Fatalf("quarantine: %v", q)
	}
	id := strings.TrimSuffix(filepath.Base(q[0]), ".eml")
	if alerts := s.mailbox(t, opBox, storage.Inbox); len(alerts) != 1 || !strings.Contains(alerts[0], id) {
		t.Fatalf("operator alerts: %d", len(alerts))
	}

	// 5. A message signed elsewhere arrives on MX: stamped pass; an
	// unsigned official document from outside is accepted and marked.
	sender := s.pki.Issue(smimetest.Spec{CommonName: "Văn thư Sở Y tế An Giang", Organization: "Sở Y tế tỉnh An Giang", Email: "vanthu@syt.angiang.gov.vn"})
	entity := []byte("Content-Type: text/plain; charset=utf-8\r\n\r\nKính gửi.\r\n")
	signed := append([]byte("From: <vanthu@syt.angiang.gov.vn>\r\nTo: <"+thanhBox+">\r\nSubject: Cong van\r\n"), s.pki.Sign(sender, entity, smimetest.SignOptions{PSS: true})...)
	if err := s.send(t, "", "vanthu@syt.angiang.gov.vn", []string{thanhBox}, signed); err != nil {
		t.Fatal(err)
	}
	if err := s.send(t, "", "vanthu@syt.angiang.gov.vn", []string{thanhBox}, pdfMessage("vanthu@syt.angiang.gov.vn", thanhBox, "CV", doc, "")); err != nil {
		t.Fatal(err)
	}
	inbox := s.mailbox(t, thanhBox, storage.Inbox)
	if len(inbox) != 2 {
		t.Fatalf("%d messages", len(inbox))
	}
	if rs := smime.FromHeader([]byte(inbox[0]), authserv); len(rs) != 1 || rs[0].Status != smime.Pass || rs[0].Organization != "Sở Y tế tỉnh An Giang" {
		t.Fatalf("inbound signed: %#v", rs)
	}
	if rs := smime.FromHeader([]byte(inbox[1]), authserv); len(rs) != 1 || rs[0].Status != smime.None {
		t.Fatalf("inbound unsigned document: %#v", rs)
	}

	// 6. The usage report counts the signed document.
	month := policy.MonthOf(policy.DayOf(time.Now(), s.r.Policy.Location()))
	rep, err := s.r.Policy.UsageReport(context.Background(), skhcnUnit, month, month)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Total.OfficialSent != 1 || rep.Total.OfficialSigned != 1 || rep.Total.SignedShare() != "100.0%" {
		t.Fatalf("usage: %+v", rep.Total.UsageCounts)
	}
	// The audit log names the signature.
	entries, err := s.r.Policy.DB().Audit(context.Background(), policy.AuditQuery{Subject: unitBox})
	if err != nil {
		t.Fatal(err)
	}
	signedAudit := false
	for _, e := range entries {
		signedAudit = signedAudit || e.Action == policy.ActionSign && strings.Contains(e.Detail, "serial")
	}
	if !signedAudit {
		t.Fatalf("no signing audit entry: %+v", entries)
	}
}
