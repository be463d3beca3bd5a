package webmail

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"congvu/directory"
	"congvu/internal/mailerr"
	"congvu/policy/password"
)

// maxLoginBytes bounds the login name (an address: RFC 5321 4.5.3.1.3).
const maxLoginBytes = 256

// checkPassword checks a password through the policy hooks: BeforeLogin
// may refuse first; AfterLogin sees the result and may replace it.
func (wb *Web) checkPassword(ctx context.Context, login, pw string, ip net.IP) (*directory.Account, error) {
	p := wb.opts.Policy
	if p != nil {
		if err := p.BeforeLogin(ctx, login, ip); err != nil {
			return nil, err
		}
	}
	acct, err := wb.opts.Dir.Authenticate(ctx, login, pw)
	if p != nil {
		if perr := p.AfterLogin(ctx, login, ip, acct, err); perr != nil {
			err = perr
		}
	}
	return acct, err
}

type loginData struct {
	Login, Token string
}

// renderLogin shows the login form with a fresh form token.
func (wb *Web) renderLogin(w http.ResponseWriter, r *http.Request, status int, login string, n *notice) {
	var cookie string
	if c, err := r.Cookie(loginCookie); err == nil && c.Value != "" {
		cookie = c.Value
	} else {
		cookie = newToken()
		http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: cookie, Path: "/", Secure: true, HttpOnly: true,
			SameSite: http.SameSiteLaxMode})
	}
	wb.render(w, status, "login", &page{Title: "Đăng nhập", TitleEN: "Sign in", Notice: n,
		Data: loginData{Login: login, Token: wb.loginToken(cookie)}})
}

func (wb *Web) loginForm(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if _, ok := wb.sessions.get(c.Value); ok {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
	}
	var n *notice
	switch {
	case r.URL.Query().Has("bye"):
		n = &notice{Kind: "ok", VI: "Bạn đã đăng xuất.", EN: "You have signed out."}
	case r.URL.Query().Has("expired"):
		n = &notice{Kind: "error", VI: "Phiên đăng nhập đã hết hạn, vui lòng đăng nhập lại.", EN: "Your session has expired, please sign in again."}
	}
	wb.renderLogin(w, r, http.StatusOK, "", n)
}

func (wb *Web) loginSubmit(w http.ResponseWriter, r *http.Request) {
	login := strings.TrimSpace(r.PostFormValue("login"))
	pw := r.PostFormValue("password")
	if len(login) > maxLoginBytes {
		login = login[:maxLoginBytes]
	}
	c, err := r.Cookie(loginCookie)
	if err != nil || !sameToken(r.PostFormValue("csrf"), wb.loginToken(c.Value)) {
		wb.log.Warn("web: login without a valid form token", "ip", clientIP(r))
		wb.renderLogin(w, r, http.StatusForbidden, login, &notice{Kind: "error",
			VI: "Biểu mẫu đăng nhập đã hết hạn hoặc không hợp lệ (mã chống giả mạo CSRF). Vui lòng đăng nhập lại.",
			EN: "The sign-in form expired or is invalid (anti-forgery CSRF token). Please sign in again."})
		return
	}
	if login == "" || pw == "" {
		wb.renderLogin(w, r, http.StatusBadRequest, login, &notice{Kind: "error",
			VI: "Vui lòng nhập địa chỉ thư điện tử và mật khẩu.", EN: "Enter your e-mail address and password."})
		return
	}
	ip := clientIP(r)
	acct, err := wb.checkPassword(r.Context(), login, pw, ip)
	if err != nil {
		e := mailerr.Classify(err)
		wb.log.Info("web: login refused", "login", login, "ip", ip, "err", err)
		status := e.HTTP()
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "30")
		}
		wb.renderLogin(w, r, status, login, errorNotice(e))
		return
	}
	clearCookie(w, loginCookie)
	s := wb.startSession(w, acct.Address, nil)
	wb.log.Info("web: login", "address", acct.Address, "ip", ip, "must_change", wb.forcedReason(acct))
	// AfterLogin recorded this login as today's access.
	wb.markAccessed(&s)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (wb *Web) logout(w http.ResponseWriter, r *http.Request, c *authCtx) {
	wb.endSession(w, c.sess)
	wb.log.Info("web: logout", "address", c.acct.Address, "ip", clientIP(r))
	http.Redirect(w, r, "/login?bye=1", http.StatusSeeOther)
}

type homeData struct {
	Account         *directory.Account
	UnitName        string
	Role            string
	PasswordChanged string
	PasswordExpires string
	Listeners       []Listener
}

