package interop

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// The IMAP extensions of issue 12 driven by Python's imaplib against the
// real binary; one started system for all of them.
func TestIMAPExtensionsWithImaplib(t *testing.T) {
	s := startSystem(t, "")
	u := s.user(1)
	ext := func(t *testing.T, flow string, extra ...string) string {
		t.Helper()
		requireTool(t, "python3")
		args := append([]string{"testdata/imap_ext.py", "--cafile", s.certFile, "--addr", s.addrs["imaps"],
			"--user", u.Address, "--password", u.Password}, extra...)
		out, err := run(t, nil, "python3", append(args, flow)...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", flow, err, out)
		}
		return out
	}
	t.Run("qresync", func(t *testing.T) {
		if out := ext(t, "qresync"); !strings.Contains(out, "QRESYNC OK") {
			t.Fatalf("qresync: %s", out)
		}
	})
	t.Run("quota", func(t *testing.T) {
		// An administrator gives the official a 64 KiB mailbox.
		setQuota(t, s, u.Address, 64<<10)
		if out := ext(t, "quota", "--quota-kib", "64"); !strings.Contains(out, "QUOTA OK") {
			t.Fatalf("quota: %s", out)
		}
	})
}

// The văn thư mailbox with real clients: two clerks (one made so by the
// unit administrator's SETACL, which the audit log records) and a leader
// (testdata/vanthu.py drives imaplib and smtplib).
func TestSharedUnitMailboxWithClients(t *testing.T) {
	s := startSystem(t, "")
	requireTool(t, "python3")
	out, err := run(t, nil, "python3", "testdata/vanthu.py", "--cafile", s.certFile, "--imaps", s.addrs["imaps"],
		"--smtp", s.addrs["smtp"], "--submissions", s.addrs["submissions"], "--dir", filepath.Join(s.dir, "demo"))
	if err != nil || !strings.Contains(out, "VANTHU OK") {
		t.Fatalf("vanthu.py: %v\n%s", err, out)
	}
	var res struct {
		Clerks []string `json:"clerks"`
		Admin  string   `json:"admin"`
	}
	json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &res)
	audit, err := run(t, nil, binaryPath, "audit", "--config", filepath.Join(s.dir, "demo", "congvu.toml"), "--action", "acl-set")
	if err != nil || !strings.Contains(audit, res.Clerks[1]) || !strings.Contains(audit, res.Admin) {
		t.Errorf("audit of the SETACL: %v\n%s", err, audit)
	}
}

// setQuota changes an account's quota in the quickstart's SQLite
// directory, as the account pages do.
func setQuota(t *testing.T, s *system, address string, bytes int64) {
	t.Helper()
	script := `import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=15)
db.execute("UPDATE accounts SET quota_bytes = ? WHERE address = ?", (int(sys.argv[3]), sys.argv[2]))
db.commit()`
	if out, err := run(t, nil, "python3", "-c", script, filepath.Join(s.dir, "demo", "directory.db"), address, fmt.Sprint(bytes)); err != nil {
		t.Fatalf("setting the quota: %v\n%s", err, out)
	}
}
