// Package provision carries the provisioning requests of the rules
// (REQUIREMENTS: "request → account within 3 working days"): a unit
// administrator files a request — new accounts (from a form or an
// import file), a change of an account (name, title, phone; a transfer
// to another unit) or a lock on leaving — and a provincial operator
// approves or rejects it with a reason before the due date, counted in
// Vietnamese working days (Calendar). An approved request is carried out
// by the very code the commands use: directory/importer for new accounts
// (`congvu directory import`), package reorg for a transfer (`congvu
// account move`), the policy engine's audited state change for a lock
// (`congvu account lock`). Every step is audited with its actor and IP.
//
// The initial passwords of approved accounts are kept until they are
// fetched once (a download in the web, or a mode-0600 file from the
// command line), then forgotten; the accounts must change them at first
// login anyway. While they wait they are sealed (internal/sealbox) under
// the node's seal key: org.db never holds them in clear.
package provision

import (
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"congvu/directory"
	"congvu/directory/importer"
	"congvu/directory/orgdb"
	"congvu/internal/sealbox"
	"congvu/policy"
	"congvu/reorg"
)

// Request kinds.
const (
	KindNew      = "new"      // new accounts
	KindEdit     = "edit"     // name, title or phone of an account
	KindTransfer = "transfer" // an account to another unit (reorg.MoveAccount)
	KindLock     = "lock"     // lock an account at once (left, transferred…)
)

// Password deliveries the unit chooses for new accounts.
const (
	DeliverDownload = "download" // a file downloaded once from the admin web
	DeliverFile     = "file"     // a mode-0600 file written by `congvu request approve|passwords`
)

// Limits on what a request carries.
const (
	MaxRows      = 500
	maxNoteRunes = 1000
)

// Payload is what a request asks for.
type Payload struct {
	// Rows are the new officials (KindNew), as an import file gives them.
	Rows []importer.Row `json:"rows,omitempty"`
	// Address is the account of KindEdit, KindTransfer and KindLock.
	Address string `json:"address,omitempty"`
	// FullName, Title and Phone are the new values of KindEdit ("" keeps).
	FullName string `json:"full_name,omitempty"`
	Title    string `json:"title,omitempty"`
	Phone    string `json:"phone,omitempty"`
	// Unit is the unit of KindTransfer.
	Unit string `json:"unit,omitempty"`
	// Reason is the lock reason of KindLock.
	Reason string `json:"reason,omitempty"`
}

// Request is a request with its payload decoded.
type Request struct {
	orgdb.Request
	Body Payload
}

// Overdue tells whether the request is still waiting past its due date.
func (r Request) Overdue(now time.Time) bool {
	return r.State == orgdb.RequestPending && !now.Before(r.Due)
}

// Actor is who files or decides, and from where.
type Actor struct {
	Address  string // the administrator, or "cli:<user>"
	IP       string
	Protocol policy.Protocol // policy.Web, or "" on the command line
	// Operator may decide requests; unit administrators only file them.
	Operator bool
}

// Auditor writes audit entries (policy.DB).
type Auditor interface {
	AppendAudit(ctx context.Context, entries ...policy.AuditEntry) error
}

// StateChanger is the audited lock of `congvu account lock` and the admin
// web (policy.SetAccountState behind an adapter, or the engine).
type StateChanger interface {
	SetAccountState(ctx context.Context, actor, address string, s directory.State, reason string) error
}

// Reorganiser runs a reorganisation as `congvu account move` does
// (reorg.Service in the server; the job hand-over on the command line).
type Reorganiser interface {
	Run(ctx context.Context, kind, actor string, a reorg.Args) (*reorg.Result, error)
}

// Deps are what the service uses.
type Deps struct {
	Dir    directory.Writer
	Org    *orgdb.DB
	Audit  Auditor
	States StateChanger
	Reorg  Reorganiser // nil: transfers are refused at approval
	// Seal seals the initial passwords kept until fetched (the node's
	// seal box, server.OpenSealBox). nil: a key of this process alone,
	// so passwords not fetched before it exits cannot be opened (tests).
	Seal *sealbox.Box
	Log  *slog.Logger
	Now  func() time.Time
}

