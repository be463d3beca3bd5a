package twofactor

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"congvu/internal/mailerr"
	"congvu/internal/sealbox"
	"congvu/web/webdb"
)

// Store keeps the second factors of officials in the web database.
// TOTP secrets must be readable to check codes, so they are sealed
// (internal/sealbox) under the node's seal key; recovery codes and app
// passwords are only compared, so only their hashes are kept.
type Store struct {
	db  *webdb.DB
	box *sealbox.Box
	now func() time.Time
}

// sealPurpose is what TOTP secrets are sealed for.
const sealPurpose = "webdb/totp"

// New returns the store over db, sealing TOTP secrets with box; now is
// the clock (time.Now when nil). Secrets an older congvu stored in clear
// are sealed here, once, so an upgrade keeps everyone's codes working.
func New(db *webdb.DB, box *sealbox.Box, now func() time.Time) (*Store, error) {
	if box == nil {
		return nil, errors.New("twofactor: no seal box for TOTP secrets")
	}
	if now == nil {
		now = time.Now
	}
	s := &Store{db: db, box: box, now: now}
	if err := s.sealPlaintext(context.Background()); err != nil {
		return nil, fmt.Errorf("twofactor: sealing stored TOTP secrets: %w", err)
	}
	return s, nil
}

// sealPlaintext seals, in one transaction, every TOTP secret stored in
// clear (schema 3 before sealing existed).
func (s *Store) sealPlaintext(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, "SELECT address, secret FROM totp")
	if err != nil {
		return err
	}
	plain := map[string][]byte{}
	for rows.Next() {
		var a string
		var v []byte
		if err := rows.Scan(&a, &v); err != nil {
			rows.Close()
			return err
		}
		if !sealbox.IsSealed(v) {
			plain[a] = v
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for a, v := range plain {
		if _, err := tx.ExecContext(ctx, "UPDATE totp SET secret = ? WHERE address = ?", s.box.Seal(sealPurpose, v), a); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil || len(plain) == 0 {
		return err
	}
	// The clear values were overwritten in the database pages (webdb
	// opens with secure_delete); the write-ahead log still holds the
	// pages as they were: copy it back and empty it.
	_, err = s.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}

// Unreadable counts the TOTP secrets that do not open under this node's
// key (a web.db restored without its seal.key); their officials cannot
// sign in with a code until the key is restored.
func (s *Store) Unreadable(ctx context.Context) (int, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT secret FROM totp")
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var v []byte
		if err := rows.Scan(&v); err != nil {
			return 0, err
		}
		if _, err := s.box.Open(sealPurpose, v); err != nil {
			n++
		}
	}
	return n, rows.Err()
}

// secret opens a stored TOTP secret.
func (s *Store) secret(stored []byte) ([]byte, error) {
	v, err := s.box.Open(sealPurpose, stored)
	if err != nil {
		return nil, fmt.Errorf("twofactor: TOTP secret: %w", err)
	}
	return v, nil
}

// Bounds.
const (
	recoveryCodes   = 10
	maxAppPasswords = 20
	maxAppNameRunes = 60
)

// Errors shown on the security page.
var (
	ErrWrongCode = &mailerr.Error{SMTPCode: 535, Enhanced: [3]int{5, 7, 8}, HTTPStatus: 401,
		Message: "Wrong or expired code", MessageVI: "Mã xác thực không đúng hoặc đã hết hạn"}
	ErrNotEnabled = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 7, 0}, HTTPStatus: 409,
		Message: "Two-factor sign-in is not on", MessageVI: "Chưa bật xác thực hai bước"}
	ErrNoEnrolment = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 7, 0}, HTTPStatus: 409,
		Message: "Start the set-up again", MessageVI: "Hãy bắt đầu cài đặt lại"}
	errTooManyApps = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 7, 0}, HTTPStatus: 409,
		Message: "Too many app passwords; revoke one first", MessageVI: "Đã có quá nhiều mật khẩu ứng dụng; hãy thu hồi bớt"}
)

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// normalize makes typed codes and app passwords comparable: no spaces or
// dashes, lower case.
func normalize(s string) string {
	return strings.ToLower(strings.NewReplacer(" ", "", "-", "", "\t", "").Replace(s))
}

