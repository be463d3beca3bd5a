package interop

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-message/mail"
)

// congvu runs an admin command of the binary on this system's
// configuration: cmd is the command words ("account unlock"), args its
// flags and then its operands.
func (s *system) congvu(cmd string, args ...string) (string, error) {
	s.t.Helper()
	full := append(strings.Fields(cmd), "--config", filepath.Join(s.dir, "demo", "congvu.toml"))
	return run(s.t, nil, binaryPath, append(full, args...)...)
}

func (s *system) pyJSON(v any, args ...string) {
	s.t.Helper()
	out, err := s.py(args...)
	if err != nil && !strings.HasPrefix(strings.TrimSpace(out), "{") {
		s.t.Fatalf("%s: %v\n%s", args[0], err, out)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		s.t.Fatalf("%s output %q: %v", args[0], out, err)
	}
}

// More than 12 wrong passwords over IMAP (Python imaplib) lock the account
// (QĐ 162/2025 "quá 12 lần": the 12th is still a plain failure, the 13th
// locks); POP3
// (poplib) and SMTP AUTH (smtplib) then refuse the right password too,
// mail to the account still arrives over MX, the audit log shows the lock,
// and `congvu account unlock` gives the official the mail that arrived.
func TestPolicyLockoutAcrossProtocols(t *testing.T) {
	s := startSystem(t, "")
	u := s.user(0)
	var wrong struct{ Answers []string }
	s.pyJSON(&wrong, "imap-wrong-logins", "--addr", s.addrs["imaps"], "--user", u.Address, "--password", u.Password, "--count", "13")
	if len(wrong.Answers) != 13 {
		t.Fatalf("answers: %q", wrong.Answers)
	}
	for i, a := range wrong.Answers[:12] {
		if !strings.Contains(a, "AUTHENTICATIONFAILED") {
			t.Errorf("attempt %d: %q, want AUTHENTICATIONFAILED", i+1, a)
		}
	}
	if last := wrong.Answers[12]; !strings.Contains(last, "CONTACTADMIN") || !strings.Contains(last, "too many failed logins") {
		t.Errorf("13th attempt: %q, want CONTACTADMIN and the lockout text", last)
	}
	if r := s.imapLogin(u); !strings.Contains(r, "CONTACTADMIN") {
		t.Errorf("IMAP with the right password: %q", r)
	}
	var pop struct{ Result string }
	s.pyJSON(&pop, "pop3-login", "--addr", s.addrs["pop3s"], "--user", u.Address, "--password", u.Password)
	if !strings.HasPrefix(pop.Result, "-ERR [AUTH]") || !strings.Contains(pop.Result, "locked") {
		t.Errorf("POP3 with the right password: %q", pop.Result)
	}
	var smtpRes struct {
		Code  int
		Error string
	}
	s.pyJSON(&smtpRes, "smtp-login", "--addr", s.addrs["submissions"], "--user", u.Address, "--password", u.Password)
	if smtpRes.Code != 535 || !strings.Contains(smtpRes.Error, "locked") {
		t.Errorf("SMTP AUTH with the right password: %+v", smtpRes)
	}
	// Mail still arrives, from another server over MX.
	msg := simpleMessage("vanthu@bocongan.gov.vn", u.Address, "Van ban den khi tai khoan bi khoa", "Noi dung")
	if err := s.sendMX("vanthu@bocongan.gov.vn", []string{u.Address}, msg); err != nil {
		t.Fatalf("MX delivery to a locked account: %v", err)
	}
	out, err := s.congvu("audit", "--subject", u.Address, "--action", "lock")
	if err != nil || !strings.Contains(out, "lockout") || !strings.Contains(out, "127.0.0.1") {
		t.Errorf("congvu audit: %v\n%s", err, out)
	}
	out, err = s.congvu("account show", u.Address)
	if err != nil || !strings.Contains(out, "locked") || !strings.Contains(out, "13 consecutive failed logins") {
		t.Errorf("congvu account show: %v\n%s", err, out)
	}
	if out, err := s.congvu("account unlock", "--reason", "đã xác minh qua điện thoại", u.Address); err != nil {
		t.Fatalf("congvu account unlock: %v\n%s", err, out)
	}
	got := s.fetchAll(u, "INBOX")
	if len(got) != 1 || !strings.Contains(string(got[0].Raw), "Van ban den khi tai khoan bi khoa") {
		t.Errorf("after unlock the INBOX has %d messages, want the one sent while locked", len(got))
	}
}

