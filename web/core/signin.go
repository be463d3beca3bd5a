package core

// Signing in and out. The sign-in form belongs here, beside the sessions:
// Authed shows it again, with the reason, when an account is locked while
// signed in.

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

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
	if sf := s.opts.SecondFactor; sf != nil {
		on, err := sf.Enabled(r.Context(), acct.Address)
		if err != nil {
			s.Fail(w, "second factor", err)
			return
		}
		if on {
			// The password was right; the session waits for the code.
			http.SetCookie(w, &http.Cookie{Name: pendingCookie, Value: s.pendingToken(acct.Address, s.opts.Now().Add(pendingFor)),
				Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
			s.renderCode(w, r, http.StatusOK, nil)
			return
		}
	}
	s.finishLogin(w, r, acct)
}

// finishLogin starts the session of a sign-in that is complete.
func (s *Site) finishLogin(w http.ResponseWriter, r *http.Request, acct *directory.Account) {
	clearCookie(w, loginCookie)
	clearCookie(w, pendingCookie)
	sess := s.StartSession(w, acct.Address, nil)
	s.Log.Info("web: login", "address", acct.Address, "ip", ClientIP(r), "must_change", s.forcedReason(acct))
	// AfterLogin recorded this login as today's access.
	s.markAccessed(&sess)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// SecondFactor is two-factor sign-in (web/twofactor.Store).
type SecondFactor interface {
	Enabled(ctx context.Context, address string) (bool, error)
	// Verify checks a code from the authenticator app or a recovery code.
	Verify(ctx context.Context, address, code string) (bool, error)
}

const (
	pendingCookie = "__Host-congvu-2fa"
	// pendingFor is how long a right password waits for its code.
	pendingFor = 5 * time.Minute
)

// pendingToken ties a sign-in waiting for its code to address until
// expires: "address|unix|HMAC", with the login key (a restart drops it).
func (s *Site) pendingToken(address string, expires time.Time) string {
	payload := address + "|" + strconv.FormatInt(expires.Unix(), 10)
	m := hmac.New(sha256.New, s.loginKey)
	m.Write([]byte("2fa\x00" + payload))
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// pendingAddress reads a pending sign-in's address; "" when absent,
// forged or expired.
func (s *Site) pendingAddress(r *http.Request) string {
	c, err := r.Cookie(pendingCookie)
	if err != nil {
		return ""
	}
	p, sig, ok := strings.Cut(c.Value, ".")
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if !ok || err != nil {
		return ""
	}
	m := hmac.New(sha256.New, s.loginKey)
	m.Write([]byte("2fa\x00" + string(payload)))
	want := base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	if !sameToken(sig, want) {
		return ""
	}
	address, exp, _ := strings.Cut(string(payload), "|")
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || s.opts.Now().After(time.Unix(unix, 0)) {
		return ""
	}
	return address
}

// renderCode shows the form for the second factor.
func (s *Site) renderCode(w http.ResponseWriter, r *http.Request, status int, n *Notice) {
	var cookie string
	if c, err := r.Cookie(loginCookie); err == nil && c.Value != "" {
		cookie = c.Value
	} else {
		cookie = newToken()
		http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: cookie, Path: "/", Secure: true, HttpOnly: true,
			SameSite: http.SameSiteLaxMode})
	}
	s.Render(w, status, corePages["code"], &Page{Title: "Mã xác thực", TitleEN: "Verification code", Notice: n,
		Data: loginData{Token: s.loginToken(cookie)}})
}

// codeSubmit checks the second factor of a pending sign-in. A wrong code
// counts as a failed login (the policy engine may lock the account).
func (s *Site) codeSubmit(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(loginCookie)
	if err != nil || !sameToken(r.PostFormValue("csrf"), s.loginToken(c.Value)) {
		s.renderLogin(w, r, http.StatusForbidden, "", &Notice{Kind: "error",
			VI: "Biểu mẫu đã hết hạn hoặc không hợp lệ (mã chống giả mạo CSRF). Vui lòng đăng nhập lại.",
			EN: "The form expired or is invalid (anti-forgery CSRF token). Please sign in again."})
		return
	}
	address := s.pendingAddress(r)
	sf := s.opts.SecondFactor
	if address == "" || sf == nil {
		clearCookie(w, pendingCookie)
		s.renderLogin(w, r, http.StatusUnauthorized, "", &Notice{Kind: "error",
			VI: "Phiên đăng nhập đã hết hạn, vui lòng nhập lại mật khẩu.", EN: "The sign-in expired; enter your password again."})
		return
	}
	ctx, ip := r.Context(), ClientIP(r)
	acct, err := s.opts.Dir.Lookup(ctx, address)
	if err == nil && acct.State != directory.StateActive {
		err = mailerr.ErrAccountDisabled
	}
	if err != nil {
		clearCookie(w, pendingCookie)
		s.renderLogin(w, r, mailerr.Classify(err).HTTP(), address, ErrorNotice(mailerr.Classify(err)))
		return
	}
	ok, err := sf.Verify(ctx, address, r.PostFormValue("code"))
	if err != nil {
		s.Fail(w, "second factor", err)
		return
	}
	if !ok {
		s.Log.Info("web: wrong second factor", "address", address, "ip", ip)
		wrong := error(mailerr.ErrAuthFailed)
		if p := s.opts.Policy; p != nil {
			if perr := p.AfterLogin(ctx, address, ip, acct, wrong); perr != nil {
				wrong = perr
			}
		}
		if e := mailerr.Classify(wrong); !errors.Is(wrong, mailerr.ErrAuthFailed) {
			clearCookie(w, pendingCookie)
			s.renderLogin(w, r, e.HTTP(), address, ErrorNotice(e))
			return
		}
		s.renderCode(w, r, http.StatusUnauthorized, &Notice{Kind: "error", VI: "Mã xác thực không đúng hoặc đã dùng.",
			EN: "Wrong or already used code."})
		return
	}
	s.finishLogin(w, r, acct)
}

func (s *Site) logout(w http.ResponseWriter, r *http.Request, c *Ctx) {
	s.endSession(w, c.Session)
	s.Log.Info("web: logout", "address", c.Acct.Address, "ip", ClientIP(r))
	http.Redirect(w, r, "/login?bye=1", http.StatusSeeOther)
}

func newToken() string { return rand.Text() }
