package interop

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGroupsAndPublishing drives groups and the danh bạ publishing
// controls as an operator and officials live them, with the real binary
// and real clients:
//   - `congvu group add` makes lanhdao.syt@ (two leaders, members only)
//     and toanthe.syt@ (everybody of Sở Y tế);
//   - a leader sends to the group with Python's smtplib over submission
//     and both leaders read it over IMAP (imaplib);
//   - an outsider is refused at RCPT with 550 5.7.1 and the exact
//     Vietnamese/English reason (smtplib, swaks), until `group set-policy`
//     opens the unit group to state addresses;
//   - `congvu danhba withhold phone` takes a phone off the public page,
//     its CSV export and the LDAP listener (ldapsearch) at once, and
//     `--unit … entry` hides a whole unit; every change is audited.
func TestGroupsAndPublishing(t *testing.T) {
	requireTool(t, "swaks")
	requireTool(t, "ldapsearch")
	s := startSystem(t, "")
	_, domain, _ := strings.Cut(s.user(0).Address, "@")
	var syt []account
	var clerk account
	for _, a := range s.accounts {
		if strings.HasSuffix(a.Address, ".syt@"+domain) {
			syt = append(syt, a)
			if a.Role == "clerk" {
				clerk = a
			}
		}
	}
	if len(syt) < 3 || clerk.Address == "" {
		t.Fatalf("the demo's Sở Y tế has %d officials (clerk %q)", len(syt), clerk.Address)
	}
	leaderA, leaderB := syt[0], syt[1]
	if leaderA.Address == clerk.Address || leaderB.Address == clerk.Address {
		leaderA, leaderB = syt[len(syt)-2], syt[len(syt)-1]
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
	leaders, everyone := "lanhdao.syt@"+domain, "toanthe.syt@"+domain
	admin("group add", "--name", "Lãnh đạo Sở Y tế", "--unit", "56.syt", leaders, leaderA.Address, leaderB.Address)
	out := admin("group add", "--name", "Toàn thể Sở Y tế", "--unit", "56.syt", everyone)
	if !strings.Contains(out, clerk.Address) {
		t.Errorf("the unit group does not reach the unit's clerk:\n%s", out)
	}

	// A leader writes to the leaders with smtplib over submission.
	send := func(from account, to, subject string) map[string]any {
		t.Helper()
		var r map[string]any
		outp, _ := run(t, simpleMessage(from.Address, to, subject, "Noi dung"), "python3", "testdata/client.py", "--cafile", s.certFile,
			"smtp-send", "--addr", s.addrs["submission"], "--starttls", "--user", from.Address, "--password", from.Password,
			"--sender", from.Address, "--rcpt", to)
		if err := json.Unmarshal([]byte(outp), &r); err != nil {
			t.Fatalf("smtplib output %q", outp)
		}
		return r
	}
	if r := send(leaderA, leaders, "Hop giao ban lanh dao"); len(r["refused"].(map[string]any)) != 0 {
		t.Fatalf("a member writing to the group: %v", r)
	}
	has := func(subject string) func([]fetched) bool {
		return func(ms []fetched) bool {
			for _, m := range ms {
				if bytes.Contains(m.Raw, []byte("Subject: "+subject+"\r\n")) {
					return true
				}
			}
			return false
		}
	}
	for _, a := range []account{leaderA, leaderB} {
		if ms := s.waitFor(a, "INBOX", has("Hop giao ban lanh dao")); !has("Hop giao ban lanh dao")(ms) {
			t.Errorf("%s did not receive the group's message over IMAP", a.Address)
		}
	}
	if ms := s.fetchAll(clerk, "INBOX"); has("Hop giao ban lanh dao")(ms) {
		t.Errorf("%s is not a leader but got the leaders' message", clerk.Address)
	}

	// Refused senders get the exact code and reason at RCPT.
	r := send(clerk, leaders, "Khong duoc gui")
	refused, _ := r["refused"].(map[string]any)[leaders].([]any)
	const membersOnly = "5.7.1 Nhom thu chi nhan thu tu thanh vien cua nhom / Only members of this group may send to it"
	if len(refused) != 2 || refused[0].(float64) != 550 || refused[1].(string) != membersOnly {
		t.Errorf("a non-member over submission: %v, want 550 %q", r, membersOnly)
	}
	swaks := func(to string) string {
		t.Helper()
		out, _ := run(t, nil, "swaks", "--server", s.addrs["smtp"], "--from", "vanthu@hanoi.gov.vn", "--to", to, "--quit-after", "RCPT")
		return out
	}
	if out := swaks(everyone); !strings.Contains(out, "<** 550 5.7.1 Nhom thu chi nhan thu tu can bo cua don vi / Only officials of the group's unit may send to it") {
		t.Errorf("an outside sender to the unit group:\n%s", out)
	}
	admin("group set-policy", everyone, "state")
	if out := swaks(everyone); !strings.Contains(out, "<-  250 ") || strings.Contains(out, "<** ") {
		t.Errorf("a state address after set-policy state:\n%s", out)
	}
	if err := s.sendMX("vanthu@hanoi.gov.vn", []string{everyone}, simpleMessage("vanthu@hanoi.gov.vn", everyone, "Cong van gui toan the", "x")); err != nil {
		t.Fatal(err)
	}
	if ms := s.waitFor(clerk, "INBOX", has("Cong van gui toan the")); !has("Cong van gui toan the")(ms) {
		t.Errorf("%s did not receive the unit group's message", clerk.Address)
	}

	// Forwarding to a group: the clerk's Sieve rule (sieve-connect) and
	// a forwarding rule (congvu forward set) expand the group for the
	// forwarding account, with the group's rule applied to it.
	t.Run("redirect and forwarding to a group", func(t *testing.T) {
		testForwardToGroup(t, s, clerk, leaderA, leaderB, leaders, everyone, has, admin)
	})

	// The danh bạ lists the groups and the phone, until it is withheld.
	get := func(path string) string {
		t.Helper()
		res, err := http.Get("http://" + s.addrs["http"] + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			return res.Status
		}
		return string(b)
	}
	phoneOf := func(address string) string {
		t.Helper()
		out, err := run(t, nil, "ldapsearch", "-x", "-LLL", "-H", "ldap://"+s.addrs["ldap"], "-b", demoBaseDN, "(mail="+address+")", "telephoneNumber")
		if err != nil {
			t.Fatalf("ldapsearch: %v\n%s", err, out)
		}
		for _, l := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(l, "telephoneNumber: "); ok {
				return v
			}
		}
		return ""
	}
	phone := phoneOf(leaderB.Address)
	page := get("/danhba?unit=56.syt")
	if phone == "" || !strings.Contains(page, phone) || !strings.Contains(page, "Lãnh đạo Sở Y tế") || !strings.Contains(page, leaders) {
		t.Fatalf("before: LDAP phone %q; the page lacks it or the group:\n%s", phone, page)
	}
	admin("danhba withhold", "phone", leaderB.Address)
	if got := phoneOf(leaderB.Address); got != "" {
		t.Errorf("LDAP still publishes the withheld phone %q", got)
	}
	if page := get("/danhba?unit=56.syt"); strings.Contains(page, phone) || !strings.Contains(page, leaderB.Address) {
		t.Errorf("the page right after the change: phone shown %v, official listed %v", strings.Contains(page, phone), strings.Contains(page, leaderB.Address))
	}
	if csv := get("/danhba.csv?unit=56.syt"); strings.Contains(csv, phone) {
		t.Errorf("the CSV export still has the withheld phone")
	}
	admin("danhba withhold", "--unit", "56.syt", "entry")
	if page := get("/danhba?q=" + strings.Split(leaderA.Address, "@")[0]); strings.Contains(page, leaderA.Address) {
		t.Errorf("an official of a hidden unit is still found")
	}
	if out, _ := run(t, nil, "ldapsearch", "-x", "-LLL", "-H", "ldap://"+s.addrs["ldap"], "-b", demoBaseDN, "(mail=*.syt@"+domain+")", "mail"); strings.Contains(out, ".syt@") {
		t.Errorf("LDAP still lists the hidden unit:\n%s", out)
	}
	// Delivery does not depend on publication.
	if r := send(leaderA, leaders, "Van nhan thu"); len(r["refused"].(map[string]any)) != 0 {
		t.Errorf("after hiding the unit: %v", r)
	}

	audit := admin("audit", "--format", "csv")
	for _, want := range []string{"group created", "policy=unit unit=56.syt → ", "policy=state", "phone", "entry", "forward-group"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit log lacks %q", want)
		}
	}
}