// Config tunes the service.
type Config struct {
	// WorkingDays is the time allowed to carry a request out (3).
	WorkingDays int
	// Calendar counts them.
	Calendar *Calendar
	// Domains are the local domains; new accounts get their unit
	// mailbox's domain when it is one of them, else the first.
	Domains []string
}

// Service files, lists and decides requests.
type Service struct {
	cfg  Config
	deps Deps
}

// New returns a Service.
func New(cfg Config, deps Deps) *Service {
	if cfg.WorkingDays <= 0 {
		cfg.WorkingDays = 3
	}
	if cfg.Calendar == nil {
		cfg.Calendar, _ = NewCalendar(DefaultHolidays)
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Seal == nil {
		key := make([]byte, 32)
		rand.Read(key)
		deps.Seal, _ = sealbox.New(key)
	}
	return &Service{cfg: cfg, deps: deps}
}

// Calendar is the service's working-day calendar.
func (s *Service) Calendar() *Calendar { return s.cfg.Calendar }

// ErrInvalid refuses a request that cannot be filed or decided as given;
// its Vietnamese text is shown to the administrator.
var ErrInvalid = directory.ErrInvalid

func invalid(vi, en string) error { return ErrInvalid.WithMessage(en, vi) }

// Draft is a request being filed.
type Draft struct {
	Kind     string
	UnitCode string
	Body     Payload
	Note     string
	Delivery string
}

// domainFor is the mail domain of new accounts of unit u.
func (s *Service) domainFor(u directory.Unit) string {
	if d := directory.Domain(u.Address); d != "" && slices.Contains(s.cfg.Domains, d) {
		return d
	}
	if len(s.cfg.Domains) > 0 {
		return s.cfg.Domains[0]
	}
	return directory.Domain(u.Address)
}

// Preview is what approving new-account rows would do now: the addresses
// the convention gives (Created), collisions with taken addresses and
// skipped rows. Nothing is written.
func (s *Service) Preview(ctx context.Context, unitCode string, rows []importer.Row) (*importer.Report, error) {
	units, err := s.deps.Dir.Units(ctx)
	if err != nil {
		return nil, err
	}
	t := directory.NewTree(units)
	u, ok := t.Units[unitCode]
	if !ok {
		return nil, invalid("Không có đơn vị này trong danh bạ.", "No such unit.")
	}
	rep, err := importer.Import(ctx, s.deps.Dir, rows, importer.Options{Domain: s.domainFor(u), NewPeople: true, DryRun: true})
	if rep != nil {
		for i := range rep.Created {
			rep.Created[i].Password = "" // a preview never shows one
		}
	}
	return rep, err
}

// File checks and records a request; inScope tells which units the filer
// manages (nil: all). It returns the request's id.
func (s *Service) File(ctx context.Context, by Actor, d Draft, inScope func(unit string) bool) (int64, error) {
	if inScope == nil {
		inScope = func(string) bool { return true }
	}
	units, err := s.deps.Dir.Units(ctx)
	if err != nil {
		return 0, err
	}
	t := directory.NewTree(units)
	u, ok := t.Units[d.UnitCode]
	switch {
	case !ok:
		return 0, invalid("Không có đơn vị này trong danh bạ.", "No such unit.")
	case !inScope(d.UnitCode):
		return 0, invalid("Đơn vị này không thuộc phạm vi bạn quản lý.", "This unit is not one you manage.")
	case utf8.RuneCountInString(d.Note) > maxNoteRunes:
		return 0, invalid("Ghi chú quá dài (tối đa 1000 ký tự).", "The note is too long.")
	}
	d.Note = strings.TrimSpace(d.Note)
	if d.Delivery == "" {
		d.Delivery = DeliverDownload
	}
	if d.Delivery != DeliverDownload && d.Delivery != DeliverFile {
		return 0, invalid("Cách nhận mật khẩu ban đầu không hợp lệ.", "Unknown password delivery.")
	}
	b := d.Body
	switch d.Kind {
	case KindNew:
		if len(b.Rows) == 0 || len(b.Rows) > MaxRows {
			return 0, invalid(fmt.Sprintf("Đề nghị cần từ 1 đến %d người.", MaxRows), "A request needs 1 to 500 people.")
		}
		rep, err := s.Preview(ctx, d.UnitCode, b.Rows)
		if err != nil {
			return 0, err
		}
		if len(rep.Skipped) > 0 {
			sk := rep.Skipped[0]
			return 0, invalid(fmt.Sprintf("Dòng %d: %s", sk.Line, sk.Reason), "A row cannot be imported.")
		}
		for _, e := range rep.Created {
			if !inScope(e.UnitCode) || !t.SubtreeSet(d.UnitCode)[e.UnitCode] {
				return 0, invalid(fmt.Sprintf("Dòng %d: đơn vị %s không thuộc đơn vị của đề nghị.", e.Line, e.UnitCode),
					"A row names a unit outside the request's unit.")
			}
		}
	case KindEdit, KindTransfer, KindLock:
		b.Rows = nil
		a, err := s.deps.Dir.Lookup(ctx, directory.NormalizeAddress(b.Address))
		if err != nil {
			return 0, invalid("Không có tài khoản "+b.Address+".", "No such account.")
		}
		b.Address = a.Address
		if !inScope(a.UnitCode) || !t.SubtreeSet(d.UnitCode)[a.UnitCode] {
			return 0, invalid("Tài khoản này không thuộc đơn vị bạn quản lý.", "This account is not in a unit you manage.")
		}
		if a.Role == directory.RoleUnit || a.Role == directory.RoleOperator {
			return 0, invalid("Không đề nghị được cho hộp thư đơn vị hoặc tài khoản quản trị hệ thống.", "Not for a unit mailbox or an operator.")
		}
		switch d.Kind {
		case KindEdit:
			b.FullName, b.Title, b.Phone = collapse(b.FullName), collapse(b.Title), collapse(b.Phone)
			if b.FullName == "" && b.Title == "" && b.Phone == "" {
				return 0, invalid("Hãy ghi ít nhất một thông tin cần sửa.", "Give at least one change.")
			}
			if utf8.RuneCountInString(b.FullName) > 120 || utf8.RuneCountInString(b.Title) > 200 || len(b.Phone) > 40 {
				return 0, invalid("Họ tên, chức vụ hoặc số điện thoại quá dài.", "Name, title or phone is too long.")
			}
		case KindTransfer:
			if _, ok := t.Units[b.Unit]; !ok || b.Unit == a.UnitCode {
				return 0, invalid("Đơn vị chuyển đến không có hoặc trùng đơn vị hiện tại.", "Unknown or same target unit.")
			}
		case KindLock:
			b.Reason = collapse(b.Reason)
			if b.Reason == "" || utf8.RuneCountInString(b.Reason) > 300 {
				return 0, invalid("Hãy ghi lý do khoá (tối đa 300 ký tự).", "Give the lock reason (300 characters at most).")
			}
			if a.State != directory.StateActive {
				return 0, invalid("Tài khoản này không còn hoạt động.", "The account is not active.")
			}
		}
	default:
		return 0, invalid("Loại đề nghị không hợp lệ.", "Unknown request kind.")
	}
	payload, err := json.Marshal(b)
	if err != nil {
		return 0, err
	}
	now := s.deps.Now()
	row := orgdb.Request{Kind: d.Kind, UnitCode: u.Code, Payload: payload, Note: d.Note, Delivery: d.Delivery,
		FiledBy: by.Address, FiledIP: by.IP, Filed: now, Due: s.cfg.Calendar.Due(now, s.cfg.WorkingDays)}
	id, err := s.deps.Org.FileRequest(ctx, row)
	if err != nil {
		return 0, err
	}
	s.audit(ctx, by, Subject(id), policy.ActionRequest, fmt.Sprintf("%s, %s (%s): %s; hạn/due %s", d.Kind, u.Name, u.Code,
		describe(d.Kind, b), row.Due.Add(-time.Second).In(vietnam).Format(time.DateOnly)))
	s.deps.Log.Info("provision: request filed", "id", id, "kind", d.Kind, "unit", u.Code, "actor", by.Address)
	return id, nil
}

// Subject is how the audit log names request id.
func Subject(id int64) string { return fmt.Sprintf("request#%d", id) }

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// describe is a request's content in one line (no password).
func describe(kind string, b Payload) string {
	switch kind {
	case KindNew:
		names := make([]string, 0, len(b.Rows))
		for _, r := range b.Rows {
			names = append(names, r.FullName)
		}
		return fmt.Sprintf("%d tài khoản mới/new accounts: %s", len(b.Rows), strings.Join(names, ", "))
	case KindEdit:
		return fmt.Sprintf("sửa/edit %s: họ tên/name %q, chức vụ/title %q, điện thoại/phone %q", b.Address, b.FullName, b.Title, b.Phone)
	case KindTransfer:
		return fmt.Sprintf("chuyển/transfer %s → %s", b.Address, b.Unit)
	case KindLock:
		return fmt.Sprintf("khoá/lock %s: %s", b.Address, b.Reason)
	}
	return kind
}

// Describe is the request's content in one line.
func (r Request) Describe() string { return describe(r.Kind, r.Body) }

// Get returns one request.
func (s *Service) Get(ctx context.Context, id int64) (*Request, error) {
	row, err := s.deps.Org.GetRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	return decode(*row)
}

func decode(row orgdb.Request) (*Request, error) {
	r := &Request{Request: row}
	if err := json.Unmarshal(row.Payload, &r.Body); err != nil {
		return nil, fmt.Errorf("provision: request %d: %w", row.ID, err)
	}
	return r, nil
}

// List returns requests (see orgdb.Requests for the order).
func (s *Service) List(ctx context.Context, q orgdb.RequestQuery) ([]Request, error) {
	rows, err := s.deps.Org.Requests(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]Request, 0, len(rows))
	for _, row := range rows {
		r, err := decode(row)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, nil
}

// Overdue returns the pending requests past their due date, of units
// (nil: all).
func (s *Service) Overdue(ctx context.Context, units []string) ([]Request, error) {
	all, err := s.List(ctx, orgdb.RequestQuery{States: []string{orgdb.RequestPending}, Units: units})
	if err != nil {
		return nil, err
	}
	now := s.deps.Now()
	var out []Request
	for _, r := range all {
		if r.Overdue(now) {
			out = append(out, r)
		}
	}
	return out, nil
}

// audit writes one entry; a failure is logged (the action is done).
func (s *Service) audit(ctx context.Context, by Actor, subject, action, detail string) {
	if s.deps.Audit == nil {
		return
	}
	proto := by.Protocol
	err := s.deps.Audit.AppendAudit(context.WithoutCancel(ctx), policy.AuditEntry{At: s.deps.Now(), Actor: by.Address, Subject: subject,
		Action: action, Rule: policy.RuleAdmin, Protocol: proto, IP: by.IP, Detail: detail})
	if err != nil {
		s.deps.Log.Error("provision: audit write failed", "subject", subject, "action", action, "err", err)
	}
}

// credentialsCSV is the initial-password file: address,password,role
// as `congvu directory import --passwords-out` writes it.
func credentialsCSV(entries []importer.Entry) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write([]string{"address", "password", "role", "full_name"})
	for _, e := range entries {
		w.Write([]string{e.Address, e.Password, string(e.Role), e.FullName})
	}
	w.Flush()
	return b.String()
}

// OverdueLines are the overdue requests of units (nil: all) as lines for
// the daily digest.
func (s *Service) OverdueLines(ctx context.Context, units []string) ([]string, error) {
	if units != nil && len(units) == 0 {
		return nil, nil
	}
	od, err := s.Overdue(ctx, units)
	if err != nil {
		return nil, err
	}
	lines := make([]string, 0, len(od))
	for _, r := range od {
		lines = append(lines, fmt.Sprintf("#%d %s, đơn vị/unit %s, gửi/filed %s bởi/by %s, hạn/due %s: %s", r.ID, r.Kind, r.UnitCode,
			r.Filed.In(vietnam).Format("02/01/2006"), r.FiledBy, r.Due.Add(-time.Second).In(vietnam).Format("02/01/2006"), oneLine(r.Describe())))
	}
	return lines, nil
}
