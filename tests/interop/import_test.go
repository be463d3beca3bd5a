package interop

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDirectoryImport loads officials into a quickstart installation with
// `congvu directory import` while it is stopped, the way an operator loads
// a province's spreadsheet, then restarts it. An imported official's
// initial password is refused by every mail client — IMAP NO [EXPIRED]
// (imaplib), POP3 -ERR [AUTH] (poplib), SMTP 535 5.7.8 (smtplib) — with the
// web address to change it at, in Vietnamese and English, exactly as the
// client shows it; after the change on the web the official logs in over
// IMAP and receives mail over SMTP.
func TestDirectoryImport(t *testing.T) {
	dir := t.TempDir()
	s := startSystem(t, dir)
	_, domain, _ := strings.Cut(s.user(0).Address, "@")
	s.stop()

	cfg := filepath.Join(dir, "demo", "congvu.toml")
	csvPath := filepath.Join(dir, "officials.csv")
	pwPath := filepath.Join(dir, "imported.csv")
	// Excel's UTF-8 with BOM; the third name is typed with combining marks.
	content := "\uFEFFho_ten,don_vi,chuc_vu,dien_thoai\n" +
		"Nguyễn Ngọc Thành,Sở Khoa học và Công nghệ,Chuyên viên,0905 111 222\n" +
		"Trần Thị Đào,56.skhcn,Văn thư,\n" +
		"Le\u0302 Va\u0306n Kho\u0309e,Sở Y tế,Chuyên viên,\n" +
		"Phạm Văn Bình,Sở Không Tồn Tại,Chuyên viên,\n"
	if err := os.WriteFile(csvPath, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, nil, binaryPath, "directory", "import", "--config", cfg, "--passwords-out", pwPath, csvPath)
	if err != nil {
		t.Fatalf("directory import: %v\n%s", err, out)
	}
	t.Logf("import:\n%s", out)
	if !strings.Contains(out, "accounts created: 3") || !strings.Contains(out, "dòng/line 5") {
		t.Errorf("unexpected summary:\n%s", out)
	}
	imported := readAccounts(t, pwPath) // also checks mode 0600
	if len(imported) != 3 {
		t.Fatalf("%d imported accounts, want 3: %+v", len(imported), imported)
	}
	byLocal := map[string]account{}
	for _, a := range imported {
		local, d, _ := strings.Cut(a.Address, "@")
		if d != domain {
			t.Errorf("%s: not in %s", a.Address, domain)
		}
		byLocal[strings.TrimRight(strings.Split(local, ".")[0], "0123456789")+"."+strings.Split(local, ".")[1]] = a
	}
	for _, want := range []string{"thanhnn.skhcn", "daott.skhcn", "khoelv.syt"} {
		if _, ok := byLocal[want]; !ok {
			t.Errorf("no address %s… among %+v", want, imported)
		}
	}

	// Idempotent: a second run creates nothing and keeps the passwords file.
	before, _ := os.ReadFile(pwPath)
	out, err = run(t, nil, binaryPath, "directory", "import", "--config", cfg, "--passwords-out", pwPath, csvPath)
	if err != nil || !strings.Contains(out, "accounts created: 0") || !strings.Contains(out, "unchanged:                3") {
		t.Errorf("second import: %v\n%s", err, out)
	}
	if after, _ := os.ReadFile(pwPath); !bytes.Equal(before, after) {
		t.Error("second import rewrote the passwords file")
	}

	s = startServe(t, dir)
	thanh := byLocal["thanhnn.skhcn"]
	_, httpsPort := hostPort(s.addrs["https"])
	changeURL := "https://mail." + domain + ":" + httpsPort + "/password"
	wantText := "Mat khau ban dau hoac da het han, hay doi mat khau tai " + changeURL +
		" / Initial or expired password, change it at " + changeURL
	if r := s.imapLogin(thanh); !strings.Contains(r, "[EXPIRED] "+wantText) {
		t.Errorf("IMAP login with the initial password: %q, want NO [EXPIRED] %s", r, wantText)
	}
	var pop struct{ Result string }
	s.pyJSON(&pop, "pop3-login", "--addr", s.addrs["pop3s"], "--user", thanh.Address, "--password", thanh.Password)
	if pop.Result != "-ERR [AUTH] "+wantText {
		t.Errorf("POP3 login with the initial password: %q", pop.Result)
	}
	var smtpRes struct {
		Code  int
		Error string
	}
	s.pyJSON(&smtpRes, "smtp-login", "--addr", s.addrs["submissions"], "--user", thanh.Address, "--password", thanh.Password)
	if smtpRes.Code != 535 || smtpRes.Error != "5.7.8 "+wantText {
		t.Errorf("SMTP AUTH with the initial password: %+v", smtpRes)
	}
	// The web lets the official in, to the password form.
	s.signInFirst(thanh)
	thanh.Password = "Nui-Xanh#2026ab"
	if r := s.imapLogin(thanh); r != "OK" {
		t.Fatalf("IMAP login of imported %s after the change on the web: %s", thanh.Address, r)
	}
	msg := simpleMessage("congvan@bo.gov.vn", thanh.Address, "Chao mung can bo moi", "Kính gửi đồng chí.")
	if err := s.sendMX("congvan@bo.gov.vn", []string{thanh.Address}, msg); err != nil {
		t.Fatalf("SMTP to imported account: %v", err)
	}
	got := s.waitFor(thanh, "INBOX", func(m []fetched) bool { return len(m) == 1 })
	if len(got) != 1 || !bytes.Contains(got[0].Raw, []byte("Chao mung can bo moi")) {
		t.Fatalf("INBOX of %s: %d messages", thanh.Address, len(got))
	}
}
