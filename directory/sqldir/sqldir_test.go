package sqldir

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"congvu/directory"
	"congvu/directory/dirtest"
	"congvu/internal/mailerr"
)

func open(t *testing.T, opts Options) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "directory.db")
	d, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return d, path
}

func TestConformance(t *testing.T) {
	dirtest.Run(t, func(t *testing.T) directory.Writer {
		d, _ := open(t, Options{})
		return d
	})
}

func account(address string) directory.Account {
	return directory.Account{Address: address, DisplayName: "Nguyễn Ngọc Thành", UnitCode: "56.skhcn",
		Role: directory.RoleOfficial, State: directory.StateActive}
}

// TestPasswordNeverInClear checks the file and the logs for the password and
// the stored form for a PHC argon2id string.
func TestPasswordNeverInClear(t *testing.T) {
	var logs bytes.Buffer
	d, path := open(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	ctx := t.Context()
	const pw = "BiMat-Rat-Dai#2025"
	if err := d.PutAccount(ctx, account("thanhnn.skhcn@khanhhoa.gov.vn"), pw); err != nil {
		t.Fatal(err)
	}
	if err := d.SetPassword(ctx, "thanhnn.skhcn@khanhhoa.gov.vn", pw+"2", true); err != nil {
		t.Fatal(err)
	}
	d.Authenticate(ctx, "thanhnn.skhcn@khanhhoa.gov.vn", pw)
	var hash string
	if err := d.ro.QueryRow(`SELECT password_hash FROM accounts`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=1,p=1$") {
		t.Errorf("stored hash %q is not a PHC argon2id string with the current parameters", hash)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(pw)) {
			t.Errorf("%s contains the password in clear", f)
		}
	}
	if strings.Contains(logs.String(), pw) || strings.Contains(logs.String(), "$argon2") {
		t.Errorf("logs contain a password or hash:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "thanhnn.skhcn@khanhhoa.gov.vn") {
		t.Errorf("account changes not logged:\n%s", logs.String())
	}
}

func TestReopenKeepsData(t *testing.T) {
	d, path := open(t, Options{})
	ctx := t.Context()
	if err := d.PutAccount(ctx, account("thanhnn.skhcn@khanhhoa.gov.vn"), "Khanh-Hoa#2025a"); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Authenticate(ctx, "thanhnn.skhcn@khanhhoa.gov.vn", "Khanh-Hoa#2025a"); err != nil {
		t.Fatalf("after reopen: %v", err)
	}
	var mode string
	if err := d.ro.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v", mode, err)
	}
}

