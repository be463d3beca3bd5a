package twofactor

import (
	"bytes"
	"context"
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
	if _, err := s.Confirm(ctx, a, hotp(secret, step(clk.t))); err != nil {
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
}

// An upgrade from a congvu that stored secrets in clear seals them when
// the store opens, and every official's authenticator keeps working.
func TestPlaintextSecretsMigrated(t *testing.T) {
	dir := t.TempDir()
	db, err := webdb.Open(filepath.Join(dir, "web.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	secrets := map[string][]byte{
		"a@khanhhoa.gov.vn": []byte("12345678901234567890"),
		"b@khanhhoa.gov.vn": []byte("abcdefghijabcdefghij"),
	}
	// The rows as the previous version wrote them.
	for a, sec := range secrets {
		if _, err := db.Exec("INSERT INTO totp (address, secret, enabled, last_step) VALUES (?, ?, 1, 0)", a, sec); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec("INSERT INTO totp (address, secret, enabled, last_step) VALUES ('pending@khanhhoa.gov.vn', ?, 0, 0)", []byte("zzzzzzzzzzzzzzzzzzzz")); err != nil {
		t.Fatal(err)
	}
	box, err := sealbox.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	s, err := New(db, box, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	for a, sec := range secrets {
		if raw := rawSecret(t, db, a); bytes.Contains(raw, sec) || !sealbox.IsSealed(raw) {
			t.Errorf("%s: still in clear after opening: %x", a, raw)
		}
		if ok, err := s.Verify(ctx, a, hotp(sec, step(clk.t))); !ok || err != nil {
			t.Errorf("%s: the authenticator's code refused after the upgrade: %v %v", a, ok, err)
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
