package sealbox

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

func TestSealOpen(t *testing.T) {
	b, err := OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("12345678901234567890")
	s1, s2 := b.Seal("webdb/totp", secret), b.Seal("webdb/totp", secret)
	if bytes.Contains(s1, secret) || bytes.Equal(s1, s2) {
		t.Fatalf("sealed value shows the secret or repeats: %x %x", s1, s2)
	}
	if !IsSealed(s1) || len(s1) != len(secret)+Overhead {
		t.Fatalf("IsSealed %v, len %d", IsSealed(s1), len(s1))
	}
	if IsSealed(secret) {
		t.Error("a 20-byte plain secret taken for sealed")
	}
	got, err := b.Open("webdb/totp", s1)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open: %q, %v", got, err)
	}
	if _, err := b.Open("orgdb/passwords", s1); !errors.Is(err, ErrTampered) {
		t.Errorf("opened for another purpose: %v", err)
	}
	for i := range s1 {
		bad := bytes.Clone(s1)
		bad[i] ^= 0x40
		if _, err := b.Open("webdb/totp", bad); err == nil {
			t.Fatalf("byte %d flipped still opens", i)
		}
	}
	if _, err := b.Open("webdb/totp", secret); !errors.Is(err, ErrNotSealed) {
		t.Errorf("plain value: %v", err)
	}
	other, _ := New(bytes.Repeat([]byte{7}, 32))
	if _, err := other.Open("webdb/totp", s1); !errors.Is(err, ErrOtherKey) {
		t.Errorf("another key: %v", err)
	}

	csv := "address,password,role,full_name\nanv@x.gov.vn,Pw-1234-abcd,user,An\n"
	st := b.SealString("orgdb/passwords", csv)
	if !IsSealedString(st) || strings.Contains(st, "Pw-1234") || IsSealedString(csv) {
		t.Fatalf("SealString: %q", st)
	}
	if back, err := b.OpenString("orgdb/passwords", st); err != nil || back != csv {
		t.Fatalf("OpenString: %q, %v", back, err)
	}
	if _, err := b.OpenString("orgdb/passwords", st[:len(st)-2]); err == nil {
		t.Error("truncated text opens")
	}
}

// The key file is made once, mode 0600, and the same key is read back by
// every later open, including opens racing to create it.
func TestKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	var wg sync.WaitGroup
	boxes := make([]*Box, 8)
	errs := make([]error, 8)
	for i := range boxes {
		wg.Go(func() { boxes[i], errs[i] = OpenDir(dir) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
	}
	sealed := boxes[0].Seal("p", []byte("x"))
	for i, b := range boxes {
		if _, err := b.Open("p", sealed); err != nil {
			t.Fatalf("box %d has another key: %v", i, err)
		}
	}
	path := filepath.Join(dir, KeyFile)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v, %v", fi.Mode(), err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("left behind in the data directory: %v", ents)
	}
	again, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := again.Open("p", sealed); err != nil {
		t.Fatalf("reopened key differs: %v", err)
	}
	if strings.Contains(again.String(), mustRead(t, path)[:16]) {
		t.Error("String shows the key")
	}

	// A key open to other users is refused, not used.
	os.Chmod(path, 0o644)
	if _, err := OpenDir(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("mode 0644 key: %v", err)
	}
	// A damaged key is refused, never replaced (values sealed under it
	// would be lost).
	os.Chmod(path, 0o600)
	os.WriteFile(path, []byte("not a key\n"), 0o600)
	if _, err := OpenDir(dir); err == nil {
		t.Error("damaged key accepted")
	}
	if mustRead(t, path) != "not a key\n" {
		t.Error("damaged key replaced")
	}
}

func mustRead(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A key made by root (an admin command run with sudo) in a data directory
// of the service's user belongs to that user, who must read it.
func TestKeyBelongsToDataDirOwner(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	wantUID := os.Geteuid()
	if wantUID == 0 {
		wantUID = 65534 // nobody: the data directory is the service's
		if err := os.Chown(dir, wantUID, wantUID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := OpenDir(dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if uid := int(fi.Sys().(*syscall.Stat_t).Uid); uid != wantUID {
		t.Errorf("seal.key belongs to uid %d, want %d (the data directory's owner)", uid, wantUID)
	}
}
