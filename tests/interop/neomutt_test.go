package interop

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNeomuttReadsAndMoves runs neomutt in a real terminal (tmux) against
// IMAPS: the user sees a message sent with swaks in the index, saves it to
// Archive and the server then has it in Archive and not in INBOX.
func TestNeomuttReadsAndMoves(t *testing.T) {
	requireTool(t, "neomutt")
	requireTool(t, "tmux")
	requireTool(t, "swaks")
	s := startSystem(t, "")
	u := s.user(0)
	if out, err := run(t, nil, "swaks", "--server", s.addrs["smtp"], "--tls",
		"--from", "vanthu@quangngai.gov.vn", "--to", u.Address,
		"--header", "Subject: Giay moi hop giao ban", "--body", "Kinh moi dong chi"); err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}

	work := t.TempDir()
	host, port := hostPort(s.addrs["imaps"])
	rc := filepath.Join(work, "neomuttrc")
	os.WriteFile(rc, []byte(fmt.Sprintf(`set folder="imaps://%s:%s/"
set spoolfile="+INBOX"
set imap_user="%s"
set imap_pass="%s"
set certificate_file="%s"
set ssl_force_tls=yes
set ssl_starttls=yes
set delete=yes
set confirmappend=no
set confirmcreate=no
set mail_check=1
set timeout=1
set sort=date
set header_cache=""
set message_cachedir=""
`, host, port, u.Address, u.Password, s.certFile)), 0o600)

	session := fmt.Sprintf("congvu-%d", time.Now().UnixNano())
	tmux := func(args ...string) string {
		out, err := exec.Command("tmux", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "40",
		"env", "HOME="+work, "TERM=xterm", "neomutt", "-n", "-F", rc)
	defer exec.Command("tmux", "kill-session", "-t", session).Run()
	screenHas := func(want string) string {
		deadline := time.Now().Add(20 * time.Second)
		var screen string
		for time.Now().Before(deadline) {
			screen = tmux("capture-pane", "-p", "-t", session)
			if strings.Contains(screen, want) {
				return screen
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("neomutt screen never showed %q; last screen:\n%s", want, screen)
		return ""
	}
	screenHas("Giay moi hop giao ban")
	tmux("send-keys", "-t", session, "s")
	screenHas("Save to mailbox")
	tmux("send-keys", "-t", session, "C-u", "=Archive", "Enter")
	time.Sleep(500 * time.Millisecond)
	tmux("send-keys", "-t", session, "$")
	time.Sleep(500 * time.Millisecond)
	tmux("send-keys", "-t", session, "q")

	archive := s.waitFor(u, "Archive", func(m []fetched) bool { return len(m) == 1 })
	if len(archive) != 1 || !bytes.Contains(archive[0].Raw, []byte("Giay moi hop giao ban")) {
		t.Fatalf("Archive has %d messages after neomutt save, want the moved one", len(archive))
	}
	inbox := s.waitFor(u, "INBOX", func(m []fetched) bool { return len(m) == 0 })
	if len(inbox) != 0 {
		t.Errorf("INBOX still has %d messages after neomutt moved and synced", len(inbox))
	}
}
