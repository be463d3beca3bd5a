package policy

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"congvu/directory"
	"congvu/internal/mailerr"
)

// expiredPassword refuses a mail client's login with the right password
// when that password is the initial one (new account, administrator reset)
// or older than [password] max_age_days, so the official changes it on the
// web before any client keeps it for months. The web itself is let in: its
// sign-in leads to the password form. Accounts listed in
// policy.expired_password_exempt_file (the quickstart's demo accounts) are
// exempt while their password is still the one printed in that file (not
// changed or reset since the file was written), as is everything when
// policy.refuse_expired_passwords is off.
func (e *Engine) expiredPassword(o AuthOutcome, now time.Time) Decision {
	rs := e.rules.Load()
	a := o.Account
	if o.Protocol == Web || !rs.cfg.RefuseExpiredPasswords {
		return Decision{}
	}
	if rs.isExempt(a) && !a.PasswordChanged.After(rs.exemptWritten.Add(time.Second)) {
		return Decision{}
	}
	why, whyEN := "", ""
	switch {
	case a.MustChangePassword:
		why, whyEN = "mật khẩu ban đầu", "initial password"
	case e.opts.PasswordMaxAgeDays > 0 && !a.PasswordChanged.IsZero() &&
		now.Sub(a.PasswordChanged) > time.Duration(e.opts.PasswordMaxAgeDays)*24*time.Hour:
		why, whyEN = fmt.Sprintf("mật khẩu quá %d ngày", e.opts.PasswordMaxAgeDays),
			fmt.Sprintf("password older than %d days", e.opts.PasswordMaxAgeDays)
	default:
		return Decision{}
	}
	return e.refuse(Reject, RulePasswordExpired, ExpiredPasswordError(e.PasswordChangeURL(a.Address)), AuditEntry{
		Subject: a.Address, Protocol: o.Protocol, IP: ipString(o.IP), Detail: why + " / " + whyEN})
}

// ExpiredPasswordError is mailerr.ErrPasswordExpired naming the web
// address where the password is changed, in Vietnamese (ASCII on the wire:
// SMTP, POP3 and IMAP4rev1 replies are US-ASCII) and English.
func ExpiredPasswordError(url string) *mailerr.Error {
	if url == "" {
		return mailerr.ErrPasswordExpired
	}
	return mailerr.ErrPasswordExpired.WithMessage(
		"Mat khau ban dau hoac da het han, hay doi mat khau tai "+url+
			" / Initial or expired password, change it at "+url,
		"Mật khẩu ban đầu hoặc đã hết hạn, hãy đổi mật khẩu tại "+url)
}

// SetPasswordChangeURL sets how the web address of the password form is
// made for an account (the server knows the HTTPS port only once its
// listener is bound). policy.password_change_url, when set, wins.
func (e *Engine) SetPasswordChangeURL(f func(address string) string) {
	if e != nil {
		e.changeURL.Store(&f)
	}
}

// PasswordChangeURL is the web address where address changes its password.
func (e *Engine) PasswordChangeURL(address string) string {
	if u := e.rules.Load().cfg.PasswordChangeURL; u != "" {
		return u
	}
	if f := e.changeURL.Load(); f != nil {
		return (*f)(address)
	}
	return ""
}

// isExempt reports whether a is listed in the exemption file under its
// address or an alias: a demo account transferred or readdressed by a
// reorganisation keeps its old address as an alias and its printed
// password.
func (rs *ruleSet) isExempt(a *directory.Account) bool {
	if rs.exempt[a.Address] {
		return true
	}
	for _, alias := range a.Aliases {
		if rs.exempt[directory.NormalizeAddress(alias)] {
			return true
		}
	}
	return false
}

// maxExemptFile bounds the exemption list (a province's demo has a few
// thousand accounts).
const maxExemptFile = 16 << 20

// loadExempt reads policy.expired_password_exempt_file: one address per
// line, or a CSV whose first column is the address (a header line without
// '@' is skipped), and when it was written. A missing file exempts nobody
// and is logged.
func loadExempt(path string) (set map[string]bool, written time.Time, err error) {
	set = map[string]bool{}
	if path == "" {
		return set, written, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return set, written, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil {
		written = fi.ModTime()
	}
	r := csv.NewReader(bufio.NewReader(io.LimitReader(f, maxExemptFile)))
	r.FieldsPerRecord = -1
	r.Comment = '#'
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return set, written, nil
		}
		if err != nil {
			return set, written, fmt.Errorf("%s: %w", path, err)
		}
		if len(rec) == 0 {
			continue
		}
		if a := directory.NormalizeAddress(rec[0]); strings.Contains(a, "@") {
			set[a] = true
		}
	}
}

// exemptPath resolves the exemption file against the data directory.
func (e *Engine) exemptPath(p string) string { return resolveIn(e.opts.DataDir, p) }

func resolveIn(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}
