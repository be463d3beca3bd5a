package account

import (
	"errors"
	"net"
	"net/http"

	"golang.org/x/text/unicode/norm"

	"congvu/directory"
	"congvu/internal/mailerr"
	"congvu/policy/password"
	"congvu/web/core"
)

type homeData struct {
	Account         *directory.Account
	UnitName        string
	Role            string
	PasswordChanged string
	PasswordExpires string
	Listeners       []Listener
}

func (wb *room) home(w http.ResponseWriter, r *http.Request, c *core.Ctx) {
	d := homeData{Account: c.Acct, Role: core.RoleName(c.Acct.Role), Listeners: wb.listenersByName()}
	if units, err := wb.Dir().Units(r.Context()); err == nil {
		for _, u := range units {
			if u.Code == c.Acct.UnitCode {
				d.UnitName = u.Name
			}
		}
	}
	if t := c.Acct.PasswordChanged; !t.IsZero() {
		d.PasswordChanged = t.In(core.Vietnam()).Format("02/01/2006 15:04")
		if days := wb.Rules().MaxAgeDays; days > 0 {
			d.PasswordExpires = t.In(core.Vietnam()).AddDate(0, 0, days).Format("02/01/2006")
		}
	}
	wb.Render(w, http.StatusOK, tmpl["home"], wb.Page(c, "Tài khoản", "Account", d))
}

type passwordData struct {
	Forced, Expired bool
	MaxAgeDays      int
	RulesVI         string
	RulesEN         string
}

func (wb *room) passwordPage(w http.ResponseWriter, c *core.Ctx, status int, n *core.Notice) {
	d := passwordData{Forced: c.Forced != "", Expired: c.Forced == core.ForcedExpired, MaxAgeDays: wb.Rules().MaxAgeDays}
	d.RulesVI, d.RulesEN = wb.Rules().Describe()
	p := wb.Page(c, "Đổi mật khẩu", "Change password", d)
	if n != nil {
		p.Notice = n
	}
	wb.Render(w, status, tmpl["password"], p)
}

func (wb *room) passwordForm(w http.ResponseWriter, r *http.Request, c *core.Ctx) {
	wb.passwordPage(w, c, http.StatusOK, nil)
}

// passwordSubmit changes the password: the current one must be right (it
// goes through the login policy, so a stolen session cannot guess it), the
// new one typed twice, different from the current one and following the
// rules. Every other session of the account ends.
func (wb *room) passwordSubmit(w http.ResponseWriter, r *http.Request, c *core.Ctx) {
	current, next, again := r.PostFormValue("current"), r.PostFormValue("new"), r.PostFormValue("confirm")
	bad := func(status int, vi, en string, items []password.Violation) {
		wb.passwordPage(w, c, status, &core.Notice{Kind: "error", VI: vi, EN: en, Items: items})
	}
	if current == "" || next == "" {
		bad(http.StatusBadRequest, "Vui lòng nhập mật khẩu hiện tại và mật khẩu mới.", "Enter your current and new password.", nil)
		return
	}
	ip := core.ClientIP(r)
	if _, err := wb.CheckPassword(r.Context(), c.Acct.Address, current, ip); err != nil {
		e := mailerr.Classify(err)
		wb.Log.Info("web: password change refused", "address", c.Acct.Address, "ip", ip, "err", err)
		if errors.Is(err, mailerr.ErrAuthFailed) {
			bad(http.StatusForbidden, "Mật khẩu hiện tại không đúng.", "The current password is wrong.", nil)
			return
		}
		status := e.HTTP()
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "30")
		}
		bad(status, core.Sentence(e.MessageVI), core.Sentence(e.Message), nil)
		return
	}
	if next != again {
		bad(http.StatusUnprocessableEntity, "Mật khẩu mới nhập lại không khớp.", "The new passwords do not match.", nil)
		return
	}
	if norm.NFC.String(next) == norm.NFC.String(current) {
		bad(http.StatusUnprocessableEntity, "Mật khẩu mới phải khác mật khẩu hiện tại.", "The new password must differ from the current one.", nil)
		return
	}
	if err := wb.Rules().Check(next, password.Subject{Address: c.Acct.Address, FullName: c.Acct.DisplayName}); err != nil {
		var v password.Violations
		errors.As(err, &v)
		bad(http.StatusUnprocessableEntity, "Mật khẩu mới chưa đạt yêu cầu:", "The new password does not meet the rules:", v)
		return
	}
	if err := wb.Dir().SetPassword(r.Context(), c.Acct.Address, next, false); err != nil {
		e := mailerr.Classify(err)
		wb.Log.Warn("web: password change failed", "address", c.Acct.Address, "err", err)
		bad(e.HTTP(), core.Sentence(e.MessageVI), core.Sentence(e.Message), nil)
		return
	}
	ended := wb.EndSessions(c.Acct.Address, nil)
	wb.Log.Info("web: password changed", "address", c.Acct.Address, "ip", ip, "forced", c.Forced, "sessions_ended", ended)
	// A new session id after the change; the old cookie is dead.
	wb.StartSession(w, c.Acct.Address, &core.Notice{Kind: "ok", VI: "Đã đổi mật khẩu. Hãy dùng mật khẩu mới cho cả ứng dụng thư (Outlook, Thunderbird, điện thoại).",
		EN: "Password changed. Use the new password in your mail apps (Outlook, Thunderbird, phone) too."})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// listenersByName are the listeners as mail apps reach them: the
// server's name with each port, not the bound address.
func (wb *room) listenersByName() []Listener {
	out := make([]Listener, 0, len(wb.opts.Listeners))
	for _, l := range wb.opts.Listeners {
		if _, port, err := net.SplitHostPort(l.Addr); err == nil && wb.opts.Hostname != "" {
			l.Addr = net.JoinHostPort(wb.opts.Hostname, port)
		}
		out = append(out, l)
	}
	return out
}