// Enabled tells whether address signs in with a second factor.
func (s *Store) Enabled(ctx context.Context, address string) (bool, error) {
	var on int
	err := s.db.QueryRowContext(ctx, "SELECT enabled FROM totp WHERE address = ?", address).Scan(&on)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return on == 1, err
}

// Start begins an enrolment: a new secret, not in force until Confirm.
// An official who has it on already must Disable first.
func (s *Store) Start(ctx context.Context, address string) ([]byte, error) {
	if on, err := s.Enabled(ctx, address); err != nil || on {
		if on {
			err = mailerr.ErrCannotDo.WithMessage("Two-factor sign-in is already on", "Xác thực hai bước đã được bật")
		}
		return nil, err
	}
	secret := make([]byte, secretBytes)
	rand.Read(secret)
	_, err := s.db.ExecContext(ctx, "INSERT INTO totp (address, secret, enabled, last_step) VALUES (?, ?, 0, 0) ON CONFLICT (address) DO UPDATE SET secret = excluded.secret, enabled = 0, last_step = 0",
		address, s.box.Seal(sealPurpose, secret))
	return secret, err
}

// Pending is the secret of an enrolment not yet confirmed.
func (s *Store) Pending(ctx context.Context, address string) ([]byte, error) {
	var secret []byte
	var on int
	err := s.db.QueryRowContext(ctx, "SELECT secret, enabled FROM totp WHERE address = ?", address).Scan(&secret, &on)
	if errors.Is(err, sql.ErrNoRows) || err == nil && on == 1 {
		return nil, ErrNoEnrolment
	}
	if err != nil {
		return nil, err
	}
	return s.secret(secret)
}

// Confirm turns two-factor sign-in on with the first code from the app,
// and returns the recovery codes (shown once).
func (s *Store) Confirm(ctx context.Context, address, code string) ([]string, error) {
	secret, err := s.Pending(ctx, address)
	if err != nil {
		return nil, err
	}
	st, ok := matchCode(secret, code, s.now(), 0)
	if !ok {
		return nil, ErrWrongCode
	}
	if _, err := s.db.ExecContext(ctx, "UPDATE totp SET enabled = 1, last_step = ? WHERE address = ?", st, address); err != nil {
		return nil, err
	}
	return s.NewRecoveryCodes(ctx, address)
}

// Verify checks a sign-in code: a TOTP code (each used once) or an unused
// recovery code (then used up).
func (s *Store) Verify(ctx context.Context, address, code string) (bool, error) {
	var secret []byte
	var on int
	var last int64
	err := s.db.QueryRowContext(ctx, "SELECT secret, enabled, last_step FROM totp WHERE address = ?", address).Scan(&secret, &on, &last)
	if errors.Is(err, sql.ErrNoRows) || err == nil && on != 1 {
		return false, ErrNotEnabled
	}
	if err != nil {
		return false, err
	}
	// A secret that does not open (seal.key not restored) leaves the
	// recovery codes, which are hashes, still usable.
	secret, openErr := s.secret(secret)
	if st, ok := matchCode(secret, code, s.now(), uint64(last)); openErr == nil && ok {
		// The step only moves forward: a code seen twice is refused.
		res, err := s.db.ExecContext(ctx, "UPDATE totp SET last_step = ? WHERE address = ? AND last_step < ?", st, address, st)
		if err != nil {
			return false, err
		}
		n, err := res.RowsAffected()
		return n == 1, err
	}
	res, err := s.db.ExecContext(ctx, "UPDATE recovery_codes SET used = 1 WHERE address = ? AND hash = ? AND used = 0", address, hash(normalize(code)))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 && openErr != nil {
		err = openErr
	}
	return n == 1, err
}

