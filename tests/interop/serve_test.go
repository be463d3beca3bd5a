package interop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeAndStorageRebuild runs the production path: `congvu serve
// --config` on an existing installation, then, with the server stopped, the
// index of one mailbox is destroyed and `congvu storage rebuild` brings every
// message back with a clean `storage check`.
func TestServeAndStorageRebuild(t *testing.T) {
	dir := t.TempDir()
	s := startSystem(t, dir)
	u := s.user(0)
	for i := 0; i < 5; i++ {
		if err := s.sendMX("vanthu@hue.gov.vn", []string{u.Address}, simpleMessage("vanthu@hue.gov.vn", u.Address, "Ban tin so "+string(rune('A'+i)), "Noi dung")); err != nil {
			t.Fatal(err)
		}
	}
	s.stop()

	srv := startServe(t, dir)
	before := srv.fetchAll(u, "INBOX")
	if len(before) != 5 {
		t.Fatalf("serve --config: INBOX has %d messages, want 5", len(before))
	}
	srv.stop()

	local, domain, _ := strings.Cut(u.Address, "@")
	index := filepath.Join(dir, "demo", "mail", "users", domain, local, "index.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(index + suffix)
	}
	cfg := filepath.Join(dir, "demo", "congvu.toml")
	if out, err := run(t, nil, binaryPath, "storage", "rebuild", "--config", cfg); err != nil {
		t.Fatalf("storage rebuild: %v\n%s", err, out)
	}
	if _, err := os.Stat(index); err != nil {
		t.Fatalf("rebuild did not recreate %s: %v", index, err)
	}
	if out, err := run(t, nil, binaryPath, "storage", "check", "--config", cfg); err != nil {
		t.Fatalf("storage check after rebuild: %v\n%s", err, out)
	}
	after := startServe(t, dir).fetchAll(u, "INBOX")
	if len(after) != len(before) {
		t.Fatalf("after rebuild INBOX has %d messages, want %d", len(after), len(before))
	}
	for i := range after {
		if after[i].UID != before[i].UID || string(after[i].Raw) != string(before[i].Raw) {
			t.Errorf("message %d changed across rebuild (uid %d→%d)", i, before[i].UID, after[i].UID)
		}
	}
}
