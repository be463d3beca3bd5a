package sharing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/mattn/go-sqlite3" // the ACL database

	"congvu/directory"
	"congvu/internal/mailerr"
)

// unitsTTL is how long the organisation tree is trusted between reads:
// units change rarely, logins often.
const unitsTTL = 5 * time.Minute

// Box is a unit mailbox one account may open, with that account's rights.
type Box struct {
	Owner  string // the unit mailbox's address (the store user)
	Name   string // its name under the shared namespace: the address's local part
	Unit   directory.Unit
	Rights string
}

// Entry is one line of a mailbox's ACL.
type Entry struct {
	Identifier string
	Rights     string
	// Explicit: set with SETACL rather than derived from the directory.
	Explicit bool
}

// Service answers rights questions. Safe for concurrent use.
type Service struct {
	dir directory.Directory
	db  *sql.DB
	log *slog.Logger

	mu      sync.Mutex
	units   map[string]directory.Unit // by code
	byOwner map[string]directory.Unit // by mailbox address
	readAt  time.Time
	// version grows with every SETACL/DELETEACL, so sessions can tell
	// their cached rights are stale.
	version atomic.Uint64
}

// Open opens (creating) the ACL database at path.
func Open(path string, dir directory.Directory, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_busy_timeout", "10000")
	db, err := sql.Open("sqlite3", "file:"+strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS acl (
		mailbox    TEXT NOT NULL,
		identifier TEXT NOT NULL,
		rights     TEXT NOT NULL,
		changed_by TEXT NOT NULL,
		changed_at INTEGER NOT NULL,
		PRIMARY KEY (mailbox, identifier)
	) WITHOUT ROWID;
	CREATE INDEX IF NOT EXISTS acl_by_identifier ON acl (identifier);`); err != nil {
		db.Close()
		return nil, fmt.Errorf("sharing: %w", err)
	}
	return &Service{dir: dir, db: db, log: log}, nil
}

// Close closes the database.
func (s *Service) Close() error { return s.db.Close() }

// Version changes whenever an ACL does.
func (s *Service) Version() uint64 { return s.version.Load() }

// unitsNow returns the units by code and by mailbox address.
func (s *Service) unitsNow(ctx context.Context) (map[string]directory.Unit, map[string]directory.Unit, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.units != nil && time.Since(s.readAt) < unitsTTL {
		return s.units, s.byOwner, nil
	}
	list, err := s.dir.Units(ctx)
	if err != nil {
		if s.units != nil {
			return s.units, s.byOwner, nil // a directory outage keeps the last view
		}
		return nil, nil, err
	}
	s.units, s.byOwner = map[string]directory.Unit{}, map[string]directory.Unit{}
	for _, u := range list {
		s.units[u.Code] = u
		if u.Address != "" {
			s.byOwner[strings.ToLower(u.Address)] = u
		}
	}
	s.readAt = time.Now()
	return s.units, s.byOwner, nil
}

func parentsOf(units map[string]directory.Unit, u directory.Unit) []string {
	var out []string
	for p := u.ParentCode; p != "" && len(out) < 64; p = units[p].ParentCode {
		out = append(out, p)
	}
	return out
}

// explicit returns the SETACL entry of identifier on owner, if any.
func (s *Service) explicit(ctx context.Context, owner, identifier string) (string, bool, error) {
	var r string
	err := s.db.QueryRowContext(ctx, "SELECT rights FROM acl WHERE mailbox = ? AND identifier = ?", owner, identifier).Scan(&r)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return r, err == nil, err
}

// IsShared reports whether address is a unit's shared mailbox.
func (s *Service) IsShared(ctx context.Context, address string) (bool, error) {
	_, byOwner, err := s.unitsNow(ctx)
	if err != nil {
		return false, err
	}
	_, ok := byOwner[strings.ToLower(address)]
	return ok, nil
}

// Rights returns user's rights on the shared mailbox owner ("" when it is
// no unit mailbox or user has none).
func (s *Service) Rights(ctx context.Context, user *directory.Account, owner string) (string, error) {
	owner = strings.ToLower(owner)
	units, byOwner, err := s.unitsNow(ctx)
	if err != nil {
		return "", err
	}
	unit, ok := byOwner[owner]
	if !ok {
		return "", nil
	}
	if r, ok, err := s.explicit(ctx, owner, strings.ToLower(user.Address)); err != nil || ok {
		return r, err
	}
	return baseRights(user, unit, parentsOf(units, unit)), nil
}

// Boxes lists the unit mailboxes user may see (right l), by name.
func (s *Service) Boxes(ctx context.Context, user *directory.Account) ([]Box, error) {
	units, byOwner, err := s.unitsNow(ctx)
	if err != nil {
		return nil, err
	}
	candidates := map[string]bool{}
	if u, ok := units[user.UnitCode]; ok && u.Address != "" {
		candidates[strings.ToLower(u.Address)] = true
	}
	if user.Role == directory.RoleOperator || user.Role == directory.RoleAdmin {
		// Administrators manage the mailboxes of their units and below.
		for owner, u := range byOwner {
			if user.Role == directory.RoleOperator || baseRights(user, u, parentsOf(units, u)) != "" {
				candidates[owner] = true
			}
		}
	}
	rows, err := s.db.QueryContext(ctx, "SELECT mailbox FROM acl WHERE identifier = ?", strings.ToLower(user.Address))
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			rows.Close()
			return nil, err
		}
		candidates[m] = true
	}
	rows.Close()
	var out []Box
	for owner := range candidates {
		unit, ok := byOwner[owner]
		if !ok || strings.EqualFold(owner, user.Address) {
			continue
		}
		r, err := s.Rights(ctx, user, owner)
		if err != nil {
			return nil, err
		}
		if !strings.Contains(r, "l") {
			continue
		}
		name, _, _ := strings.Cut(owner, "@")
		out = append(out, Box{Owner: owner, Name: name, Unit: unit, Rights: r})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ACL lists who has rights on owner: the directory's (the unit's clerks,
// leaders and administrators) merged with SETACL entries.
func (s *Service) ACL(ctx context.Context, owner string) ([]Entry, error) {
	owner = strings.ToLower(owner)
	units, byOwner, err := s.unitsNow(ctx)
	if err != nil {
		return nil, err
	}
	unit, ok := byOwner[owner]
	if !ok {
		return nil, mailerr.ErrNoSuchFolder
	}
	got := map[string]Entry{}
	accts, err := s.dir.Accounts(ctx, unit.Code)
	if err != nil {
		return nil, err
	}
	parents := parentsOf(units, unit)
	for i := range accts {
		a := &accts[i]
		if a.State != directory.StateActive || strings.EqualFold(a.Address, owner) {
			continue
		}
		if r := baseRights(a, unit, parents); r != "" {
			got[a.Address] = Entry{Identifier: a.Address, Rights: r}
		}
	}
	rows, err := s.db.QueryContext(ctx, "SELECT identifier, rights FROM acl WHERE mailbox = ?", owner)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var e Entry
		if err := rows.Scan(&e.Identifier, &e.Rights); err != nil {
			return nil, err
		}
		e.Explicit = true
		got[e.Identifier] = e
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(got))
	for _, e := range got {
		if e.Rights != "" {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Identifier < out[j].Identifier })
	return out, nil
}

// ErrNotAdmin refuses an ACL change by someone without the a right.
var ErrNotAdmin = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 7, 1}, IMAPCode: "NOPERM",
	Message:   "Only the mailbox's administrators may change its rights",
	MessageVI: "Chỉ quản trị viên của hộp thư mới được thay đổi quyền"}

// ErrUnknownIdentifier refuses rights for an address that is no account.
var ErrUnknownIdentifier = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 1, 1}, IMAPCode: "NONEXISTENT",
	Message:   "No such account to give rights to",
	MessageVI: "Không có tài khoản này để cấp quyền"}

// SetACL gives identifier rights on owner (mod-rights of RFC 4314 §3.1;
// "" with del removes the entry, so the directory's rights apply again).
// actor must hold the a right. It returns the rights before and after.
func (s *Service) SetACL(ctx context.Context, actor *directory.Account, owner, identifier, mod string, del bool) (before, after string, err error) {
	owner, identifier = strings.ToLower(owner), strings.ToLower(identifier)
	ar, err := s.Rights(ctx, actor, owner)
	if err != nil {
		return "", "", err
	}
	if !strings.Contains(ar, "a") {
		return "", "", ErrNotAdmin
	}
	target, err := s.dir.Lookup(ctx, identifier)
	if err != nil || target == nil {
		if mailerr.As(err) != nil && !errors.Is(err, mailerr.ErrUnknownUser) {
			return "", "", err
		}
		return "", "", ErrUnknownIdentifier
	}
	identifier = strings.ToLower(target.Address)
	if before, err = s.Rights(ctx, target, owner); err != nil {
		return "", "", err
	}
	if del {
		_, err = s.db.ExecContext(ctx, "DELETE FROM acl WHERE mailbox = ? AND identifier = ?", owner, identifier)
	} else {
		after = Modify(before, mod)
		_, err = s.db.ExecContext(ctx, `INSERT INTO acl (mailbox, identifier, rights, changed_by, changed_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (mailbox, identifier) DO UPDATE SET rights = excluded.rights,
			changed_by = excluded.changed_by, changed_at = excluded.changed_at`,
			owner, identifier, after, strings.ToLower(actor.Address), time.Now().Unix())
	}
	if err != nil {
		return "", "", err
	}
	s.version.Add(1)
	if del {
		after, err = s.Rights(ctx, target, owner)
	}
	return before, after, err
}

// MaySendAs reports whether account may send as the shared mailbox at
// address: the p right (RFC 4314 "post"), which the unit's clerks hold.
func (s *Service) MaySendAs(ctx context.Context, account *directory.Account, address string) bool {
	r, err := s.Rights(ctx, account, address)
	if err != nil {
		s.log.Warn("sharing: rights unavailable, send-as refused", "account", account.Address, "as", address, "err", err)
		return false
	}
	return strings.Contains(r, "p")
}
