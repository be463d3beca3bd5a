package policy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"

	"congvu/directory"
	"congvu/storage"
)

// Digest is what SendDigests needs; the engine fills it from its own
// dependencies, `congvu digest send` from the configuration.
type Digest struct {
	DB       *DB
	Dir      directory.Directory
	Store    storage.Store
	Location *time.Location
	// From is the sender address (postmaster@ the first local domain).
	From string
	// Hostname goes into Message-ID.
	Hostname string
	Log      interface{ Info(string, ...any) }
	// Overdue lists the provisioning requests of units (nil: all) still
	// pending past their due date, one line each (package provision);
	// nil leaves them out.
	Overdue func(ctx context.Context, units []string) ([]string, error)
}

// DigestResult says what one unit's digest contained.
type DigestResult struct {
	Unit      directory.Unit
	Admins    []string // who received it
	NotAccess []directory.Account
	// Overdue are the unit's provisioning requests past their due date
	// (for the operators' digest: every unit's).
	Overdue []string
}

// SendDigests mails each unit admin (directory.RoleAdmin of the unit) the
// list of the unit's officials, its divisions included, who did not access
// their mailbox on day. The message goes straight into the admins' INBOX
// through the store (durably, like any delivery). Units without an admin
// are skipped; units where everyone accessed get a short "all accessed"
// digest so the admin knows the job ran.
func SendDigests(ctx context.Context, d Digest, day Day) ([]DigestResult, error) {
	if d.Store == nil {
		return nil, errors.New("policy: digests need the mail store")
	}
	units, err := d.Dir.Units(ctx)
	if err != nil {
		return nil, err
	}
	accounts, err := d.Dir.Accounts(ctx, "")
	if err != nil {
		return nil, err
	}
	accessed, err := accessedOn(ctx, d.DB, day)
	if err != nil {
		return nil, err
	}
	byUnit := map[string][]directory.Account{}
	for _, a := range accounts {
		if a.State != directory.StateRetired {
			byUnit[a.UnitCode] = append(byUnit[a.UnitCode], a)
		}
	}
	tree := newUnitTree(units)
	var results []DigestResult
	var errs []error
	for _, u := range tree.order {
		if u.Kind == directory.UnitDivision && tree.parentKind(u) != "" {
			continue // its officials are in the parent unit's digest
		}
		var admins []directory.Account
		for _, a := range byUnit[u.Code] {
			if a.Role == directory.RoleAdmin && a.State == directory.StateActive {
				admins = append(admins, a)
			}
		}
		if len(admins) == 0 {
			continue
		}
		res := DigestResult{Unit: u}
		for _, code := range append([]string{u.Code}, tree.divisions(u.Code)...) {
			for _, a := range byUnit[code] {
				if !accessed[a.Address] {
					res.NotAccess = append(res.NotAccess, a)
				}
			}
		}
		if d.Overdue != nil {
			if res.Overdue, err = d.Overdue(ctx, append([]string{u.Code}, tree.divisions(u.Code)...)); err != nil {
				return results, err
			}
		}
		msg, err := digestMessage(d, u, tree, day, admins, res.NotAccess, res.Overdue)
		if err != nil {
			return results, err
		}
		rcpts := make([]storage.Recipient, len(admins))
		for i, a := range admins {
			rcpts[i] = storage.Recipient{User: a.Address, QuotaBytes: a.QuotaBytes}
		}
		out, err := d.Store.Deliver(ctx, bytes.NewReader(msg), rcpts)
		if err != nil {
			errs = append(errs, fmt.Errorf("digest for %s: %w", u.Code, err))
			continue
		}
		for i, r := range out {
			if r.Err != nil {
				errs = append(errs, fmt.Errorf("digest for %s to %s: %w", u.Code, admins[i].Address, r.Err))
			} else {
				res.Admins = append(res.Admins, admins[i].Address)
			}
		}
		if d.Log != nil {
			d.Log.Info("policy: digest delivered", "unit", u.Code, "day", day.String(), "not_accessed", len(res.NotAccess), "admins", len(res.Admins))
		}
		results = append(results, res)
	}
	if res, err := sendOperatorsOverdue(ctx, d, day, accounts); err != nil {
		errs = append(errs, err)
	} else if res != nil {
		results = append(results, *res)
	}
	return results, errors.Join(errs...)
}

