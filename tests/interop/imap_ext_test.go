package interop

import (
	"strings"
	"testing"
)

// The IMAP extensions of issue 12 driven by Python's imaplib against the
// real binary; one started system for all of them.
func TestIMAPExtensionsWithImaplib(t *testing.T) {
	s := startSystem(t, "")
	u := s.user(1)
	ext := func(t *testing.T, flow string) string {
		t.Helper()
		requireTool(t, "python3")
		out, err := run(t, nil, "python3", "testdata/imap_ext.py", "--cafile", s.certFile, "--addr", s.addrs["imaps"],
			"--user", u.Address, "--password", u.Password, flow)
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
}
