package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"congvu/directory"
	"congvu/directory/importer"
	"congvu/directory/orgdb"
	"congvu/internal/mailerr"
	"congvu/internal/sealbox"
	"congvu/policy"
	"congvu/reorg"
)

// ErrNotOperator refuses a decision by a unit administrator.
var ErrNotOperator = directory.ErrInvalid.WithMessage("Only a provincial operator decides requests",
	"Chỉ quản trị hệ thống cấp tỉnh mới duyệt hoặc từ chối đề nghị.")

// Outcome is what approving did.
type Outcome struct {
	Request *Request
	// Created are the new accounts (KindNew), with their initial
	// passwords; the same passwords wait in the request until fetched.
	Created []importer.Entry
	Result  string
}

// Approve carries out request id on behalf of by (an operator). Only one
// decision of a request wins; a request whose execution fails is marked
// failed with the reason, and nothing it did is undone (importer and
// reorg are idempotent: file a new request).
func (s *Service) Approve(ctx context.Context, by Actor, id int64) (*Outcome, error) {
	if !by.Operator {
		return nil, ErrNotOperator
	}
	r, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.deps.Org.DecideRequest(ctx, id, orgdb.RequestExecuting, by.Address, by.IP, "", s.deps.Now()); err != nil {
		return nil, err
	}
	s.audit(ctx, by, Subject(id), policy.ActionApprove, r.Describe())
	// From here the request is ours: finish it whatever the caller's
	// context does.
	ctx = policy.WithAuditOrigin(context.WithoutCancel(ctx), policy.AuditOrigin{IP: by.IP, Protocol: by.Protocol})
	out := &Outcome{Request: r}
	result, passwords, execErr := s.execute(ctx, by, r, out)
	state := orgdb.RequestApproved
	if execErr != nil {
		state = orgdb.RequestFailed
		result = strings.TrimSpace(result + "\n" + explain(execErr))
		s.deps.Log.Warn("provision: approved request failed", "id", id, "err", execErr)
	}
	out.Result = result
	if passwords != "" {
		passwords = s.deps.Seal.SealString(passwordsPurpose(id), passwords)
	}
	if err := s.deps.Org.FinishRequest(ctx, id, state, result, passwords); err != nil {
		return out, err
	}
	s.audit(ctx, by, Subject(id), "request-executed", fmt.Sprintf("%s: %s", state, oneLine(result)))
	r.State, r.Result, r.DecidedBy = state, result, by.Address
	return out, execErr
}

// execute carries out r; it returns what was done and, for new accounts,
// the password file to keep until fetched.
func (s *Service) execute(ctx context.Context, by Actor, r *Request, out *Outcome) (string, string, error) {
	b := r.Body
	tag := fmt.Sprintf("đề nghị/request #%d", r.ID)
	switch r.Kind {
	case KindNew:
		units, err := s.deps.Dir.Units(ctx)
		if err != nil {
			return "", "", err
		}
		u, ok := directory.NewTree(units).Units[r.UnitCode]
		if !ok {
			return "", "", invalid("Đơn vị của đề nghị không còn trong danh bạ.", "The request's unit is gone.")
		}
		opts := importer.Options{Domain: s.domainFor(u), NewPeople: true}
		rep, err := importer.Import(ctx, s.deps.Dir, b.Rows, opts)
		if rep == nil {
			return "", "", err
		}
		for _, k := range rep.Keys {
			if kerr := s.deps.Org.SetPersonKey(ctx, k.Key, k.Address); kerr != nil && err == nil {
				err = kerr
			}
		}
		var lines []string
		for _, e := range rep.Created {
			s.audit(ctx, by, e.Address, policy.ActionCreate, fmt.Sprintf("%s: %s, %s, %s", tag, e.FullName, e.UnitCode, e.Role))
			lines = append(lines, fmt.Sprintf("%s <%s> (%s)", e.FullName, e.Address, e.UnitCode))
		}
		for _, sk := range rep.Skipped {
			lines = append(lines, fmt.Sprintf("bỏ qua/skipped dòng/line %d: %s", sk.Line, sk.Reason))
		}
		out.Created = rep.Created
		pw := ""
		if len(rep.Created) > 0 {
			pw = credentialsCSV(rep.Created)
		}
		return fmt.Sprintf("%d tài khoản đã tạo/accounts created\n%s", len(rep.Created), strings.Join(lines, "\n")), pw, err
	case KindEdit:
		a, err := s.deps.Dir.Lookup(ctx, b.Address)
		if err != nil {
			return "", "", err
		}
		before := fmt.Sprintf("%q, %q, %q", a.DisplayName, a.Title, a.Phone)
		for _, f := range []struct {
			dst *string
			src string
		}{{&a.DisplayName, b.FullName}, {&a.Title, b.Title}, {&a.Phone, b.Phone}} {
			if f.src != "" {
				*f.dst = f.src
			}
		}
		after := fmt.Sprintf("%q, %q, %q", a.DisplayName, a.Title, a.Phone)
		if err := s.deps.Dir.PutAccount(ctx, *a, ""); err != nil {
			return "", "", err
		}
		s.audit(ctx, by, a.Address, policy.ActionEdit, fmt.Sprintf("%s: họ tên, chức vụ, điện thoại / name, title, phone: %s → %s", tag, before, after))
		return fmt.Sprintf("%s: %s → %s", a.Address, before, after), "", nil
	case KindTransfer:
		if s.deps.Reorg == nil {
			return "", "", invalid("Máy chủ này không chuyển đơn vị được.", "No reorganisation service here.")
		}
		res, err := s.deps.Reorg.Run(ctx, reorg.KindMoveAccount, by.Address, reorg.Args{Address: b.Address, Unit: b.Unit, Reason: tag})
		if res == nil {
			return "", "", err
		}
		return strings.TrimSpace(res.String()), "", err
	case KindLock:
		if s.deps.States == nil {
			return "", "", errors.New("provision: no state changer")
		}
		reason := fmt.Sprintf("%s (%s)", b.Reason, tag)
		if err := s.deps.States.SetAccountState(ctx, by.Address, b.Address, directory.StateLocked, reason); err != nil {
			return "", "", err
		}
		return fmt.Sprintf("%s: đã khoá/locked: %s", b.Address, b.Reason), "", nil
	}
	return "", "", invalid("Loại đề nghị không hợp lệ.", "Unknown request kind.")
}

