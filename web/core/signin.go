package core

// Signing in and out. The sign-in form belongs here, beside the sessions:
// Authed shows it again, with the reason, when an account is locked while
// signed in.

import (
	"context"
	"crypto/rand"
	"net"
	"net/http"
	"strings"

	"congvu/directory"
	"congvu/internal/mailerr"
)

// MaxLoginBytes bounds the login name (an address: RFC 5321 4.5.3.1.3).
const MaxLoginBytes = 256

// checkPassword checks a password through the policy hooks: BeforeLogin
// may refuse first; AfterLogin sees the result and may replace it.
func (s *Site) CheckPassword(ctx context.Context, login, pw string, ip net.IP) (*directory.Account, error) {
	p := s.opts.Policy
	if p != nil {
		if err := p.BeforeLogin(ctx, login, ip); err != nil {
			return nil, err
		}
	}
	acct, err := s.opts.Dir.Authenticate(ctx, login, pw)
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
func (s *Site) renderLogin(w http.ResponseWriter, r *http.Request, status int, login string, n *Notice) {
	var cookie string
	if c, err := r.Cookie(loginCookie); err == nil && c.Value != "" {
		cookie = c.Value
	} else {
		cookie = newToken()
		http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: cookie, Path: "/", Secure: true, HttpOnly: true,
			SameSite: http.SameSiteLaxMode})
	}
	s.Render(w, status, corePages["login"], &Page{Title: "Đăng nhập", TitleEN: "Sign in", Notice: n,
		Data: loginData{Login: login, Token: s.loginToken(cookie)}})
}

func (s *Site) loginForm(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if _, ok := s.sessions.get(c.Value); ok {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
	}
	var n *Notice
	switch {
	case r.URL.Query().Has("bye"):
		n = &Notice{Kind: "ok", VI: "Bạn đã đăng xuất.", EN: "You have signed out."}
	case r.URL.Query().Has("expired"):
		n = &Notice{Kind: "error", VI: "Phiên đăng nhập đã hết hạn, vui lòng đăng nhập lại.", EN: "Your session has expired, please sign in again."}
	}
	s.renderLogin(w, r, http.StatusOK, "", n)
}

func (s *Site) loginSubmit(w http.ResponseWriter, r *http.Request) {
	login := strings.TrimSpace(r.PostFormValue("login"))
	pw := r.PostFormValue("password")
	if len(login) > MaxLoginBytes {
		login = login[:MaxLoginBytes]
	}
	c, err := r.Cookie(loginCookie)
	if err != nil || !sameToken(r.PostFormValue("csrf"), s.loginToken(c.Value)) {
		s.Log.Warn("web: login without a valid form token", "ip", ClientIP(r))
		s.renderLogin(w, r, http.StatusForbidden, login, &Notice{Kind: "error",
			VI: "Biểu mẫu đăng nhập đã hết hạn hoặc không hợp lệ (mã chống giả mạo CSRF). Vui lòng đăng nhập lại.",
			EN: "The sign-in form expired or is invalid (anti-forgery CSRF token). Please sign in again."})
		return
	}
	if login == "" || pw == "" {
		s.renderLogin(w, r, http.StatusBadRequest, login, &Notice{Kind: "error",
			VI: "Vui lòng nhập địa chỉ thư điện tử và mật khẩu.", EN: "Enter your e-mail address and password."})
		return
	}
	ip := ClientIP(r)
	acct, err := s.CheckPassword(r.Context(), login, pw, ip)
	if err != nil {
		e := mailerr.Classify(err)
		s.Log.Info("web: login refused", "login", login, "ip", ip, "err", err)
		status := e.HTTP()
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "30")
		}
		s.renderLogin(w, r, status, login, ErrorNotice(e))
		return
	}
	clearCookie(w, loginCookie)
	sess := s.StartSession(w, acct.Address, nil)
	s.Log.Info("web: login", "address", acct.Address, "ip", ip, "must_change", s.forcedReason(acct))
	// AfterLogin recorded this login as today's access.
	s.markAccessed(&sess)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Site) logout(w http.ResponseWriter, r *http.Request, c *Ctx) {
	s.endSession(w, c.Session)
	s.Log.Info("web: logout", "address", c.Acct.Address, "ip", ClientIP(r))
	http.Redirect(w, r, "/login?bye=1", http.StatusSeeOther)
}

func newToken() string { return rand.Text() }