// testForwardToGroup: the clerk (no leader) redirects with Sieve — to the
// members-only leaders' group, refused for the clerk as their own mail
// would be, so the message stays in the clerk's INBOX; to the unit group
// (open to state addresses), whose other members each get one copy with
// Delivered-To tracing the clerk and the group, and the clerk none. A
// leader's forwarding rule to the leaders reaches the other leader only.
func testForwardToGroup(t *testing.T, s *system, clerk, leaderA, leaderB account, leaders, everyone string,
	has func(string) func([]fetched) bool, admin func(string, ...string) string) {
	script := filepath.Join(t.TempDir(), "chuyen.sieve")
	os.WriteFile(script, []byte("if header :contains \"subject\" \"chuyen lanh dao\" {\r\n  redirect \""+leaders+"\";\r\n}\r\n"+
		"elsif header :contains \"subject\" \"chuyen toan the\" {\r\n  redirect \""+everyone+"\";\r\n}\r\n"), 0o600)
	sieveConnect(t, s, clerk, "--upload", "--localsieve", script, "--remotesieve", "chuyen")
	sieveConnect(t, s, clerk, "--activate", "--remotesieve", "chuyen")
	from := "vanthu@hanoi.gov.vn"
	for _, subject := range []string{"Cong van chuyen lanh dao", "Cong van chuyen toan the"} {
		if err := s.sendMX(from, []string{clerk.Address}, simpleMessage(from, clerk.Address, subject, "x")); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []account{leaderA, leaderB} {
		ms := s.waitFor(a, "INBOX", has("Cong van chuyen toan the"))
		var copies []fetched
		for _, m := range ms {
			if has("Cong van chuyen toan the")([]fetched{m}) {
				copies = append(copies, m)
			}
		}
		if len(copies) != 1 || !bytes.Contains(copies[0].Raw, []byte("\r\nDelivered-To: "+everyone+"\r\nDelivered-To: "+clerk.Address+"\r\n")) {
			t.Errorf("%s: %d redirected copies through %s (want 1 with both hops traced)", a.Address, len(copies), everyone)
			for _, c := range copies {
				t.Logf("%.600s", c.Raw)
			}
		}
		if has("Cong van chuyen lanh dao")(s.fetchAll(a, "INBOX")) {
			t.Errorf("%s got the clerk's redirect to the members-only group", a.Address)
		}
	}
	own := s.waitFor(clerk, "INBOX", has("Cong van chuyen lanh dao"))
	if !has("Cong van chuyen lanh dao")(own) {
		t.Error("the refused redirect lost the message: not in the clerk's INBOX")
	}
	if has("Cong van chuyen toan the")(own) {
		t.Error("the clerk kept a copy of the redirected message (redirect without :copy)")
	}
	sieveConnect(t, s, clerk, "--deactivate")

	admin("forward set", leaderA.Address, leaders)
	// A rule written by another process (this CLI) reaches the running
	// server's in-memory copy within 5 s (README, "Per-node speed"); mail
	// in that window is delivered as before the change.
	time.Sleep(5500 * time.Millisecond)
	if err := s.sendMX(from, []string{leaderA.Address}, simpleMessage(from, leaderA.Address, "Chuyen tiep nhom", "x")); err != nil {
		t.Fatal(err)
	}
	if ms := s.waitFor(leaderB, "INBOX", has("Chuyen tiep nhom")); !has("Chuyen tiep nhom")(ms) {
		t.Errorf("%s did not get %s's forwarded copy through %s", leaderB.Address, leaderA.Address, leaders)
	}
	n := 0
	for _, m := range s.fetchAll(leaderA, "INBOX") {
		if has("Chuyen tiep nhom")([]fetched{m}) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%s has %d copies of its own message, want 1 (no copy back through the group)", leaderA.Address, n)
	}
	admin("forward clear", leaderA.Address)
}