func TestOpenErrors(t *testing.T) {
	for _, p := range []string{"", "a?b.db", filepath.Join(t.TempDir(), "missing", "dir", "x.db")} {
		if d, err := Open(p, Options{}); err == nil {
			d.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
	// A database from a newer program is refused, not downgraded.
	d, path := open(t, Options{})
	if _, err := d.rw.Exec(`PRAGMA user_version = 99`); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if d, err := Open(path, Options{}); err == nil {
		d.Close()
		t.Error("Open accepted a newer schema")
	}
}

func TestDomains(t *testing.T) {
	d, _ := open(t, Options{})
	defer d.Close()
	ctx := t.Context()
	if got, err := d.Domains(ctx); err != nil || len(got) != 0 {
		t.Errorf("Domains(empty) = %v, %v", got, err)
	}
	a := account("thanhnn.skhcn@khanhhoa.gov.vn")
	a.Aliases = []string{"thanhnn@ninhthuan.gov.vn"} // a merged province's old domain
	if err := d.PutAccount(ctx, a, ""); err != nil {
		t.Fatal(err)
	}
	if err := d.PutAccount(ctx, account("ducdv.nhatrang@KhanhHoa.gov.vn"), ""); err != nil {
		t.Fatal(err)
	}
	if err := d.PutUnit(ctx, directory.Unit{Code: "56", Name: "UBND tỉnh", Kind: directory.UnitProvince, Address: "ubnd@khanhhoa.gov.vn"}); err != nil {
		t.Fatal(err)
	}
	got, err := d.Domains(ctx)
	if want := []string{"khanhhoa.gov.vn", "ninhthuan.gov.vn"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("Domains = %v, %v; want %v", got, err, want)
	}
}

func TestUnitCycleRefused(t *testing.T) {
	d, _ := open(t, Options{})
	defer d.Close()
	ctx := t.Context()
	for _, u := range []directory.Unit{
		{Code: "a", Name: "A", Kind: directory.UnitDepartment, ParentCode: "b"},
		{Code: "b", Name: "B", Kind: directory.UnitDivision, ParentCode: "c"},
	} {
		if err := d.PutUnit(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	err := d.PutUnit(ctx, directory.Unit{Code: "c", Name: "C", Kind: directory.UnitDivision, ParentCode: "a"})
	if !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("cycle a→b→c→a: %v, want ErrInvalid", err)
	}
	if err := d.PutUnit(ctx, directory.Unit{Code: "c", Name: "C", Kind: directory.UnitProvince}); err != nil {
		t.Fatal(err)
	}
	list, _ := d.Units(ctx)
	var codes []string
	for _, u := range list {
		codes = append(codes, u.Code)
	}
	if !slices.Equal(codes, []string{"c", "b", "a"}) {
		t.Errorf("Units order = %v, want c b a", codes)
	}
}

func TestTreeOrderSurvivesCycles(t *testing.T) {
	got := directory.SortUnits([]directory.Unit{
		{Code: "x", ParentCode: "y"}, {Code: "y", ParentCode: "x"}, {Code: "r"}, {Code: "k", ParentCode: "r"},
	})
	if len(got) != 4 || got[0].Code != "r" || got[1].Code != "k" {
		t.Errorf("SortUnits = %+v", got)
	}
}

// TestRehashOnLogin stores a hash made with older (weaker) parameters and
// checks that a successful login upgrades it.
func TestRehashOnLogin(t *testing.T) {
	d, _ := open(t, Options{})
	defer d.Close()
	ctx := t.Context()
	const address, pw = "maitt.snv@khanhhoa.gov.vn", "Tr@ngSa.9x"
	if err := d.PutAccount(ctx, account(address), ""); err != nil {
		t.Fatal(err)
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	old := fmt.Sprintf("$argon2id$v=19$m=8192,t=2,p=1$%s$%s", base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(argon2.IDKey([]byte(pw), salt, 2, 8192, 1, 32)))
	if _, err := d.rw.Exec(`UPDATE accounts SET password_hash = ? WHERE address = ?`, old, address); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Authenticate(ctx, address, pw); err != nil {
		t.Fatalf("login with old-parameter hash: %v", err)
	}
	var now string
	d.ro.QueryRow(`SELECT password_hash FROM accounts WHERE address = ?`, address).Scan(&now)
	if now == old || !strings.HasPrefix(now, "$argon2id$v=19$m=19456,t=1,p=1$") {
		t.Errorf("hash not upgraded: %q", now)
	}
	if _, err := d.Authenticate(ctx, address, pw); err != nil {
		t.Fatalf("login after upgrade: %v", err)
	}
}

func TestCorruptHashRefused(t *testing.T) {
	d, _ := open(t, Options{})
	defer d.Close()
	ctx := t.Context()
	const address = "maitt.snv@khanhhoa.gov.vn"
	if err := d.PutAccount(ctx, account(address), ""); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"plaintext", "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5", "$argon2i$v=19$m=19456,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5"} {
		d.rw.Exec(`UPDATE accounts SET password_hash = ? WHERE address = ?`, h, address)
		if _, err := d.Authenticate(ctx, address, "plaintext"); !errors.Is(err, mailerr.ErrAuthFailed) {
			t.Errorf("hash %q: %v, want ErrAuthFailed", h, err)
		}
	}
	// No password at all: nobody can log in, not even with an empty one.
	d.rw.Exec(`UPDATE accounts SET password_hash = '' WHERE address = ?`, address)
	if _, err := d.Authenticate(ctx, address, ""); !errors.Is(err, mailerr.ErrAuthFailed) {
		t.Errorf("empty hash: %v", err)
	}
}

// TestAuthTimingUnknownUser checks that an unknown login costs a KDF run like
// a known one (no user enumeration by timing). Loose bounds: CI is noisy.
func TestAuthTimingUnknownUser(t *testing.T) {
	d, _ := open(t, Options{})
	defer d.Close()
	ctx := t.Context()
	if err := d.PutAccount(ctx, account("thanhnn.skhcn@khanhhoa.gov.vn"), "Khanh-Hoa#2025a"); err != nil {
		t.Fatal(err)
	}
	measure := func(login string) time.Duration {
		best := time.Hour
		for range 3 {
			start := time.Now()
			d.Authenticate(ctx, login, "Sai-mat-khau#1")
			best = min(best, time.Since(start))
		}
		return best
	}
	known, unknown := measure("thanhnn.skhcn@khanhhoa.gov.vn"), measure("khongco@khanhhoa.gov.vn")
	if unknown < known/3 {
		t.Errorf("unknown login took %v, known %v: timing oracle", unknown, known)
	}
}

func TestHashSpeed(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("timing under -race or -short is meaningless")
	}
	start := time.Now()
	h, err := hashPassword("Khanh-Hoa#2025a")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := verifyPassword(h, "Khanh-Hoa#2025a"); !ok {
		t.Fatal("verify failed")
	}
	if el := time.Since(start) / 2; el > 100*time.Millisecond {
		t.Errorf("one argon2id run takes %v; the budget is about 50 ms", el)
	}
}
