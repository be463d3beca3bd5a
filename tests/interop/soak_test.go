package interop

import (
	"strings"
	"testing"
	"time"

	"congvu/bench/soak"
)

// TestSoakSmoke is the short version of `make soak`: mixed SMTP, IMAP,
// POP3 and web load with two kill -9 and restarts; every message answered
// 250 is in its mailbox exactly once and storage check is clean.
func TestSoakSmoke(t *testing.T) {
	cfg := soak.Config{Bin: binaryPath, Dir: t.TempDir(), Duration: 45 * time.Second, KillEvery: 15 * time.Second,
		Rate: 10, IMAP: 4, POP3: 2, Web: 2}
	res, err := soak.Run(t.Context(), cfg)
	if res != nil {
		var b strings.Builder
		res.Report(&b, cfg)
		t.Log("\n" + b.String())
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.Kills < 2 || res.Acked < 100 || !res.Healthy() {
		t.Fatalf("kills %d, acknowledged %d, lost %d, duplicated %d, storage clean %v\n%s",
			res.Kills, res.Acked, res.Lost, res.Duplicates, res.StorageClean, res.StorageCheck)
	}
	if res.IMAPOps == 0 || res.POP3Ops == 0 || res.WebOps == 0 {
		t.Errorf("a kind of client did nothing: IMAP %d, POP3 %d, web %d", res.IMAPOps, res.POP3Ops, res.WebOps)
	}
}
