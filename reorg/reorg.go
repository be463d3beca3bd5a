// Package reorg carries out the reorganisations of the 2025 mergers and of
// everyday administration: an official transferred to another unit, units
// merged, renamed or moved, a province's old domain kept as an alias. Each
// operation keeps the mailbox, the password and the history: an address
// that changes under the naming convention (directory/addr) is renamed in
// the directory and in every per-account store (mail, rules, address book,
// web settings, policy), the old address stays an alias for
// Config.TransitionalMonths (removed afterwards by ExpireTransitional), the
// membership and the unit's earlier version are recorded for reports of
// past periods (orgdb.AsOf), and the change is audited with before and
// after.
//
// Renaming mailboxes needs the mail store, which only the running server
// may touch; admin commands hand the operations to it as jobs (jobs.go).
package reorg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"congvu/directory"
	"congvu/directory/addr"
	"congvu/directory/orgdb"
	"congvu/internal/mailerr"
	"congvu/policy"
)

// MailboxRenamer is the mail store's side (storage.FileStore).
type MailboxRenamer interface {
	RenameUser(ctx context.Context, oldUser, newUser string, update func() error) error
}

// AddressStore is any other store keyed by an account's primary address
// (Sieve scripts, CardDAV personal books, web settings, the policy
// database), moved after the directory.
type AddressStore interface {
	RenameAddress(ctx context.Context, old, new string) error
}

// Auditor writes audit entries at once.
type Auditor interface {
	AppendAudit(ctx context.Context, entries ...policy.AuditEntry) error
}

// SessionEnder ends the open IMAP/POP3 sessions of an account (the policy
// engine); nil when no server runs in this process.
type SessionEnder interface {
	EndSessions(address string, reason *mailerr.Error) int
}

// AliasKeys makes DKIM keys for an alias domain like those of the domain
// it delivers to (so that mail written from an old-domain identity is
// signed for its domain) and returns the DNS records to publish; nil
// makes none.
type AliasKeys interface {
	AliasKeys(ctx context.Context, old, new string) (zoneLines []string, err error)
}

// Deps are what the operations use.
type Deps struct {
	Dir      directory.Writer
	Org      *orgdb.DB
	Mail     MailboxRenamer
	Stores   []AddressStore
	Audit    Auditor
	Sessions SessionEnder
	Keys     AliasKeys
	Log      *slog.Logger
	Now      func() time.Time
}

// Config tunes the operations.
type Config struct {
	// TransitionalMonths is how long an old address keeps delivering
	// after it changed (default 12).
	TransitionalMonths int
}

// Service runs reorganisations.
type Service struct {
	deps Deps
	cfg  Config
}

