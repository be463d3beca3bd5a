package twofactor

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"congvu/directory"
	"congvu/directory/sqldir"
	"congvu/internal/mailerr"
	"congvu/internal/sealbox"
	"congvu/web/webdb"
)

// RFC 6238 Appendix B, SHA-1 seed "12345678901234567890": the 8-digit
// codes end in the 6 digits hotp gives.
func TestTOTPVectors(t *testing.T) {
	secret := []byte("12345678901234567890")
	for unix, want := range map[int64]string{59: "94287082", 1111111109: "07081804", 1111111111: "14050471",
		1234567890: "89005924", 2000000000: "69279037", 20000000000: "65353130"} {
		if got := hotp(secret, step(time.Unix(unix, 0))); got != want[2:] {
			t.Errorf("T=%d: %s, want %s", unix, got, want[2:])
		}
	}
	now := time.Unix(1111111111, 0)
	code := hotp(secret, step(now.Add(-30*time.Second)))
	if _, ok := matchCode(secret, code, now, 0); !ok {
		t.Error("the previous step's code is refused")
	}
	if _, ok := matchCode(secret, hotp(secret, step(now.Add(-90*time.Second))), now, 0); ok {
		t.Error("a code three steps old is accepted")
	}
	if _, ok := matchCode(secret, code, now, step(now)); ok {
		t.Error("a code at or before the last used step is accepted again")
	}
	if u := URI("Thư công vụ", "anv@khanhhoa.gov.vn", secret); !strings.HasPrefix(u, "otpauth://totp/Th%C6%B0%20c%C3%B4ng%20v%E1%BB%A5:anv@khanhhoa.gov.vn?") ||
		!strings.Contains(u, "secret="+SecretText(secret)) {
		t.Errorf("URI %s", u)
	}
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestStore(t *testing.T) (*Store, *clock) {
	db, err := webdb.Open(filepath.Join(t.TempDir(), "web.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	box, err := sealbox.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(db, box, c.now)
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func TestStoreEnrolRecoveryAppPasswords(t *testing.T) {
	s, clk := newTestStore(t)
	ctx := context.Background()
	const a = "anv.skhcn@khanhhoa.gov.vn"
	if _, err := s.NewAppPassword(ctx, a, "x"); !errors.Is(err, ErrNotEnabled) {
		t.Errorf("app password without TOTP: %v", err)
	}
	secret, err := s.Start(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if on, _ := s.Enabled(ctx, a); on {
		t.Fatal("enabled before the first code")
	}
	if _, err := s.Confirm(ctx, a, "000000"); !errors.Is(err, ErrWrongCode) {
		t.Errorf("confirm with a wrong code: %v", err)
	}
	codes, err := s.Confirm(ctx, a, hotp(secret, step(clk.t)))
	if err != nil || len(codes) != 10 {
		t.Fatalf("confirm: %v %v", codes, err)
	}
	// The code used to confirm cannot sign in; the next step's can, once.
	if ok, _ := s.Verify(ctx, a, hotp(secret, step(clk.t))); ok {
		t.Error("the confirming code signs in")
	}
	clk.t = clk.t.Add(30 * time.Second)
	next := hotp(secret, step(clk.t))
	if ok, _ := s.Verify(ctx, a, next); !ok {
		t.Error("a fresh code is refused")
	}
	if ok, _ := s.Verify(ctx, a, next); ok {
		t.Error("a code replayed")
	}
	// Each recovery code carries 100 random bits (20 base32 letters): only
	// its unsalted hash is kept, which must resist an offline search.
	shape := regexp.MustCompile(`^[a-z2-7]{5}(-[a-z2-7]{5}){3}$`)
	for _, c := range codes {
		if !shape.MatchString(c) {
			t.Errorf("recovery code %q: want four groups of five base32 letters", c)
		}
	}
	// Recovery codes, each once, typed in any case with or without the dash.
	if ok, _ := s.Verify(ctx, a, strings.ToUpper(strings.ReplaceAll(codes[3], "-", ""))); !ok {
		t.Error("a recovery code is refused")
	}
	if ok, _ := s.Verify(ctx, a, codes[3]); ok {
		t.Error("a recovery code worked twice")
	}
	if n, _ := s.RecoveryLeft(ctx, a); n != 9 {
		t.Errorf("%d recovery codes left", n)
	}
	pw, err := s.NewAppPassword(ctx, a, "Thunderbird")
	if err != nil || len(pw) != 19 {
		t.Fatalf("app password %q %v", pw, err)
	}
	if ok, _ := s.CheckAppPassword(ctx, a, strings.ToUpper(pw), "imap"); !ok {
		t.Error("the app password is refused")
	}
	apps, _ := s.AppPasswords(ctx, a)
	if len(apps) != 1 || apps[0].LastProto != "imap" || apps[0].LastUsed.IsZero() {
		t.Errorf("apps: %+v", apps)
	}
	if err := s.RevokeAppPassword(ctx, a, apps[0].ID); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.CheckAppPassword(ctx, a, pw, "imap"); ok {
		t.Error("a revoked app password works")
	}
	if err := s.Disable(ctx, a); err != nil {
		t.Fatal(err)
	}
	if on, _ := s.Enabled(ctx, a); on {
		t.Error("still enabled")
	}
}

func TestProtocolDirectory(t *testing.T) {
	s, clk := newTestStore(t)
	ctx := context.Background()
	dir, err := sqldir.Open(filepath.Join(t.TempDir(), "dir.db"), sqldir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dir.Close() })
	const a, pw = "anv.skhcn@khanhhoa.gov.vn", "MatKhau-Chinh-2026"
	if err := dir.PutAccount(ctx, directory.Account{Address: a, Aliases: []string{"an.nguyen@khanhhoa.gov.vn"}, Role: directory.RoleOfficial, State: directory.StateActive}, pw); err != nil {
		t.Fatal(err)
	}
	pd := ProtocolDirectory{Directory: dir, Store: s, Proto: "imap"}
	if acct, err := pd.Authenticate(ctx, a, pw); err != nil || acct.Address != a {
		t.Fatalf("without two-factor sign-in: %v", err)
	}
	secret, _ := s.Start(ctx, a)
	s.Confirm(ctx, a, hotp(secret, step(clk.t)))
	acct, err := pd.Authenticate(ctx, a, pw)
	if !errors.Is(err, mailerr.ErrAuthFailed) || acct == nil || acct.Address != a {
		t.Errorf("main password with two-factor sign-in on: %v, %v (the account must come back for the failure count)", acct, err)
	}
	app, _ := s.NewAppPassword(ctx, a, "Outlook")
	for _, login := range []string{a, "an.nguyen@khanhhoa.gov.vn", "ANV.SKHCN@khanhhoa.gov.vn"} {
		if acct, err := pd.Authenticate(ctx, login, app); err != nil || acct.Address != a {
			t.Errorf("app password as %s: %v", login, err)
		}
	}
	if _, err := pd.Authenticate(ctx, a, "sai-mat-khau"); !errors.Is(err, mailerr.ErrAuthFailed) {
		t.Errorf("a wrong password: %v", err)
	}
	if err := dir.SetState(ctx, a, directory.StateLocked); err != nil {
		t.Fatal(err)
	}
	if _, err := pd.Authenticate(ctx, a, app); err == nil {
		t.Error("an app password opens a locked account")
	}
}
