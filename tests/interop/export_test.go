package interop

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

// readerScript reads an mbox file or a Maildir++ tree with Python's
// mailbox module and prints subject, flags and body of every message.
const readerScript = `
import json, mailbox, sys
kind, path = sys.argv[1], sys.argv[2]
out = []
def add(box, folder):
    for key in box.keys():
        m = box[key]
        body = m.get_payload(decode=False)
        out.append({"folder": folder, "subject": m["subject"], "flags": m.get_flags(), "body": body})
if kind == "mbox":
    add(mailbox.mbox(path, create=False), "")
else:
    md = mailbox.Maildir(path, factory=None, create=False)
    add(md, "INBOX")
    for name in md.list_folders():
        add(md.get_folder(name), name)
print(json.dumps(out))
`

type pyMessage struct {
	Folder, Subject, Flags, Body string
}

func readWithPython(t *testing.T, kind, path string) []pyMessage {
	t.Helper()
	requireTool(t, "python3")
	out, err := run(t, nil, "/usr/bin/python3", "-c", readerScript, kind, path)
	if err != nil {
		t.Fatalf("python mailbox %s: %v\n%s", kind, err, out)
	}
	var msgs []pyMessage
	if err := json.Unmarshal([]byte(out), &msgs); err != nil {
		t.Fatalf("python output %q: %v", out, err)
	}
	return msgs
}

// neomuttShows opens a mailbox read-only in neomutt in a terminal (tmux)
// and waits until its index shows every wanted string.
func neomuttShows(t *testing.T, path string, want ...string) {
	t.Helper()
	requireTool(t, "neomutt")
	requireTool(t, "tmux")
	work := t.TempDir()
	rc := filepath.Join(work, "neomuttrc")
	os.WriteFile(rc, []byte("set folder=\""+work+"\"\nset spoolfile=\""+path+"\"\nset sort=date\nset header_cache=\"\"\nset index_format=\"%4C %Z %s\"\n"), 0o600)
	session := fmt.Sprintf("congvu-export-%d", time.Now().UnixNano())
	if out, err := exec.Command("tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "40",
		"env", "HOME="+work, "TERM=xterm", "neomutt", "-n", "-R", "-F", rc, "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v\n%s", err, out)
	}
	defer exec.Command("tmux", "kill-session", "-t", session).Run()
	var screen string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		out, _ := exec.Command("tmux", "capture-pane", "-p", "-t", session).CombinedOutput()
		screen = string(out)
		all := true
		for _, w := range want {
			all = all && strings.Contains(screen, w)
		}
		if all {
			return
		}
	}
	t.Fatalf("neomutt -f %s never showed %q; last screen:\n%s", path, want, screen)
}

// TestExportMboxAndMaildir: an official's mail (a body line starting
// "From ", a flagged message, a message in a subfolder with a Vietnamese
// name) exported with `congvu export` as mbox on standard output and as a
// Maildir++ tree, read by neomutt and by Python's mailbox module with the
// same messages, bodies and flags; the webmail download is the same mbox.
func TestExportMboxAndMaildir(t *testing.T) {
	s := startSystem(t, "")
	u := s.user(0)
	c, err := smtp.DialStartTLS(s.addrs["smtp"], s.tlsConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, subj := range []string{"Giay moi hop", "Bao cao quy", "Ke hoach nam"} {
		body := "Kinh gui dong chi\r\nFrom the office of " + subj + "\r\n"
		if err := c.SendMail("vanthu@test.gov.vn", []string{u.Address}, strings.NewReader(string(simpleMessage("vanthu@test.gov.vn", u.Address, subj, body)))); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	s.waitFor(u, "INBOX", func(m []fetched) bool { return len(m) == 3 })
	s.flagSome(t, u) // UID 3 \Flagged, UID 2 \Seen
	s.appendTo(t, u, "Dự án/2026", simpleMessage("a@test.gov.vn", u.Address, "Trong du an", "noi dung"))

	out, err := s.congvu("export", "--format", "mbox", u.Address)
	if err != nil {
		t.Fatalf("congvu export: %v\n%s", err, out)
	}
	mboxPath := filepath.Join(t.TempDir(), "export.mbox")
	os.WriteFile(mboxPath, []byte(out), 0o600)
	msgs := readWithPython(t, "mbox", mboxPath)
	if len(msgs) != 4 {
		t.Fatalf("python read %d messages from the mbox, want 4:\n%s", len(msgs), out)
	}
	seen := map[string]pyMessage{}
	for _, m := range msgs {
		seen[m.Subject] = m
	}
	if m := seen["Giay moi hop"]; !strings.Contains(m.Body, "\n>From the office of Giay moi hop") {
		t.Errorf("mboxrd quoting of a From line in the body: %q", m.Body)
	}
	if m := seen["Ke hoach nam"]; !strings.Contains(m.Flags, "F") {
		t.Errorf("flagged message has mbox flags %q", m.Flags)
	}
	if m := seen["Bao cao quy"]; !strings.Contains(m.Flags, "R") {
		t.Errorf("seen message has mbox flags %q", m.Flags)
	}
	if !strings.Contains(out, "\nX-Congvu-Folder: Dự án/2026\n") {
		t.Errorf("the subfolder's message is not marked with its folder")
	}
	neomuttShows(t, mboxPath, "Giay moi hop", "Bao cao quy", "Ke hoach nam", "Trong du an")

	md := filepath.Join(t.TempDir(), "maildir")
	if out, err := s.congvu("export", "--format", "maildir", "--out", md, u.Address); err != nil {
		t.Fatalf("congvu export maildir: %v\n%s", err, out)
	}
	mdMsgs := readWithPython(t, "maildir", md)
	byFolder := map[string][]pyMessage{}
	for _, m := range mdMsgs {
		byFolder[m.Folder] = append(byFolder[m.Folder], m)
	}
	if len(byFolder["INBOX"]) != 3 || len(byFolder["D&HvE- &AOE-n.2026"]) != 1 {
		t.Errorf("maildir folders as Python sees them: %v", mdMsgs)
	}
	for _, m := range byFolder["INBOX"] {
		if m.Subject == "Ke hoach nam" && !strings.Contains(m.Flags, "F") {
			t.Errorf("maildir flags of the flagged message: %q", m.Flags)
		}
	}
	neomuttShows(t, md, "Giay moi hop", "Bao cao quy", "Ke hoach nam")

	// The webmail's download is the same mbox.
	w := s.signInFirst(u)
	p := w.get("/mail/export.mbox")
	if p.Status != 200 || !strings.HasPrefix(p.Header.Get("Content-Type"), "application/mbox") ||
		!strings.Contains(p.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("webmail download: %d %v", p.Status, p.Header)
	}
	if p.Body != out {
		t.Errorf("webmail mbox (%d bytes) differs from congvu export (%d bytes)", len(p.Body), len(out))
	}
	anon := s.adminWeb().get("/mail/export.mbox")
	if anon.Path != "/login" {
		t.Errorf("download without a session ended at %s (%d), want the sign-in page", anon.Path, anon.Status)
	}
}

// appendTo creates folder over IMAP and appends msg to it.
func (s *system) appendTo(t *testing.T, a account, folder string, msg []byte) {
	t.Helper()
	c, err := imapclient.DialTLS(s.addrs["imaps"], &imapclient.Options{TLSConfig: s.tlsConfig()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(a.Address, a.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(folder, nil).Wait(); err != nil {
		t.Fatal(err)
	}
	cmd := c.Append(folder, int64(len(msg)), nil)
	cmd.Write(msg)
	cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}