// accessCSV runs `congvu report access` for today and returns the
// addresses listed as not accessed, with their unit codes.
func (s *system) accessCSV() map[string]string {
	s.t.Helper()
	file := filepath.Join(s.dir, "access.csv")
	args := []string{"--format", "csv", "--inactive-days", "1", "--out", file}
	if out, err := s.congvu("report access", args...); err != nil {
		s.t.Fatalf("congvu report access: %v\n%s", err, out)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		s.t.Fatal(err)
	}
	out := string(b)
	if !strings.HasPrefix(out, "\ufeff") {
		s.t.Fatalf("CSV has no BOM: %q", out[:min(40, len(out))])
	}
	parts := strings.SplitN(strings.TrimPrefix(out, "\ufeff"), "\r\n\r\n", 2)
	if len(parts) != 2 {
		s.t.Fatalf("report has no list of officials:\n%s", out)
	}
	r := csv.NewReader(strings.NewReader(parts[1]))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		s.t.Fatalf("CSV: %v", err)
	}
	m := map[string]string{}
	for _, row := range rows[1:] {
		if len(row) >= 4 && strings.Contains(row[0], "@") {
			m[row[0]] = row[3]
		}
	}
	return m
}

// After a day of logins over IMAP, POP3 and SMTP AUTH by real clients,
// the access report's CSV lists exactly the officials who did not log in.
func TestPolicyAccessReportListsWhoDidNotLogIn(t *testing.T) {
	s := startSystem(t, "")
	before := s.accessCSV()
	if len(before) != len(s.accounts) {
		t.Fatalf("before any login the report lists %d of %d accounts", len(before), len(s.accounts))
	}
	var logged []string
	for i := range 5 {
		u := s.user(i)
		switch i % 3 {
		case 0:
			if r := s.imapLogin(u); r != "OK" {
				t.Fatalf("imap login: %s", r)
			}
		case 1:
			var pop struct{ Result string }
			s.pyJSON(&pop, "pop3-login", "--addr", s.addrs["pop3s"], "--user", u.Address, "--password", u.Password)
			if pop.Result != "OK" {
				t.Fatalf("pop3 login: %s", pop.Result)
			}
		case 2:
			var r struct{ Code int }
			s.pyJSON(&r, "smtp-login", "--addr", s.addrs["submissions"], "--user", u.Address, "--password", u.Password)
			if r.Code != 235 {
				t.Fatalf("smtp login: %d", r.Code)
			}
		}
		logged = append(logged, u.Address)
	}
	var want []string
	for _, a := range s.accounts {
		if !slices.Contains(logged, a.Address) {
			want = append(want, a.Address)
		}
	}
	slices.Sort(want)
	// Access records reach the database in batches (policy.flush_seconds).
	var got []string
	for deadline := time.Now().Add(20 * time.Second); ; {
		got = got[:0]
		for a := range s.accessCSV() {
			got = append(got, a)
		}
		slices.Sort(got)
		if slices.Equal(got, want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !slices.Equal(got, want) {
		t.Errorf("report lists %d officials, want the %d who did not log in", len(got), len(want))
	}
	for _, f := range []string{"html", "svg", "png"} {
		out := filepath.Join(s.dir, "report."+f)
		if o, err := s.congvu("report access", "--format", f, "--out", out); err != nil {
			t.Errorf("report --format %s: %v\n%s", f, err, o)
		} else if fi, err := os.Stat(out); err != nil || fi.Size() < 100 {
			t.Errorf("report.%s: %v", f, err)
		}
	}
}

// The digest mail reaches the unit admin's INBOX and lists the unit's
// officials who did not access that day.
func TestPolicyDigestReachesUnitAdmin(t *testing.T) {
	s := startSystem(t, "")
	units := s.accessCSV() // nobody accessed yet: every account with its unit
	var admin account
	for _, a := range s.accounts {
		if a.Role == "unitadmin" {
			admin = a
			break
		}
	}
	unit := units[admin.Address]
	var members []string
	for a, u := range units {
		if u == unit && a != admin.Address {
			members = append(members, a)
		}
	}
	var official account
	for _, a := range s.accounts {
		if units[a.Address] == unit && a.Role == "official" {
			official = a
			break
		}
	}
	if unit == "" || official.Address == "" || len(members) < 2 {
		t.Fatalf("fixture: admin %s unit %q members %v", admin.Address, unit, members)
	}
	if r := s.imapLogin(official); r != "OK" {
		t.Fatal(r)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		if _, listed := s.accessCSV()[official.Address]; !listed || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	today := time.Now().In(time.FixedZone("ICT", 7*3600)).Format(time.DateOnly)
	out, err := s.congvu("digest send", "--day", today)
	if err != nil {
		t.Fatalf("congvu digest send: %v\n%s", err, out)
	}
	// From digest_hour (7:00 ICT) on, the server also sends yesterday's
	// digest by itself at start-up: look for today's.
	var r *mail.Reader
	var subjects []string
	for _, m := range s.fetchAll(admin, "INBOX") {
		mr, err := mail.CreateReader(strings.NewReader(string(m.Raw)))
		if err != nil {
			t.Fatal(err)
		}
		subject, _ := mr.Header.Subject()
		subjects = append(subjects, subject)
		if strings.Contains(subject, "chưa truy cập hộp thư") && strings.HasSuffix(subject, " on "+today) {
			r = mr
		}
	}
	if r == nil {
		t.Fatalf("no digest for %s in the admin's INBOX: %q", today, subjects)
	}
	p, err := r.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(p.Body)
	body := string(b)
	for _, m := range members {
		if m != official.Address && !strings.Contains(body, m) {
			t.Errorf("digest lacks %s", m)
		}
	}
	if strings.Contains(body, official.Address) {
		t.Errorf("digest lists %s, who logged in", official.Address)
	}
}

// SIGHUP through `congvu reload` changes a threshold while an IMAP client
// stays connected and keeps working on the same connection.
func TestPolicyReloadKeepsIMAPConnection(t *testing.T) {
	s := startSystem(t, "")
	held := s.user(0)
	c, err := imapclient.DialTLS(s.addrs["imaps"], &imapclient.Options{TLSConfig: s.tlsConfig()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(held.Address, held.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(s.dir, "demo", "congvu.toml")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^(\s*lockout_failures\s*=\s*)12\s*$`)
	if !re.Match(cfg) {
		t.Fatalf("no lockout_failures = 12 in %s:\n%s", cfgPath, cfg)
	}
	if err := os.WriteFile(cfgPath, re.ReplaceAll(cfg, []byte("${1}2")), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := s.congvu("reload"); err != nil {
		t.Fatalf("congvu reload: %v\n%s", err, out)
	}
	// The server acknowledges a reload in its metrics.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if reloads(t, s) >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("reload not applied after 10s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	other := s.user(1)
	var wrong struct{ Answers []string }
	s.pyJSON(&wrong, "imap-wrong-logins", "--addr", s.addrs["imaps"], "--user", other.Address, "--password", other.Password, "--count", "3")
	// More than lockout_failures consecutive failures lock (the rule as
	// written: more than 12): the third.
	if len(wrong.Answers) != 3 || strings.Contains(wrong.Answers[1], "CONTACTADMIN") || !strings.Contains(wrong.Answers[2], "CONTACTADMIN") {
		t.Errorf("with lockout_failures = 2 the failures answered %q, want the third to lock", wrong.Answers)
	}
	// The connection opened before the reload still works.
	if err := c.Noop().Wait(); err != nil {
		t.Errorf("NOOP on the held connection: %v", err)
	}
	if _, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait(); err != nil {
		t.Errorf("STATUS on the held connection: %v", err)
	}
}

// reloads reads congvu_policy_reloads_total from /metrics.
func reloads(t *testing.T, s *system) int {
	resp, err := http.Get("http://" + s.addrs["admin"] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var n int
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "congvu_policy_reloads_total ") {
			fmt.Sscan(strings.TrimPrefix(line, "congvu_policy_reloads_total "), &n)
		}
	}
	return n
}

// TestLockEndsOpenSessions: an official's IMAPS and POP3S sessions (Python
// imaplib and poplib), open before `congvu account lock` runs in another
// process, are ended within the check interval: IMAP gets BYE with the
// lock's reason, POP3 an -ERR [AUTH], and neither can read mail any more
// (issue 15 §8).
func TestLockEndsOpenSessions(t *testing.T) {
	requireTool(t, "python3")
	s := startSystem(t, "")
	u := s.user(3)
	cmd := exec.Command("python3", "testdata/client.py", "--cafile", s.certFile, "hold-sessions",
		"--imap", s.addrs["imaps"], "--pop3", s.addrs["pop3s"], "--user", u.Address, "--password", u.Password)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || !strings.Contains(lines.Text(), "ready") {
		t.Fatalf("sessions not opened: %q %s", lines.Text(), stderr.String())
	}
	if out, err := s.congvu("account lock", "--reason", "nghi lo mat khau", u.Address); err != nil {
		t.Fatalf("account lock: %v\n%s", err, out)
	}
	// session_check_seconds is 5 by default: the CLI is another process.
	time.Sleep(7 * time.Second)
	io.WriteString(stdin, "go\n")
	if !lines.Scan() {
		t.Fatalf("no answer: %s", stderr.String())
	}
	var res map[string]string
	if err := json.Unmarshal(lines.Bytes(), &res); err != nil {
		t.Fatalf("%q: %v", lines.Text(), err)
	}
	t.Logf("after the lock: %v", res)
	if _, ok := res["imap_fetch"]; ok || !strings.Contains(res["imap_error"]+res["imap_noop"], "nghi lo mat khau") {
		t.Errorf("IMAP session still usable or not told why: %v", res)
	}
	if res["pop3_stat"] == "OK" || !strings.Contains(res["pop3_error"], "[AUTH]") || !strings.Contains(res["pop3_error"], "nghi lo mat khau") {
		t.Errorf("POP3 session still usable or not told why: %v", res)
	}
	cmd.Wait()
}
