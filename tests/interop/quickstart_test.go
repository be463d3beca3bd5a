package interop

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"congvu/directory/sqldir"
)

// TestQuickstartExampleWorks: the swaks command the quickstart prints is
// run exactly as printed and the mail is accepted (it used to give 553
// 5.7.1 because swaks sent MAIL FROM:<root@host>); after an official
// changed the password, a new start says so instead of printing the old
// one (issue 15, hygiene).
func TestQuickstartExampleWorks(t *testing.T) {
	requireTool(t, "swaks")
	dir := t.TempDir()
	s := startSystem(t, dir)
	example := regexp.MustCompile(`(?m)^\s+(swaks .*)$`).FindStringSubmatch(s.stdout.String())
	if example == nil {
		t.Fatalf("no swaks example in the quickstart output:\n%s", s.stdout)
	}
	out, err := run(t, nil, "sh", "-c", example[1])
	if err != nil || !strings.Contains(out, "<~  250 2.0.0") {
		t.Fatalf("the printed example %q failed: %v\n%s", example[1], err, out)
	}
	first := s.user(0)
	s.stop()

	time.Sleep(1100 * time.Millisecond) // a password change after the file was written
	d, err := sqldir.Open(filepath.Join(dir, "demo", "directory.db"), sqldir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetPassword(t.Context(), first.Address, "Mat-khau#Moi-2026", false); err != nil {
		t.Fatal(err)
	}
	d.Close()
	s = startSystem(t, dir)
	text := s.stdout.String()
	line := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(first.Address) + `\s.*$`).FindString(text)
	if !strings.Contains(line, "đã đổi mật khẩu") || strings.Contains(line, first.Password) {
		t.Errorf("changed password still printed: %q", line)
	}
	if strings.Contains(text, "--auth-user "+first.Address+" ") {
		t.Errorf("the example uses the account whose password changed:\n%s", text)
	}
}
