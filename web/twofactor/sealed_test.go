package twofactor

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"congvu/internal/sealbox"
	"congvu/web/webdb"
)

// rawSecret is what web.db holds for address's TOTP secret.
func rawSecret(t *testing.T, db *webdb.DB, address string) []byte {
	t.Helper()
	var v []byte
	if err := db.QueryRow("SELECT secret FROM totp WHERE address = ?", address).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// A TOTP secret is never in web.db in clear: not in its row, not anywhere
// in the database file or its WAL.
func TestSecretSealedAtRest(t *testing.T) {
	dir := t.TempDir()
	db, err := webdb.Open(filepath.Join(dir, "web.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	box, err := sealbox.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	s, err := New(db, box, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const a = "anv.skhcn@khanhhoa.gov.vn"
	secret, err := s.Start(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	raw := rawSecret(t, db, a)
	if bytes.Contains(raw, secret) || !sealbox.IsSealed(raw) {
		t.Fatalf("web.db holds the secret unsealed: %x", raw)
	}
	codes, err := s.Confirm(ctx, a, hotp(secret, step(clk.t)))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"web.db", "web.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		if bytes.Contains(b, secret) {
			t.Errorf("%s contains the TOTP secret in clear", name)
		}
	}
	// A web.db copied to a node with another key does not give codes.
	other, _ := sealbox.New(bytes.Repeat([]byte{1}, 32))
	s2, err := New(db, other, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := s2.Unreadable(ctx); n != 1 {
		t.Errorf("Unreadable under another key = %d, want 1", n)
	}
	clk.t = clk.t.Add(time.Minute)
	if ok, err := s2.Verify(ctx, a, hotp(secret, step(clk.t))); ok || err == nil {
		t.Errorf("a code checked under another key: %v %v", ok, err)
	}
	// Recovery codes are hashes, not sealed: they still sign in.
	if ok, err := s2.Verify(ctx, a, codes[0]); !ok || err != nil {
		t.Errorf("a recovery code under another key: %v %v", ok, err)
	}
}

// An upgrade from a congvu that stored secrets in clear seals them when
// the store opens, leaves no clear copy in the database file or its log,
// and every official's authenticator keeps working.
func TestPlaintextSecretsMigrated(t *testing.T) {
	dir := t.TempDir()
	db, err := webdb.Open(filepath.Join(dir, "web.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	box, err := sealbox.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		address string
		secret  []byte
		enabled int
	}
	plain := []row{{"a@khanhhoa.gov.vn", []byte("12345678901234567890"), 1}, {"b@khanhhoa.gov.vn", []byte("abcdefghijabcdefghij"), 1},
		{"pending@khanhhoa.gov.vn", []byte("zzzzzzzzzzzzzzzzzzzz"), 0}}
	// The rows as the previous version wrote them, each between rows
	// already sealed: a clear row's old cell then becomes free space
	// inside the page, which SQLite leaves as it was unless secure_delete
	// is on.
	var rows []row
	for i, p := range plain {
		rows = append(rows, row{fmt.Sprintf("sealed%d@khanhhoa.gov.vn", i), box.Seal(sealPurpose, []byte("yyyyyyyyyyyyyyyyyyyy")), 1}, p)
	}
	rows = append(rows, row{"z@khanhhoa.gov.vn", box.Seal(sealPurpose, []byte("yyyyyyyyyyyyyyyyyyyy")), 1})
	for _, r := range rows {
		if _, err := db.Exec("INSERT INTO totp (address, secret, enabled, last_step) VALUES (?, ?, ?, 0)", r.address, r.secret, r.enabled); err != nil {
			t.Fatal(err)
		}
	}
	// Closed by the old version: the rows are in the database file itself.
	db.Close()
	if db, err = webdb.Open(filepath.Join(dir, "web.db")); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	s, err := New(db, box, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range plain {
		if raw := rawSecret(t, db, p.address); bytes.Contains(raw, p.secret) || !sealbox.IsSealed(raw) {
			t.Errorf("%s: still in clear after opening: %x", p.address, raw)
		}
		// Nor left in the file's free space or its write-ahead log.
		for _, name := range []string{"web.db", "web.db-wal"} {
			if b, _ := os.ReadFile(filepath.Join(dir, name)); bytes.Contains(b, p.secret) {
				t.Errorf("%s: %s still holds the secret in clear", p.address, name)
			}
		}
		if p.enabled == 0 {
			continue
		}
		if ok, err := s.Verify(ctx, p.address, hotp(p.secret, step(clk.t))); !ok || err != nil {
			t.Errorf("%s: the authenticator's code refused after the upgrade: %v %v", p.address, ok, err)
		}
	}
	if p, err := s.Pending(ctx, "pending@khanhhoa.gov.vn"); err != nil || string(p) != "zzzzzzzzzzzzzzzzzzzz" {
		t.Errorf("pending enrolment after the upgrade: %q %v", p, err)
	}
	// Opening again changes nothing (sealed values are not sealed twice).
	before := rawSecret(t, db, "a@khanhhoa.gov.vn")
	if _, err := New(db, box, clk.now); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, rawSecret(t, db, "a@khanhhoa.gov.vn")) {
		t.Error("a sealed secret was sealed again")
	}
}
