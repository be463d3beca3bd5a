package interop

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestReorganisation is the 2025 mergers as an operator lives them, with
// the admin commands of the real binary against a running server and real
// clients (imaplib, go-smtp over the MX listener):
//   - `congvu account move` transfers an official: the new address logs in
//     with the same password over IMAP and sees the mail received before,
//     and the old address keeps delivering into the same mailbox;
//   - `congvu domain alias add` makes a merged province's domain deliver to
//     the same local part at the new one; unknown people there get 550;
//   - `congvu unit merge` (two communes) and `congvu unit move` (a
//     department under another) readdress their people, and every old
//     address still delivers;
//   - each step lands in the audit log.
func TestReorganisation(t *testing.T) {
	s := startSystem(t, "")
	_, domain, _ := strings.Cut(s.user(0).Address, "@")
	byPrefix := func(suffix string) account {
		t.Helper()
		for _, a := range s.accounts {
			if a.Role == "official" && strings.HasSuffix(a.Address, suffix+"@"+domain) {
				return a
			}
		}
		t.Fatalf("no official *%s@%s in the demo", suffix, domain)
		return account{}
	}
	deliver := func(to, subject string) {
		t.Helper()
		if err := s.sendMX("vanthu@hanoi.gov.vn", []string{to}, simpleMessage("vanthu@hanoi.gov.vn", to, subject, "Noi dung")); err != nil {
			t.Fatalf("delivery to %s: %v", to, err)
		}
	}
	hasSubjects := func(subjects ...string) func([]fetched) bool {
		return func(ms []fetched) bool {
			for _, want := range subjects {
				found := false
				for _, m := range ms {
					found = found || bytes.Contains(m.Raw, []byte("Subject: "+want+"\r\n"))
				}
				if !found {
					return false
				}
			}
			return true
		}
	}
	admin := func(cmd string, args ...string) string {
		t.Helper()
		out, err := s.congvu(cmd, args...)
		if err != nil {
			t.Fatalf("congvu %s %q: %v\n%s", cmd, args, err, out)
		}
		t.Logf("congvu %s %s:\n%s", cmd, strings.Join(args, " "), out)
		return out
	}
	renamed := func(out, old string) string {
		t.Helper()
		m := regexp.MustCompile(regexp.QuoteMeta(old) + ` → (\S+@\S+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("output does not rename %s:\n%s", old, out)
		}
		return m[1]
	}

	// Transfer of an official from Sở Nội vụ to Sở Y tế.
	official := byPrefix(".snv")
	deliver(official.Address, "Truoc dieu dong")
	if ms := s.waitFor(official, "INBOX", hasSubjects("Truoc dieu dong")); !hasSubjects("Truoc dieu dong")(ms) {
		t.Fatalf("mail before the transfer did not arrive: %d messages", len(ms))
	}
	out := admin("account move", "--reason", "điều động theo quyết định 12/QĐ", official.Address, "56.syt")
	moved := account{Address: renamed(out, official.Address), Password: official.Password, Role: official.Role}
	if !strings.HasSuffix(moved.Address, ".syt@"+domain) {
		t.Errorf("transferred to %s, want the Sở Y tế convention *.syt@%s", moved.Address, domain)
	}
	if r := s.imapResult(moved.Address, moved.Password); r != "OK" {
		t.Fatalf("IMAP login at the new address with the same password: %s", r)
	}
	deliver(official.Address, "Gui dia chi cu")
	deliver(moved.Address, "Gui dia chi moi")
	want := []string{"Truoc dieu dong", "Gui dia chi cu", "Gui dia chi moi"}
	if ms := s.waitFor(moved, "INBOX", hasSubjects(want...)); !hasSubjects(want...)(ms) {
		t.Errorf("the new address's mailbox lacks one of %q: %d messages", want, len(ms))
	}

	// Ninh Thuận's domain merged into the province's.
	out = admin("domain alias add", "ninhthuan.gov.vn", domain)
	local, _, _ := strings.Cut(moved.Address, "@")
	deliver(local+"@ninhthuan.gov.vn", "Gui ten mien cu")
	if ms := s.waitFor(moved, "INBOX", hasSubjects("Gui ten mien cu")); !hasSubjects("Gui ten mien cu")(ms) {
		t.Errorf("mail to %s@ninhthuan.gov.vn did not reach %s", local, moved.Address)
	}
	err := s.sendMX("vanthu@hanoi.gov.vn", []string{"khongco@ninhthuan.gov.vn"}, simpleMessage("vanthu@hanoi.gov.vn", "khongco@ninhthuan.gov.vn", "x", "x"))
	if err == nil || !strings.Contains(err.Error(), "550") {
		t.Errorf("mail to an unknown person at the alias domain: %v, want 550 (not relay denied)", err)
	}
	if r := s.imapResult(local+"@ninhthuan.gov.vn", moved.Password); r != "OK" {
		t.Errorf("IMAP login with the old domain's form: %s", r)
	}

	// Two communes merge: Tây Nha Trang (22390) into Nha Trang (22366).
	commune := byPrefix(".taynhatrang")
	deliver(commune.Address, "Truoc sap nhap")
	out = admin("unit merge", "22390", "22366")
	merged := account{Address: renamed(out, commune.Address), Password: commune.Password}
	if !strings.HasSuffix(merged.Address, ".nhatrang@"+domain) {
		t.Errorf("merged official got %s, want *.nhatrang@%s", merged.Address, domain)
	}
	deliver(commune.Address, "Sau sap nhap")
	want = []string{"Truoc sap nhap", "Sau sap nhap"}
	if ms := s.waitFor(merged, "INBOX", hasSubjects(want...)); !hasSubjects(want...)(ms) {
		t.Errorf("%s lacks one of %q after the merger", merged.Address, want)
	}
	if units := admin("unit list"); strings.Contains(units, "22390") {
		t.Errorf("22390 still listed after the merger:\n%s", units)
	}

	// The same merger through the admin web: Bắc Nha Trang (22333) into
	// Nha Trang, previewed, confirmed by the operator; the old address
	// keeps delivering. Then the coverage figure: a headcount set on the
	// command line shows in the web access report's CSV.
	op := webMerge(t, s, byPrefix(".bacnhatrang"), deliver, hasSubjects)
	admin("unit set-headcount", "22366", "40")
	if p := op.get("/admin/reports/access.csv?unit=22366"); p.Status != 200 || !strings.Contains(p.Body, "Biên chế") ||
		!regexp.MustCompile(`22366,[^\r\n]*,\d+,40,\d+\.\d`).MatchString(p.Body) {
		t.Errorf("access report CSV without the coverage (%d):\n%.2000s", p.Status, p.Body)
	}

	// Sở Xây dựng becomes a division of Sở Y tế.
	builder := byPrefix(".sxd")
	out = admin("unit move", "--kind", "division", "56.sxd", "56.syt")
	movedBuilder := account{Address: renamed(out, builder.Address), Password: builder.Password}
	deliver(builder.Address, "Sau chuyen don vi")
	if ms := s.waitFor(movedBuilder, "INBOX", hasSubjects("Sau chuyen don vi")); !hasSubjects("Sau chuyen don vi")(ms) {
		t.Errorf("%s (was %s) did not receive mail sent to the old address", movedBuilder.Address, builder.Address)
	}

	// Unknown units are refused with a reason, nothing changed.
	if out, err := s.congvu("account move", moved.Address, "56.khongco"); err == nil || !strings.Contains(out, "56.khongco") {
		t.Errorf("move to an unknown unit: %v\n%s", err, out)
	}

	// The importer knows people by their stable key: an official imported
	// with an ID into Sở Nội vụ, then listed under Sở Tài chính, is a move
	// (dry run first: moves, new accounts, departures), carried out with
	// the mailbox kept and the old address delivering.
	first := filepath.Join(s.dir, "snv.csv")
	os.WriteFile(first, []byte("ho_ten,don_vi,chuc_vu,ma_can_bo\nĐặng Văn Khoa,56.snv,Chuyên viên,079085000111\n"), 0o600)
	pw := filepath.Join(s.dir, "imported.csv")
	out = admin("directory import", "--passwords-out", pw, first)
	created, _ := os.ReadFile(pw)
	lines := strings.Split(strings.TrimSpace(string(created)), "\n")
	if len(lines) != 2 {
		t.Fatalf("passwords file:\n%s", created)
	}
	khoa := account{Address: strings.Split(lines[1], ",")[0]}
	if !strings.HasSuffix(khoa.Address, ".snv@"+domain) {
		t.Fatalf("imported %s", khoa.Address)
	}
	second := filepath.Join(s.dir, "stc.csv")
	os.WriteFile(second, []byte("ho_ten,don_vi,chuc_vu,ma_can_bo\n"+
		"Đặng Văn Khoa,56.stc,Phó phòng,079 085 000 111\n"+
		"Hồ Thị Mới,56.stc,Chuyên viên,079085000222\n"), 0o600)
	out = admin("directory import", "--dry-run", second)
	for _, w := range []string{"moves:                1", "move dòng/line 2: Đặng Văn Khoa <" + khoa.Address + "> 56.snv → 56.stc",
		"accounts created: 1", "new dòng/line 3: Hồ Thị Mới (56.stc): moiht.stc@" + domain, "departure: ", ".stc@" + domain + "> (56.stc)"} {
		if !strings.Contains(out, w) {
			t.Errorf("dry run output lacks %q", w)
		}
	}
	if show, err := s.congvu("account show", khoa.Address); err != nil || !strings.Contains(show, "Đặng Văn Khoa") {
		t.Errorf("the dry run changed %s: %v %s", khoa.Address, err, show)
	}
	out = admin("directory import", "--passwords-out", pw, second)
	newKhoa := renamed(out, khoa.Address)
	if !strings.HasSuffix(newKhoa, ".stc@"+domain) {
		t.Errorf("moved by the import to %s", newKhoa)
	}
	if show, err := s.congvu("account show", newKhoa); err != nil || !strings.Contains(show, "Đặng Văn Khoa") {
		t.Errorf("after the import: %v %s", err, show)
	}
	deliver(khoa.Address, "Gui nguoi da chuyen")
	// A re-run changes nothing: the key now names the new address.
	if out = admin("directory import", "--dry-run", second); !strings.Contains(out, "moves:                0") ||
		!strings.Contains(out, "accounts created: 0") {
		t.Errorf("re-run after the import:\n%s", out)
	}

	// Mail still reaching old addresses is reported (the delivery hook
	// writes each count shortly after the message is stored).
	list := admin("domain alias list")
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(list, official.Address) && time.Now().Before(deadline); {
		time.Sleep(time.Second)
		list = admin("domain alias list")
	}
	if !strings.Contains(list, "ninhthuan.gov.vn") || !strings.Contains(list, official.Address) {
		t.Errorf("domain alias list lacks the alias or the old address's traffic:\n%s", list)
	}

	audit := admin("audit")
	for _, w := range []string{"move", official.Address, "điều động theo quyết định 12/QĐ", "merge", "22390", "22333", "127.0.0.1", "unit-change", "56.sxd", "alias", "ninhthuan.gov.vn", "import", "stc.csv", "create"} {
		if !strings.Contains(audit, w) {
			t.Errorf("audit log lacks %q", w)
		}
	}
	if t.Failed() {
		t.Log(fmt.Sprintf("audit:\n%s", audit))
	}
}
