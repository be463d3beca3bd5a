package interop

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// TestQuarantineCommand: a message from another province stamped "TỐI
// MẬT" is accepted but held (the state-secret guard), not delivered; `congvu
// quarantine list|show` shows it to the operator (header only), `release`
// delivers it after all and `delete` drops another, both audited with the
// reason.
func TestQuarantineCommand(t *testing.T) {
	s := startSystem(t, "")
	official := s.user(4)
	c, err := smtp.DialStartTLS(s.addrs["smtp"], s.tlsConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, subject := range []string{"bao cao A", "bao cao B"} {
		msg := "From: <vanthu@bocongan.gov.vn>\r\nTo: <" + official.Address + ">\r\nSubject: " + subject +
			"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nTỐI MẬT\r\n\r\nBáo cáo tình hình an ninh quý IV.\r\n"
		if err := c.SendMail("vanthu@bocongan.gov.vn", []string{official.Address}, strings.NewReader(msg)); err != nil {
			t.Fatalf("MX refused the stamped message (it should hold it): %v", err)
		}
	}
	time.Sleep(time.Second)
	if n := len(s.fetchAll(official, "INBOX")); n != 0 {
		t.Fatalf("%d stamped messages delivered", n)
	}
	list, err := s.congvu("quarantine list")
	ids := regexp.MustCompile(`(?m)^(\d{8}T\d{6}-\d+)\s`).FindAllStringSubmatch(list, -1)
	if err != nil || len(ids) != 2 || !strings.Contains(list, "vanthu@bocongan.gov.vn") {
		t.Fatalf("quarantine list: %v\n%s", err, list)
	}
	show, err := s.congvu("quarantine show", ids[0][1])
	if err != nil || !strings.Contains(show, "Subject: bao cao") || strings.Contains(show, "an ninh") {
		t.Errorf("quarantine show (header only): %v\n%s", err, show)
	}
	if out, err := s.congvu("quarantine release", ids[0][1]); err == nil || !strings.Contains(out, "--reason") {
		t.Errorf("release without a reason: %v\n%s", err, out)
	}
	if out, err := s.congvu("quarantine release", "--reason", "dấu mật trong tài liệu công khai đã giải mật", ids[0][1]); err != nil {
		t.Fatalf("release: %v\n%s", err, out)
	}
	if out, err := s.congvu("quarantine delete", ids[1][1], "--reason", "chuyển cơ quan chức năng"); err != nil {
		t.Fatalf("delete: %v\n%s", err, out)
	}
	inbox := s.waitFor(official, "INBOX", func(m []fetched) bool { return len(m) == 1 })
	if len(inbox) != 1 || !strings.Contains(string(inbox[0].Raw), "X-Congvu-Released: "+ids[0][1]) {
		t.Fatalf("released message not in the INBOX: %d", len(inbox))
	}
	if list, _ := s.congvu("quarantine list"); strings.Contains(list, ids[0][1]) || strings.Contains(list, ids[1][1]) {
		t.Errorf("still listed:\n%s", list)
	}
	audit, _ := s.congvu("audit", "--action", "quarantine-release")
	audit2, _ := s.congvu("audit", "--action", "quarantine-delete")
	if !strings.Contains(audit, "đã giải mật") || !strings.Contains(audit2, "chuyển cơ quan chức năng") {
		t.Errorf("audit:\n%s\n%s", audit, audit2)
	}
	if _, err := s.congvu("quarantine show", "../../etc/passwd"); err == nil {
		t.Error("an id naming a path outside the quarantine was accepted")
	}
}