func (wb *Web) home(w http.ResponseWriter, r *http.Request, c *authCtx) {
	d := homeData{Account: c.acct, Role: roleName(c.acct.Role), Listeners: wb.opts.Listeners}
	if units, err := wb.opts.Dir.Units(r.Context()); err == nil {
		for _, u := range units {
			if u.Code == c.acct.UnitCode {
				d.UnitName = u.Name
			}
		}
	}
	if t := c.acct.PasswordChanged; !t.IsZero() {
		d.PasswordChanged = t.In(vietnam()).Format("02/01/2006 15:04")
		if days := wb.opts.Rules.MaxAgeDays; days > 0 {
			d.PasswordExpires = t.In(vietnam()).AddDate(0, 0, days).Format("02/01/2006")
		}
	}
	wb.render(w, http.StatusOK, "home", wb.pageFor(c, "Tài khoản", "Account", d))
}

type passwordData struct {
	Forced, Expired bool
	MaxAgeDays      int
	RulesVI         string
	RulesEN         string
}

func (wb *Web) passwordPage(w http.ResponseWriter, c *authCtx, status int, n *notice) {
	d := passwordData{Forced: c.forced != "", Expired: c.forced == forcedExpired, MaxAgeDays: wb.opts.Rules.MaxAgeDays}
	d.RulesVI, d.RulesEN = wb.opts.Rules.Describe()
	p := wb.pageFor(c, "Đổi mật khẩu", "Change password", d)
	if n != nil {
		p.Notice = n
	}
	wb.render(w, status, "password", p)
}

func (wb *Web) passwordForm(w http.ResponseWriter, r *http.Request, c *authCtx) {
	wb.passwordPage(w, c, http.StatusOK, nil)
}

// passwordSubmit changes the password: the current one must be right (it
// goes through the login policy, so a stolen session cannot guess it), the
// new one typed twice, different from the current one and following the
// rules. Every other session of the account ends.
func (wb *Web) passwordSubmit(w http.ResponseWriter, r *http.Request, c *authCtx) {
	current, next, again := r.PostFormValue("current"), r.PostFormValue("new"), r.PostFormValue("confirm")
	bad := func(status int, vi, en string, items []password.Violation) {
		wb.passwordPage(w, c, status, &notice{Kind: "error", VI: vi, EN: en, Items: items})
	}
	if current == "" || next == "" {
		bad(http.StatusBadRequest, "Vui lòng nhập mật khẩu hiện tại và mật khẩu mới.", "Enter your current and new password.", nil)
		return
	}
	ip := clientIP(r)
	if _, err := wb.checkPassword(r.Context(), c.acct.Address, current, ip); err != nil {
		e := mailerr.Classify(err)
		wb.log.Info("web: password change refused", "address", c.acct.Address, "ip", ip, "err", err)
		if errors.Is(err, mailerr.ErrAuthFailed) {
			bad(http.StatusForbidden, "Mật khẩu hiện tại không đúng.", "The current password is wrong.", nil)
			return
		}
		status := e.HTTP()
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "30")
		}
		bad(status, sentence(e.MessageVI), sentence(e.Message), nil)
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
	if err := wb.opts.Rules.Check(next, password.Subject{Address: c.acct.Address, FullName: c.acct.DisplayName}); err != nil {
		var v password.Violations
		errors.As(err, &v)
		bad(http.StatusUnprocessableEntity, "Mật khẩu mới chưa đạt yêu cầu:", "The new password does not meet the rules:", v)
		return
	}
	if err := wb.opts.Dir.SetPassword(r.Context(), c.acct.Address, next, false); err != nil {
		e := mailerr.Classify(err)
		wb.log.Warn("web: password change failed", "address", c.acct.Address, "err", err)
		bad(e.HTTP(), sentence(e.MessageVI), sentence(e.Message), nil)
		return
	}
	ended := wb.sessions.endUser(c.acct.Address, "")
	wb.log.Info("web: password changed", "address", c.acct.Address, "ip", ip, "forced", c.forced, "sessions_ended", ended)
	// A new session id after the change; the old cookie is dead.
	wb.startSession(w, c.acct.Address, &notice{Kind: "ok", VI: "Đã đổi mật khẩu. Hãy dùng mật khẩu mới cho cả ứng dụng thư (Outlook, Thunderbird, điện thoại).",
		EN: "Password changed. Use the new password in your mail apps (Outlook, Thunderbird, phone) too."})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func newToken() string { return rand.Text() }

// roleName is the Vietnamese name of a role.
func roleName(r directory.Role) string {
	switch r {
	case directory.RoleOfficial:
		return "Cán bộ, công chức"
	case directory.RoleClerk:
		return "Văn thư"
	case directory.RoleAdmin:
		return "Quản trị đơn vị"
	case directory.RoleOperator:
		return "Quản trị hệ thống"
	case directory.RoleUnit:
		return "Hộp thư đơn vị"
	}
	return string(r)
}

// stateName is the Vietnamese name of a state.
func stateName(s directory.State) string {
	switch s {
	case directory.StateActive:
		return "Đang hoạt động"
	case directory.StateLocked:
		return "Đang khoá"
	case directory.StateRetired:
		return "Đã đóng"
	}
	return string(s)
}

// formatTime shows a time in Viet Nam, or a dash when unknown.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(vietnam()).Format("02/01/2006 15:04")
}