// sendOperatorsOverdue mails the provincial operators, who decide the
// provisioning requests, the list of every overdue one (nothing when
// none is).
func sendOperatorsOverdue(ctx context.Context, d Digest, day Day, accounts []directory.Account) (*DigestResult, error) {
	if d.Overdue == nil {
		return nil, nil
	}
	lines, err := d.Overdue(ctx, nil)
	if err != nil || len(lines) == 0 {
		return nil, err
	}
	var ops []*mail.Address
	var rcpts []storage.Recipient
	for _, a := range accounts {
		if a.Role == directory.RoleOperator && a.State == directory.StateActive {
			ops = append(ops, &mail.Address{Name: a.DisplayName, Address: a.Address})
			rcpts = append(rcpts, storage.Recipient{User: a.Address, QuotaBytes: a.QuotaBytes})
		}
	}
	if len(ops) == 0 {
		return nil, nil
	}
	subject := fmt.Sprintf("[Thư công vụ] %d đề nghị cấp tài khoản quá hạn ngày %s / %d provisioning requests overdue",
		len(lines), day.VN(), len(lines))
	var body strings.Builder
	body.WriteString("Kính gửi quản trị hệ thống,\r\n\r\n")
	fmt.Fprintf(&body, "Các đề nghị cấp, thay đổi tài khoản sau đã quá hạn xử lý (ngày làm việc) mà chưa được duyệt:\r\n\r\n")
	for _, l := range lines {
		body.WriteString("  - " + l + "\r\n")
	}
	body.WriteString("\r\nDuyệt hoặc từ chối tại /admin/requests hoặc bằng lệnh congvu request approve|reject.\r\n\r\n-- \r\nEnglish:\r\n")
	fmt.Fprintf(&body, "%d provisioning requests are past their due date (list above).\r\n", len(lines))
	msg, err := composeMessage(d.From, d.Hostname, ops, subject, body.String(), time.Now())
	if err != nil {
		return nil, err
	}
	out, err := d.Store.Deliver(ctx, bytes.NewReader(msg), rcpts)
	if err != nil {
		return nil, fmt.Errorf("overdue requests digest: %w", err)
	}
	res := &DigestResult{Unit: directory.Unit{Name: "Quản trị hệ thống / operators"}, Overdue: lines}
	for i, r := range out {
		if r.Err == nil {
			res.Admins = append(res.Admins, ops[i].Address)
		}
	}
	return res, nil
}

// accessedOn returns the addresses that accessed on day.
func accessedOn(ctx context.Context, db *DB, day Day) (map[string]bool, error) {
	ids, err := db.users(ctx)
	if err != nil {
		return nil, err
	}
	m := MonthOf(day)
	rows, err := db.monthRows(ctx, m, m)
	if err != nil {
		return nil, err
	}
	_, _, dom := day.Date()
	out := map[string]bool{}
	for a, id := range ids {
		if slotAt(rows[id][m], dom-1).accessed() {
			out[a] = true
		}
	}
	return out, nil
}

// digestMessage builds the RFC 5322 message (UTF-8, quoted-printable,
// Vietnamese first, then English).
func digestMessage(d Digest, u directory.Unit, tree *unitTree, day Day, admins, missing []directory.Account, overdue []string) ([]byte, error) {
	subject := fmt.Sprintf("[Thư công vụ] %s: %d cán bộ chưa truy cập hộp thư ngày %s / %d officials did not access mail on %s",
		u.Name, len(missing), day.VN(), len(missing), day.String())
	var body strings.Builder
	fmt.Fprintf(&body, "Kính gửi quản trị %s,\r\n\r\n", u.Name)
	if len(missing) == 0 {
		fmt.Fprintf(&body, "Ngày %s, tất cả cán bộ của đơn vị đều đã truy cập hộp thư công vụ.\r\n", day.VN())
	} else {
		fmt.Fprintf(&body, "Ngày %s có %d cán bộ của đơn vị chưa truy cập hộp thư công vụ:\r\n\r\n", day.VN(), len(missing))
		for i, a := range missing {
			unit := ""
			if a.UnitCode != u.Code {
				unit = " — " + tree.name(a.UnitCode)
			}
			title := ""
			if a.Title != "" {
				title = ", " + a.Title
			}
			fmt.Fprintf(&body, "%3d. %s%s <%s>%s\r\n", i+1, cmpOr(a.DisplayName, a.Address), title, a.Address, unit)
		}
		body.WriteString("\r\nĐề nghị đơn vị nhắc các cán bộ trên truy cập hộp thư ít nhất một lần mỗi ngày.\r\n")
	}
	if len(overdue) > 0 {
		fmt.Fprintf(&body, "\r\nĐề nghị cấp, thay đổi tài khoản của đơn vị đã quá hạn (chưa được duyệt):\r\n")
		for _, l := range overdue {
			body.WriteString("  - " + l + "\r\n")
		}
	}
	body.WriteString("\r\nThư này do hệ thống thư điện tử công vụ gửi tự động.\r\n\r\n-- \r\nEnglish:\r\n")
	if len(missing) == 0 {
		fmt.Fprintf(&body, "On %s every official of %s accessed their mailbox.\r\n", day.String(), u.Name)
	} else {
		fmt.Fprintf(&body, "On %s, %d officials of %s did not access their mailbox (list above).\r\n", day.String(), len(missing), u.Name)
	}
	if len(overdue) > 0 {
		fmt.Fprintf(&body, "%d provisioning requests of the unit are overdue (list above).\r\n", len(overdue))
	}
	to := make([]*mail.Address, len(admins))
	for i, a := range admins {
		to[i] = &mail.Address{Name: a.DisplayName, Address: a.Address}
	}
	return composeMessage(d.From, d.Hostname, to, subject, body.String(), time.Now())
}