// NewRecoveryCodes replaces the recovery codes.
func (s *Store) NewRecoveryCodes(ctx context.Context, address string) ([]string, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "DELETE FROM recovery_codes WHERE address = ?", address); err != nil {
		return nil, err
	}
	var out []string
	for range recoveryCodes {
		// 100 bits: only a hash is kept, and a stolen web.db must not
		// give the codes back to an offline search (50 bits would fall
		// to a GPU in a day). Typed once in a long while, in groups of 5.
		c := strings.ToLower(rand.Text()[:20])
		c = c[:5] + "-" + c[5:10] + "-" + c[10:15] + "-" + c[15:]
		if _, err := tx.ExecContext(ctx, "INSERT INTO recovery_codes (address, hash, used) VALUES (?, ?, 0)", address, hash(normalize(c))); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, tx.Commit()
}

// RecoveryLeft counts the unused recovery codes.
func (s *Store) RecoveryLeft(ctx context.Context, address string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM recovery_codes WHERE address = ? AND used = 0", address).Scan(&n)
	return n, err
}

// Disable turns two-factor sign-in off; recovery codes and app passwords
// go with it (the main password works everywhere again).
func (s *Store) Disable(ctx context.Context, address string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range []string{"DELETE FROM totp WHERE address = ?", "DELETE FROM recovery_codes WHERE address = ?", "DELETE FROM app_passwords WHERE address = ?"} {
		if _, err := tx.ExecContext(ctx, q, address); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// AppPassword is one app password as the security page lists it.
type AppPassword struct {
	ID        int64
	Name      string
	Created   time.Time
	LastUsed  time.Time // zero: never
	LastProto string
}

// AppPasswords lists an official's app passwords, newest first.
func (s *Store) AppPasswords(ctx context.Context, address string) ([]AppPassword, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, name, created, last_used, last_proto FROM app_passwords WHERE address = ? ORDER BY id DESC", address)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AppPassword
	for rows.Next() {
		var a AppPassword
		var created, used int64
		if err := rows.Scan(&a.ID, &a.Name, &created, &used, &a.LastProto); err != nil {
			return nil, err
		}
		a.Created = time.UnixMilli(created)
		if used > 0 {
			a.LastUsed = time.UnixMilli(used)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// NewAppPassword makes an app password (shown once): 16 letters in four
// groups, 80 random bits, for one mail app.
func (s *Store) NewAppPassword(ctx context.Context, address, name string) (string, error) {
	if on, err := s.Enabled(ctx, address); err != nil || !on {
		if err == nil {
			err = ErrNotEnabled
		}
		return "", err
	}
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM app_passwords WHERE address = ?", address).Scan(&n); err != nil {
		return "", err
	}
	if n >= maxAppPasswords {
		return "", errTooManyApps
	}
	name = strings.TrimSpace(name)
	if r := []rune(name); len(r) > maxAppNameRunes {
		name = string(r[:maxAppNameRunes])
	}
	if name == "" {
		name = "Ứng dụng thư"
	}
	raw := strings.ToLower(rand.Text()[:16])
	pw := raw[:4] + "-" + raw[4:8] + "-" + raw[8:12] + "-" + raw[12:]
	_, err := s.db.ExecContext(ctx, "INSERT INTO app_passwords (address, name, hash, created, last_used, last_proto) VALUES (?, ?, ?, ?, 0, '')",
		address, name, hash(normalize(pw)), s.now().UnixMilli())
	return pw, err
}

// RevokeAppPassword deletes one of an official's app passwords.
func (s *Store) RevokeAppPassword(ctx context.Context, address string, id int64) error {
	res, err := s.db.ExecContext(ctx, "DELETE FROM app_passwords WHERE address = ? AND id = ?", address, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return mailerr.ErrCannotDo.WithMessage("No such app password", "Không có mật khẩu ứng dụng này")
	}
	return nil
}

// CheckAppPassword tells whether pw is one of address's app passwords,
// and notes its use by proto.
func (s *Store) CheckAppPassword(ctx context.Context, address, pw, proto string) (bool, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, "SELECT id FROM app_passwords WHERE address = ? AND hash = ?", address, hash(normalize(pw))).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, err = s.db.ExecContext(ctx, "UPDATE app_passwords SET last_used = ?, last_proto = ? WHERE id = ?", s.now().UnixMilli(), proto, id)
	return true, err
}
