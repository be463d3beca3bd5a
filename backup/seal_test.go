package backup

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"congvu/internal/sealbox"
	"congvu/storage"
)

// A backup carries the seal key with the databases whose secrets it
// seals: after the data directory is lost and restored, a secret sealed
// in web.db before the backup opens again, and the key is still 0600.
func TestBackupCarriesSealKey(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	n := newNode(t, filepath.Join(root, "node"))
	s, err := storage.Open(n.cfg.Path(n.cfg.Storage.Path), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n.fill(t, s, 0, 1)
	s.Close()
	box, err := sealbox.OpenDir(n.cfg.Server.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("12345678901234567890")
	webPath := n.cfg.Path(n.cfg.Web.DBPath)
	db, err := sql.Open("sqlite3", "file:"+webPath+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"CREATE TABLE totp (address TEXT, secret BLOB)"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec("INSERT INTO totp VALUES ('a@angiang.gov.vn', ?)", box.Seal("webdb/totp", secret)); err != nil {
		t.Fatal(err)
	}
	db.Close()

	res, err := Run(ctx, Options{Config: n.cfg, ConfigPath: n.cfgPath, To: filepath.Join(root, "b")})
	if err != nil {
		t.Fatal(err)
	}
	// Named in the manifest, so an operator sees the key is in it.
	named := false
	for _, r := range res.Manifest.Roots {
		named = named || r.Name == "seal-key"
	}
	if !named {
		t.Errorf("manifest roots %+v do not name the seal key", res.Manifest.Roots)
	}
	if err := os.RemoveAll(n.cfg.Server.DataDir); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(ctx, RestoreOptions{From: res.Path, ConfigPath: n.cfgPath}); err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(n.cfg.Server.DataDir, sealbox.KeyFile)
	fi, err := os.Stat(keyPath)
	if err != nil {
		t.Fatalf("seal key not restored: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("restored seal key has mode %04o", fi.Mode().Perm())
	}
	restored, err := sealbox.OpenDir(n.cfg.Server.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	db, err = sql.Open("sqlite3", "file:"+webPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var sealed []byte
	if err := db.QueryRow("SELECT secret FROM totp").Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if got, err := restored.Open("webdb/totp", sealed); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("secret after restore: %q, %v", got, err)
	}
}