// composeMessage writes a text/plain UTF-8 message (RFC 5322, RFC 2047
// encoded words in headers, RFC 2045 quoted-printable body).
func composeMessage(from, hostname string, to []*mail.Address, subject, body string, now time.Time) ([]byte, error) {
	var h mail.Header
	h.SetDate(now)
	h.SetAddressList("From", []*mail.Address{{Name: "Hệ thống thư điện tử công vụ", Address: from}})
	h.SetAddressList("To", to)
	h.SetSubject(subject)
	if err := h.GenerateMessageIDWithHostname(cmpOr(hostname, "localhost")); err != nil {
		return nil, err
	}
	h.Set("Auto-Submitted", "auto-generated") // RFC 3834 5: no auto-replies to this
	h.Set("Content-Language", "vi, en")
	h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	var buf bytes.Buffer
	w, err := mail.CreateSingleInlineWriter(&buf, h)
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(w, body); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// alertOperators mails the provincial operators (directory.RoleOperator)
// that an account's sending was locked.
func (e *Engine) alertOperators(ctx context.Context, address, reason string, at time.Time) {
	loc := e.rules.Load().loc
	body := fmt.Sprintf("Tài khoản %s đã bị khoá gửi thư lúc %s.\r\nLý do: %s\r\n\r\n"+
		"Có thể tài khoản đã bị lộ mật khẩu. Đề nghị kiểm tra, đặt lại mật khẩu rồi mở khoá bằng lệnh:\r\n"+
		"  congvu account unlock-sending %s\r\n\r\n-- \r\nEnglish: sending was locked for %s at %s (%s). "+
		"Check the account, reset its password, then unlock it with the command above.\r\n",
		address, at.In(loc).Format("15:04 02/01/2006"), reason, address, address, at.Format(time.RFC3339), reason)
	e.notifyOperators(ctx, "[Cảnh báo] Khoá gửi thư tài khoản "+address+" / Sending locked for "+address, body, at)
}

// notifyOperators delivers a message to every active operator's INBOX.
func (e *Engine) notifyOperators(ctx context.Context, subject, body string, at time.Time) {
	if e.opts.Store == nil {
		return
	}
	accounts, err := e.opts.Dir.Accounts(ctx, "")
	if err != nil {
		e.log.Error("policy: cannot list operators for an alert", "err", err)
		return
	}
	var to []*mail.Address
	var rcpts []storage.Recipient
	for _, a := range accounts {
		if a.Role == directory.RoleOperator && a.State == directory.StateActive {
			to = append(to, &mail.Address{Name: a.DisplayName, Address: a.Address})
			rcpts = append(rcpts, storage.Recipient{User: a.Address, QuotaBytes: a.QuotaBytes})
		}
	}
	if len(rcpts) == 0 {
		e.log.Warn("policy: no operator account to alert", "subject", subject)
		return
	}
	msg, err := composeMessage(e.sender(), e.opts.Hostname, to, subject, body, at)
	if err == nil {
		var res []storage.DeliveryResult
		res, err = e.opts.Store.Deliver(ctx, bytes.NewReader(msg), rcpts)
		for _, r := range res {
			err = errors.Join(err, r.Err)
		}
	}
	if err != nil {
		e.log.Error("policy: operator alert not delivered", "subject", subject, "err", err)
	}
}

// sender is the From address of digests and alerts.
func (e *Engine) sender() string {
	rs := e.rules.Load()
	if rs.cfg.DigestFrom != "" {
		return rs.cfg.DigestFrom
	}
	return DefaultSender(rs.localDom)
}

// DefaultSender is postmaster@ the first local domain (RFC 5321 4.5.1).
func DefaultSender(localDomains []string) string {
	if len(localDomains) == 0 {
		return "postmaster@localhost"
	}
	return "postmaster@" + strings.ToLower(localDomains[0])
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// SetOverdueRequests gives the daily digest the overdue provisioning
// requests (provision.Service.OverdueLines); the service is made after
// the engine.
func (e *Engine) SetOverdueRequests(f func(ctx context.Context, units []string) ([]string, error)) {
	if e != nil && f != nil {
		e.overdue.Store(&f)
	}
}

func (e *Engine) overdueRequests() func(context.Context, []string) ([]string, error) {
	if f := e.overdue.Load(); f != nil {
		return *f
	}
	return nil
}