// New returns a Service.
func New(cfg Config, deps Deps) *Service {
	if cfg.TransitionalMonths <= 0 {
		cfg.TransitionalMonths = 12
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Service{deps: deps, cfg: cfg}
}

// Change is one account whose address or unit changed.
type Change struct {
	OldAddress, NewAddress string
	OldUnit, NewUnit       string
}

// Result says what an operation did.
type Result struct {
	Changes []Change
	Notes   []string // Vietnamese / English lines for the operator
	// Plan is a preview's plan digest (Args.Plan to run exactly it).
	Plan string
}

// String is the result as lines for a command's output.
func (r *Result) String() string {
	var b strings.Builder
	for _, c := range r.Changes {
		switch {
		case c.NewUnit == "":
			fmt.Fprintf(&b, "%s: đóng tài khoản / retired (đơn vị/unit %s)\n", c.OldAddress, c.OldUnit)
		case c.OldAddress != c.NewAddress && c.OldUnit != c.NewUnit:
			fmt.Fprintf(&b, "%s → %s (đơn vị/unit %s → %s)\n", c.OldAddress, c.NewAddress, c.OldUnit, c.NewUnit)
		case c.OldAddress != c.NewAddress:
			fmt.Fprintf(&b, "%s → %s\n", c.OldAddress, c.NewAddress)
		default:
			fmt.Fprintf(&b, "%s: đơn vị/unit %s → %s\n", c.OldAddress, c.OldUnit, c.NewUnit)
		}
	}
	for _, n := range r.Notes {
		b.WriteString(n + "\n")
	}
	return b.String()
}

// ErrReorg refuses an operation that makes no sense (unknown or same unit,
// a cycle, an account of a directory congvu does not write).
var ErrReorg = directory.ErrInvalid.WithMessage("Reorganisation refused", "Không thực hiện được thay đổi tổ chức")

// tree reads the current organisation tree.
func (s *Service) tree(ctx context.Context) (*directory.Tree, error) {
	units, err := s.deps.Dir.Units(ctx)
	if err != nil {
		return nil, err
	}
	return directory.NewTree(units), nil
}

// audit writes one entry of an administrator's action.
func (s *Service) audit(ctx context.Context, actor, subject, action, detail string) {
	if s.deps.Audit == nil {
		return
	}
	origin := policy.OriginOf(ctx)
	err := s.deps.Audit.AppendAudit(ctx, policy.AuditEntry{At: s.deps.Now(), Actor: actor, Subject: subject,
		Action: action, Rule: policy.RuleAdmin, Protocol: origin.Protocol, IP: origin.IP, Detail: detail})
	if err != nil {
		s.deps.Log.Error("reorg: audit write failed", "subject", subject, "action", action, "err", err)
	}
}

// taken reports whether local@domain is held by an account other than
// self (or by a unit mailbox).
func (s *Service) taken(ctx context.Context, self, domain string, planned map[string]bool) func(local string) bool {
	return func(local string) bool {
		if slicesContains(reservedLocals, local) || planned[local+"@"+domain] {
			return true
		}
		a, err := s.deps.Dir.Lookup(ctx, local+"@"+domain)
		if errors.Is(err, mailerr.ErrUnknownUser) {
			return false
		}
		return err != nil || a.Address != self
	}
}

// reservedLocals are never given to a person or unit (RFC 2142, the
// operator's mailbox), as in the importer.
var reservedLocals = []string{"postmaster", "abuse", "hostmaster", "webmaster", "quantri"}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// conventionalAddress is the address account a gets in unit code under
// the naming convention, keeping its domain; a unit mailbox gets its
// unit's abbreviation (a division's: <sub>.<agency>). It is a's current
// address when that already fits.
//
// planned are addresses a preview has already given (nil when the
// operation writes as it goes).
func (s *Service) conventionalAddress(ctx context.Context, t *directory.Tree, a directory.Account, code string, planned map[string]bool) string {
	domain := directory.Domain(a.Address)
	unit := t.Units[code]
	agency := t.Agency(code)
	if a.Role == directory.RoleUnit {
		if unit.Abbr == "" {
			return a.Address
		}
		local := unit.Abbr
		if unit.Kind == directory.UnitDivision && agency.Code != unit.Code {
			local = addr.SubUnit(unit.Abbr, agency.Abbr)
		}
		if local == localPart(a.Address) {
			return a.Address
		}
		return addr.Allocate(local, "", s.taken(ctx, a.Address, domain, planned)) + "@" + domain
	}
	if agency.Abbr == "" || a.DisplayName == "" || a.Role == directory.RoleOperator {
		return a.Address
	}
	// Keep the current address when it already has the agency's form
	// (thanhnn.skhcn, or its variant thanhnn2.skhcn).
	part := addr.PersonPart(a.DisplayName)
	if l := localPart(a.Address); strings.HasSuffix(l, "."+agency.Abbr) &&
		strings.HasPrefix(l, part) && strings.Trim(strings.TrimSuffix(l, "."+agency.Abbr)[len(part):], "0123456789") == "" {
		return a.Address
	}
	return addr.Allocate(part, agency.Abbr, s.taken(ctx, a.Address, domain, planned)) + "@" + domain
}

func localPart(address string) string {
	local, _, _ := strings.Cut(address, "@")
	return local
}
