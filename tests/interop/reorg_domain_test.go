package interop

import (
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const oldDomain = "ninhthuan.gov.vn"

// testOldDomain is a merged province's domain next to another province's
// Postfix: an official of Ninh Thuận (imported with an address there,
// password changed on the web) keeps working after `congvu domain alias
// add`: a reply written from the old-domain identity leaves signed with a
// key made for the old domain that Debian's opendkim-testmsg verifies
// against the record the command printed; a Postfix user writing to the
// old address gets one notice of the new address (not two), DKIM-signed,
// in their Postfix mailbox, while the mail itself is delivered; the
// alias-domain traffic report counts the sender; Thunderbird's autoconfig
// request for the old address over HTTP answers the real server with the
// new address as login.
func testOldDomain(t *testing.T, p *province) {
	s := p.congvu
	// An official of the old province, imported with their address there.
	file := filepath.Join(t.TempDir(), "ninhthuan.csv")
	os.WriteFile(file, []byte("ho_ten,don_vi,chuc_vu,email\nTrần Văn Thuận,56.snv,Chuyên viên,thuantv.snv@"+oldDomain+"\n"), 0o600)
	pwFile := filepath.Join(t.TempDir(), "pw.csv")
	if out, err := s.congvu("directory import", "--passwords-out", pwFile, file); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(pwFile)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "thuantv.snv@"+oldDomain+",") {
		t.Fatalf("passwords file:\n%s", b)
	}
	oldAddr := "thuantv.snv@" + oldDomain
	official := account{Address: oldAddr, Password: strings.Split(lines[1], ",")[1]}
	// The initial password is changed on the web, as the official would.
	w := s.webClient()
	code, page := w.login(official.Address, official.Password)
	m := csrfField.FindStringSubmatch(page)
	if code != http.StatusOK || m == nil {
		t.Fatalf("first sign-in: %d\n%.800s", code, page)
	}
	next := "Khanh-Hoa#2026x"
	resp, err := w.c.PostForm(w.base+"/password", url.Values{"csrf": {m[1]}, "current": {official.Password}, "new": {next}, "confirm": {next}})
	if err != nil {
		t.Fatal(err)
	}
	changed, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	official.Password = next
	if r := s.imapResult(official.Address, next); r != "OK" {
		t.Fatalf("IMAP with the changed password: %s\n%.1500s", r, changed)
	}

	// The merger: the old domain becomes an alias; the official moves to
	// the new domain, and the old domain gets DKIM keys like the new one's.
	out, err := s.congvu("domain alias add", oldDomain, demoDomain)
	if err != nil {
		t.Fatalf("domain alias add: %v\n%s", err, out)
	}
	newAddr := "thuantv.snv@" + demoDomain
	if !strings.Contains(out, oldAddr+" → "+newAddr) {
		t.Fatalf("domain alias add did not move %s:\n%s", oldAddr, out)
	}
	var zone []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "._domainkey."+oldDomain+". IN TXT") {
			zone = append(zone, line)
		}
	}
	if len(zone) != 2 {
		t.Fatalf("want the old domain's rsa and ed25519 DKIM records printed, got:\n%s", out)
	}
	p.addDNS(zone...)
	if dns, err := s.congvu("dns", oldDomain); err != nil || !strings.Contains(dns, zone[0][:strings.Index(zone[0], " IN ")]) {
		t.Errorf("congvu dns %s: %v\n%s", oldDomain, err, dns)
	}

	// A reply from the old-domain identity (Thunderbird keeps it a while).
	out, err = run(t, nil, "swaks", "--server", s.addrs["submission"], "--tls", "--tls-ca-path", s.certFile,
		"--auth", "PLAIN", "--auth-user", newAddr, "--auth-password", official.Password,
		"--from", oldAddr, "--to", otherUser, "--header", "Subject: Tra loi tu dia chi cu", "--body", "Van ban da nhan")
	if err != nil || !strings.Contains(out, "250") {
		t.Fatalf("swaks from the old-domain identity: %v\n%s", err, out)
	}
	var reply string
	for deadline := time.Now().Add(30 * time.Second); reply == "" && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		for _, m := range p.postfixMail(otherUser) {
			if strings.Contains(m, "Subject: Tra loi tu dia chi cu") {
				reply = m
			}
		}
	}
	if reply == "" {
		t.Fatal("the old-domain identity's reply did not reach Postfix")
	}
	if !strings.Contains(reply, "d="+oldDomain) || strings.Count(reply, "DKIM-Signature:") != 2 {
		t.Errorf("reply not signed for %s:\n%.2000s", oldDomain, reply)
	}
	if out, err := p.opendkimVerify(reply); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("opendkim-testmsg rejects the old domain's signatures: %v\n%s", err, out)
	}

	// A Postfix user writes to the old address twice: both delivered, one
	// notice of the new address.
	notices := func() []string {
		var out []string
		for _, m := range p.postfixMail(otherUser) {
			if strings.Contains(m, "Auto-Submitted: auto-replied") && strings.Contains(m, "?utf-8?q?") && strings.Contains(m, "Address_changed") {
				out = append(out, m)
			}
		}
		return out
	}
	before := len(notices())
	for _, subject := range []string{"Cong van gui dia chi cu", "Cong van thu hai"} {
		p.sendViaPostfix(otherUser, oldAddr, simpleMessage(otherUser, oldAddr, subject, "Kinh gui"))
	}
	moved := account{Address: newAddr, Password: official.Password}
	got := s.waitFor(moved, "INBOX", func(ms []fetched) bool { return len(ms) >= 2 })
	if len(got) < 2 {
		t.Fatalf("mail to the old address: %d messages in %s", len(got), newAddr)
	}
	waitQueueEmpty(t, p)
	var n []string
	for deadline := time.Now().Add(30 * time.Second); len(n) == before && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		n = notices()
	}
	waitQueueEmpty(t, p)
	time.Sleep(time.Second)
	n = notices()
	if len(n) != before+1 {
		t.Fatalf("%d notices for two messages to the old address, want 1", len(n)-before)
	}
	notice := n[len(n)-1]
	if !strings.Contains(notice, "Return-Path: <>") || !strings.Contains(notice, "d="+demoDomain) ||
		!strings.Contains(notice, "In-Reply-To: ") {
		t.Errorf("notice:\n%.2500s", notice)
	}
	if out, err := p.opendkimVerify(notice); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("opendkim-testmsg rejects the notice: %v\n%s", err, out)
	}
	if body := decodeQP(notice); !strings.Contains(body, oldAddr+" đã chuyển thành "+newAddr) || !strings.Contains(body, "has changed to "+newAddr) {
		t.Errorf("notice text:\n%s", body)
	}

	// The traffic report counts both messages from one sender, each once:
	// per old address, per domain and in the admin web's report alike
	// (the RCPT lookups of the two messages are not counted).
	list, err := s.congvu("domain alias list", "--by", "day", "--days", "2")
	if err != nil || !strings.Contains(list, oldDomain+"  ") || !strings.Contains(list, "2 (1)") ||
		!regexp.MustCompile(regexp.QuoteMeta(oldAddr)+` +2 +`).MatchString(list) ||
		!strings.Contains(list, "@"+oldDomain+": 2 thư/messages") {
		t.Errorf("domain alias list, want 2 messages from 1 sender to %s: %v\n%s", oldAddr, err, list)
	}
	op := s.signInFirst(s.accountWithRole("operator", func(account) bool { return true }))
	if pg := op.get("/admin/reports/old-addresses?by=day"); pg.Status != 200 || !strings.Contains(pg.Body, oldDomain) ||
		!strings.Contains(pg.Body, "2 (1)") {
		t.Errorf("/admin/reports/old-addresses, want 2 (1) for %s: %d\n%.3000s", oldDomain, pg.Status, pg.Body)
	}
	if pg := op.get("/admin/reorg"); pg.Status != 200 || !regexp.MustCompile(`@`+regexp.QuoteMeta(oldDomain)+`(?s:.{0,300})<td>2</td>`).MatchString(pg.Body) {
		t.Errorf("/admin/reorg, want 2 messages at @%s: %d\n%.3000s", oldDomain, pg.Status, pg.Body)
	}

	// Thunderbird's autoconfig for the old address, over HTTP.
	req, _ := http.NewRequest("GET", "http://"+s.addrs["http"]+"/mail/config-v1.1.xml?emailaddress="+url.QueryEscape(oldAddr), nil)
	req.Host = "autoconfig." + oldDomain
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	xml, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(xml), "<hostname>mail."+demoDomain+"</hostname>") ||
		!strings.Contains(string(xml), "<username>"+newAddr+"</username>") {
		t.Errorf("autoconfig for %s: %d\n%s", oldAddr, resp.StatusCode, xml)
	}
}

// decodeQP decodes a quoted-printable body for reading its text.
func decodeQP(msg string) string {
	body := msg
	if i := strings.Index(msg, "\r\n\r\n"); i >= 0 {
		body = msg[i+4:]
	} else if i := strings.Index(msg, "\n\n"); i >= 0 {
		body = msg[i+2:]
	}
	b, _ := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
	return string(b)
}