// Reject refuses request id with a reason the unit reads.
func (s *Service) Reject(ctx context.Context, by Actor, id int64, reason string) error {
	if !by.Operator {
		return ErrNotOperator
	}
	reason = collapse(reason)
	if reason == "" || utf8.RuneCountInString(reason) > 500 {
		return invalid("Hãy ghi lý do từ chối (tối đa 500 ký tự).", "Give the reason (500 characters at most).")
	}
	r, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if err := s.deps.Org.DecideRequest(ctx, id, orgdb.RequestRejected, by.Address, by.IP, reason, s.deps.Now()); err != nil {
		return err
	}
	s.audit(ctx, by, Subject(id), policy.ActionRefuse, fmt.Sprintf("%s; lý do/reason: %s", r.Describe(), reason))
	return nil
}

// TakePasswords returns the initial-password file of an approved request
// (CSV: address,password,role,full_name) and forgets it: it is handed
// over once. ok is false when there is none or it was fetched already.
// A file that cannot be unsealed (the node's seal.key is not the one it
// was sealed under) is an error and stays stored.
func (s *Service) TakePasswords(ctx context.Context, by Actor, id int64) (csv string, ok bool, err error) {
	csv, ok, err = s.deps.Org.TakePasswords(ctx, id, s.deps.Now(), func(stored string) (string, error) {
		plain, err := s.deps.Seal.OpenString(passwordsPurpose(id), stored)
		if err != nil {
			s.deps.Log.Error("provision: initial passwords do not open", "id", id, "err", err)
			return "", mailerr.ErrDirectoryUnavailable.With(err).WithMessage(
				"The initial passwords cannot be opened with this node's seal key (restore seal.key)",
				"Không mở được mật khẩu ban đầu bằng khóa niêm phong của máy chủ (hãy khôi phục seal.key).")
		}
		return plain, nil
	})
	if ok {
		s.audit(ctx, by, Subject(id), "passwords-fetched", "mật khẩu ban đầu đã nhận / initial passwords handed over")
	}
	return csv, ok, err
}

// passwordsPurpose seals a request's passwords to that request: a sealed
// file copied into another request's row does not open there.
func passwordsPurpose(id int64) string { return fmt.Sprintf("orgdb/request-passwords/%d", id) }

// SealStoredPasswords seals the initial passwords an older congvu kept
// in clear in org.db (the server and `congvu request` call it on
// opening), so an upgrade keeps them fetchable once, as before. It
// returns how many it sealed.
func (s *Service) SealStoredPasswords(ctx context.Context) (int, error) {
	return s.deps.Org.RewritePasswords(ctx, func(id int64, stored string) (string, bool, error) {
		if sealbox.IsSealedString(stored) {
			return stored, false, nil
		}
		return s.deps.Seal.SealString(passwordsPurpose(id), stored), true, nil
	})
}

// explain is an error in words for the request's result.
func explain(err error) string {
	var le importer.LineErrors
	if errors.As(err, &le) {
		return le.Error()
	}
	if me := directoryMessage(err); me != "" {
		return me
	}
	return err.Error()
}

func directoryMessage(err error) string {
	if me := mailerr.As(err); me != nil {
		s := me.MessageVI + " / " + me.Message
		if me.Err != nil {
			s += ": " + me.Err.Error()
		}
		return s
	}
	return ""
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", "; ")
	if utf8.RuneCountInString(s) > 400 {
		s = string([]rune(s)[:400]) + "…"
	}
	return s
}
