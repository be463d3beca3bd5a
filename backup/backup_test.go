package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"congvu/internal/config"
	"congvu/storage"
)

// node is a congvu data directory made for a test: a configuration file,
// a mail store with mail, an SQLite database, Sieve scripts.
type node struct {
	cfg     config.Config
	cfgPath string
}

func newNode(t *testing.T, dataDir string) *node {
	t.Helper()
	cfg := config.Default()
	cfg.Server.DataDir = dataDir
	cfg.Server.LocalDomains = []string{"angiang.gov.vn"}
	cfg.Server.Hostname = "mail.angiang.gov.vn"
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	n := &node{cfg: cfg, cfgPath: filepath.Join(dataDir, "congvu.toml")}
	if err := config.Write(n.cfgPath, cfg); err != nil {
		t.Fatal(err)
	}
	return n
}

func msg(subject string) string {
	return "From: a@angiang.gov.vn\r\nTo: b@angiang.gov.vn\r\nSubject: " + subject + "\r\n\r\nNội dung " + subject + "\r\n"
}

// fill puts mail for two users, a policy database and a Sieve script.
func (n *node) fill(t *testing.T, s *storage.FileStore, from, count int) {
	t.Helper()
	ctx := context.Background()
	for i := from; i < from+count; i++ {
		for _, u := range []string{"nva.sotc@angiang.gov.vn", "ttb.ubnd@angiang.gov.vn"} {
			mb, err := s.Mailbox(ctx, u, 0)
			if err != nil {
				t.Fatal(err)
			}
			var flags []string
			if i%2 == 0 {
				flags = []string{`\Seen`}
			}
			if _, err := mb.Append(ctx, "INBOX", strings.NewReader(msg(fmt.Sprint("m", i))), flags, time.Time{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	db, err := sql.Open("sqlite3", "file:"+n.cfg.Path(n.cfg.Policy.DBPath)+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{"CREATE TABLE IF NOT EXISTS audit (n INTEGER)", fmt.Sprintf("INSERT INTO audit VALUES (%d)", from)} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	sieveDir := filepath.Join(n.cfg.Path(n.cfg.Sieve.Path), "angiang.gov.vn", "nva.sotc")
	os.MkdirAll(sieveDir, 0o700)
	if err := os.WriteFile(filepath.Join(sieveDir, "rules.sieve"), []byte(`require "fileinto"; fileinto "Dự án";`), 0o600); err != nil {
		t.Fatal(err)
	}
}

func inbox(t *testing.T, s *storage.FileStore, user string) map[uint32][]string {
	t.Helper()
	mb, err := s.Mailbox(context.Background(), user, 0)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := mb.Messages(context.Background(), "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint32][]string{}
	for _, m := range ms {
		out[m.UID] = m.Flags
	}
	return out
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// TestBackupIncrementalRestore takes a full backup of a node whose server
// is running, then an incremental one after more mail, and restores the
// incremental one onto a new node: the mail with UIDs and flags, the
// databases and the scripts are back, files the first backup held were
// hard-linked rather than copied, and restore refuses to write over data
// or under a running server.
func TestBackupIncrementalRestore(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	src := newNode(t, filepath.Join(root, "node1"))
	s, err := storage.Open(src.cfg.Path(src.cfg.Storage.Path), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	src.fill(t, s, 0, 10)
	to := filepath.Join(root, "backups")
	clock := time.Date(2026, 3, 1, 1, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }

	full, err := Run(ctx, Options{Config: src.cfg, ConfigPath: src.cfgPath, To: to, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if full.Manifest.Store.Users != 2 || full.Manifest.Store.Messages != 20 {
		t.Fatalf("full backup holds %+v, want 2 mailboxes and 20 messages", full.Manifest.Store)
	}
	src.fill(t, s, 10, 5)
	clock = clock.Add(24 * time.Hour)
	inc, err := Run(ctx, Options{Config: src.cfg, ConfigPath: src.cfgPath, To: to, Now: now, Incremental: true})
	if err != nil {
		t.Fatal(err)
	}
	if inc.Manifest.Base != filepath.Base(full.Path) || inc.Manifest.Store.Messages != 30 {
		t.Fatalf("incremental: base %q, %+v", inc.Manifest.Base, inc.Manifest.Store)
	}
	// The 20 old message files are links to the first backup's; the 10
	// new ones and the databases are copies.
	if inc.Manifest.Files-inc.Manifest.Copied < 20 {
		t.Errorf("incremental backup linked %d of %d files, want at least the 20 old messages",
			inc.Manifest.Files-inc.Manifest.Copied, inc.Manifest.Files)
	}
	old := filepath.Join(full.Path, "store", "users", "angiang.gov.vn", "nva.sotc", "1", "1")
	again := filepath.Join(inc.Path, "store", "users", "angiang.gov.vn", "nva.sotc", "1", "1")
	if inode(t, old) != inode(t, again) {
		t.Error("an unchanged message file was copied again, not hard-linked")
	}
	if latest, _ := Latest(to); latest != filepath.Base(inc.Path) {
		t.Errorf("Latest = %q, want %q", latest, filepath.Base(inc.Path))
	}
	wantN := inbox(t, s, "nva.sotc@angiang.gov.vn")

	// Restore refuses under a running server (the store is open here).
	if _, err := Restore(ctx, RestoreOptions{From: to, ConfigPath: src.cfgPath, Force: true}); !errors.Is(err, ErrServerRunning) {
		t.Fatalf("restore under a running server: %v, want ErrServerRunning", err)
	}

	// A new node: its own configuration, an empty data directory.
	dst := newNode(t, filepath.Join(root, "node2"))
	res, err := Restore(ctx, RestoreOptions{From: to, ConfigPath: dst.cfgPath})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Check.Clean() || res.Check.Messages != 30 {
		t.Fatalf("check after restore: %s", res.Check)
	}
	r, err := storage.Open(dst.cfg.Path(dst.cfg.Storage.Path), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := inbox(t, r, "nva.sotc@angiang.gov.vn")
	for uid, flags := range wantN {
		g, ok := got[uid]
		if !ok || !slices.Equal(g, flags) {
			t.Errorf("UID %d: restored %v (present %v), want flags %v", uid, g, ok, flags)
		}
	}
	r.Close()
	db, err := sql.Open("sqlite3", dst.cfg.Path(dst.cfg.Policy.DBPath))
	if err != nil {
		t.Fatal(err)
	}
	var rows int
	db.QueryRow("SELECT count(*) FROM audit").Scan(&rows)
	db.Close()
	if rows != 2 {
		t.Errorf("policy database restored with %d rows, want 2", rows)
	}
	if b, err := os.ReadFile(filepath.Join(dst.cfg.Path(dst.cfg.Sieve.Path), "angiang.gov.vn", "nva.sotc", "rules.sieve")); err != nil || !strings.Contains(string(b), "Dự án") {
		t.Errorf("sieve script: %q, %v", b, err)
	}

	// Restoring again over the restored node is refused, or moves aside.
	if _, err := Restore(ctx, RestoreOptions{From: to, ConfigPath: dst.cfgPath}); err == nil || !strings.Contains(err.Error(), "already present") {
		t.Errorf("restore over existing data: %v, want a refusal", err)
	}
	res, err = Restore(ctx, RestoreOptions{From: full.Path, ConfigPath: dst.cfgPath, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.MovedOut) == 0 || res.Check.Messages != 20 {
		t.Errorf("forced restore of the full backup: moved aside %v, %d messages", res.MovedOut, res.Check.Messages)
	}
	for _, p := range res.MovedOut {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("moved-aside data %s: %v", p, err)
		}
	}
}

// TestRestoreWritesMissingConfiguration: with the data directory and its
// configuration gone, restore brings both back from the backup.
func TestRestoreWritesMissingConfiguration(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	n := newNode(t, filepath.Join(root, "node"))
	s, err := storage.Open(n.cfg.Path(n.cfg.Storage.Path), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n.fill(t, s, 0, 3)
	s.Close()
	res, err := Run(ctx, Options{Config: n.cfg, ConfigPath: n.cfgPath, To: filepath.Join(root, "b")})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(n.cfg.Server.DataDir); err != nil {
		t.Fatal(err)
	}
	rr, err := Restore(ctx, RestoreOptions{From: res.Path, ConfigPath: n.cfgPath})
	if err != nil {
		t.Fatal(err)
	}
	if rr.Check.Messages != 6 || !rr.Check.Clean() {
		t.Fatalf("after restore: %s", rr.Check)
	}
	if _, err := config.Load(n.cfgPath); err != nil {
		t.Errorf("restored configuration: %v", err)
	}
}

// TestRestoreQuickstartLayout: a node whose configuration lies in its data
// directory with data_dir = "." (the quickstart's layout), named by a
// relative path as an operator types it, is backed up, loses the whole
// directory, configuration included, and comes back from the backup.
func TestRestoreQuickstartLayout(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	t.Chdir(root)
	const cfgPath = "demo/congvu.toml"
	n := &node{cfg: config.Default(), cfgPath: cfgPath}
	n.cfg.Server.DataDir = "."
	n.cfg.Server.LocalDomains = []string{"angiang.gov.vn"}
	n.cfg.Server.Hostname = "mail.angiang.gov.vn"
	if err := os.Mkdir("demo", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := config.Write(cfgPath, n.cfg); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	s, err := storage.Open(cfg.Path(cfg.Storage.Path), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n.fill(t, s, 0, 2)
	s.Close()
	if _, err := Run(ctx, Options{Config: cfg, ConfigPath: cfgPath, To: "backups"}); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll("demo"); err != nil {
		t.Fatal(err)
	}
	rr, err := Restore(ctx, RestoreOptions{From: "backups", ConfigPath: cfgPath})
	if err != nil {
		t.Fatalf("restore onto an empty disk: %v", err)
	}
	if rr.Check.Messages != 4 || !rr.Check.Clean() {
		t.Fatalf("after restore: %s", rr.Check)
	}
}
