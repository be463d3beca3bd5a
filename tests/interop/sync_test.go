package interop

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

// sendMX delivers msg through the MX listener with STARTTLS, as another
// mail server would, and returns the error of the transaction.
func (s *system) sendMX(from string, to []string, msg []byte) error {
	c, err := smtp.DialStartTLS(s.addrs["smtp"], s.tlsConfig())
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail(from, to, bytes.NewReader(msg)); err != nil {
		return err
	}
	return c.Quit()
}

func simpleMessage(from, to, subject, body string) []byte {
	return []byte(fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%d.%s>\r\n\r\n%s\r\n",
		from, to, subject, time.Now().Format(time.RFC1123Z), time.Now().UnixNano(), strings.ReplaceAll(subject, " ", ""), body))
}

// maildirFiles lists message files of a Maildir folder (new and cur).
func maildirFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, sub := range []string{"new", "cur"} {
		entries, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, e := range entries {
			out = append(out, filepath.Join(dir, sub, e.Name()))
		}
	}
	return out
}

func TestMbsyncBothWays(t *testing.T) {
	requireTool(t, "mbsync")
	s := startSystem(t, "")
	u := s.user(0)
	for i := 1; i <= 3; i++ {
		if err := s.sendMX("vanthu@hanoi.gov.vn", []string{u.Address}, simpleMessage("vanthu@hanoi.gov.vn", u.Address, fmt.Sprintf("Cong van %d", i), "Noi dung")); err != nil {
			t.Fatalf("deliver %d: %v", i, err)
		}
	}
	work := t.TempDir()
	local := filepath.Join(work, "mail")
	os.MkdirAll(local, 0o700)
	_, port := hostPort(s.addrs["imaps"])
	conf := filepath.Join(work, "mbsyncrc")
	os.WriteFile(conf, []byte(fmt.Sprintf(`IMAPAccount congvu
Host %s
Port %s
User %s
Pass "%s"
SSLType IMAPS
SSLVersions TLSv1.2 TLSv1.3
CertificateFile %s

IMAPStore remote
Account congvu

MaildirStore local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel congvu
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
Sync All
`, "localhost", port, u.Address, u.Password, s.certFile, local, local)), 0o600)
	mbsync := func() {
		t.Helper()
		if out, err := run(t, nil, "mbsync", "-c", conf, "-a"); err != nil {
			t.Fatalf("mbsync: %v\n%s", err, out)
		}
	}
	mbsync()
	inbox := filepath.Join(local, "INBOX")
	files := maildirFiles(t, inbox)
	if len(files) != 3 {
		t.Fatalf("after first sync local INBOX has %d messages, want 3", len(files))
	}
	for _, folder := range []string{"Sent", "Drafts", "Trash", "Junk", "Archive"} {
		if _, err := os.Stat(filepath.Join(local, folder)); err != nil {
			t.Errorf("special folder %s not synced: %v", folder, err)
		}
	}

	// Near side changes: read one, delete one, write one.
	slices.Sort(files)
	markLocal(t, files[0], "S")
	markLocal(t, files[1], "T")
	newMsg := simpleMessage(u.Address, u.Address, "Ban nhap cuc bo", "Tu mbsync")
	os.WriteFile(filepath.Join(inbox, "new", fmt.Sprintf("%d.local.host", time.Now().UnixNano())), newMsg, 0o600)
	// Far side change: a new delivery.
	s.sendMX("vanthu@hanoi.gov.vn", []string{u.Address}, simpleMessage("vanthu@hanoi.gov.vn", u.Address, "Cong van 4", "Noi dung"))
	mbsync()

	server := s.fetchAll(u, "INBOX")
	if len(server) != 4 {
		t.Fatalf("server INBOX has %d messages after sync, want 4 (3 - 1 deleted + 1 uploaded + 1 delivered)", len(server))
	}
	var seen, uploaded int
	for _, m := range server {
		if slices.Contains(m.Flags, `\Seen`) {
			seen++
		}
		if bytes.Contains(m.Raw, []byte("Ban nhap cuc bo")) {
			uploaded++
		}
		if bytes.Contains(m.Raw, []byte("Cong van 2")) {
			t.Errorf("message deleted locally is still on the server")
		}
	}
	if seen < 1 || uploaded != 1 {
		t.Errorf("server: %d seen (want >=1), %d uploaded (want 1)", seen, uploaded)
	}
	if got := len(maildirFiles(t, inbox)); got != 4 {
		t.Errorf("local INBOX has %d messages after second sync, want 4", got)
	}
}

// markLocal sets Maildir flags on a file the way a mail client does.
func markLocal(t *testing.T, path, flags string) {
	t.Helper()
	base := filepath.Base(path)
	if i := strings.Index(base, ":2,"); i >= 0 {
		flags = base[i+3:] + flags
		base = base[:i]
	}
	b := []byte(flags)
	slices.Sort(b)
	dst := filepath.Join(filepath.Dir(filepath.Dir(path)), "cur", base+":2,"+string(b))
	if err := os.Rename(path, dst); err != nil {
		t.Fatal(err)
	}
}

func TestIdleWakesOnDelivery(t *testing.T) {
	s := startSystem(t, "")
	u := s.user(1)
	exists := make(chan uint32, 16)
	c, err := imapclient.DialTLS(s.addrs["imaps"], &imapclient.Options{
		TLSConfig: s.tlsConfig(),
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					exists <- *d.NumMessages
				}
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(u.Address, u.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		start := time.Now()
		if err := s.sendMX("a@hue.gov.vn", []string{u.Address}, simpleMessage("a@hue.gov.vn", u.Address, "Khan", "Hop luc 14h")); err != nil {
			t.Fatal(err)
		}
		select {
		case n := <-exists:
			if n != uint32(i) {
				t.Errorf("EXISTS %d, want %d", n, i)
			}
			t.Logf("IDLE woke %v after the 250", time.Since(start))
		case <-time.After(time.Second):
			t.Fatalf("no EXISTS within 1s of delivery %d", i)
		}
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1, 2, 3), &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil || len(msgs) != 3 || msgs[0].Envelope.Subject != "Khan" {
		t.Fatalf("fetch after idle: %v %d", err, len(msgs))
	}
}

func TestMetricsEndpoint(t *testing.T) {
	s := startSystem(t, "")
	u := s.user(0)
	if err := s.sendMX("a@hue.gov.vn", []string{u.Address}, simpleMessage("a@hue.gov.vn", u.Address, "x", "y")); err != nil {
		t.Fatal(err)
	}
	s.fetchAll(u, "INBOX") // one IMAP login
	resp, err := http.Get("http://" + s.addrs["admin"] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`congvu_smtp_messages_accepted_total{listener="mx"} 1`,
		`congvu_logins_total{proto="imap",result="ok"} 1`,
		`congvu_connections_total{proto="imap"}`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	resp, err = http.Get("http://" + s.addrs["http"] + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	_, imapsPort := hostPort(s.addrs["imaps"])
	if !strings.Contains(string(page), "Hệ thống thư điện tử công vụ") || !strings.Contains(string(page), "<td>"+imapsPort+"</td>") {
		t.Errorf("set-up page does not show the IMAPS port %s:\n%s", imapsPort, page)
	}
}
