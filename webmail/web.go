package webmail

// The authenticated web: login, logout, password change (forced at first
// login and when the password is too old), the account page and the admin
// pages. It is served only over HTTPS; the plain HTTP listener redirects
// here (HTTPSRedirect).
//
// Security model. Sessions are server-side, identified by 256 random bits
// in a __Host- cookie (HttpOnly, Secure, SameSite=Lax, path /). Every POST
// passes two independent checks: net/http's CrossOriginProtection
// (Sec-Fetch-Site, else Origin against Host) and a synchroniser token — the
// session's CSRF token, or before login an HMAC of a random login cookie.
// Pages send a CSP without any script, X-Frame-Options DENY and no-store.
// Every request re-reads the account, so a lock, a retirement or a reset by
// an administrator takes effect on the next click.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"congvu/directory"
	"congvu/internal/mailerr"
	"congvu/policy/password"
)

const (
	sessionCookie = "__Host-congvu-session"
	loginCookie   = "__Host-congvu-login"
	// maxFormBytes bounds a POST body; every form here is small.
	maxFormBytes = 64 << 10
)

// WebOptions configures the authenticated web.
type WebOptions struct {
	// Dir is the directory: logins, account pages and admin actions.
	Dir directory.Writer
	// Rules apply to every password a user chooses.
	Rules password.Rules
	// Policy is the policy engine's login hooks; nil means none.
	Policy LoginPolicy
	// Reports renders the admin reports; nil shows that none is available.
	Reports Reports
	// Audit is the audit log of the admin pages; nil shows that there is none.
	Audit Audit
	// SendLocks shows and lifts sending locks on the account pages; nil
	// hides them.
	SendLocks SendLocks
	// Queue is the outbound queue of the operators' queue view; nil means
	// outbound delivery is off.
	Queue Queue
	// States changes account states for the admin pages, with an audit
	// trail; nil changes them in Dir directly.
	States AccountStates
	// Domains are the local domains; a new account gets the domain of its
	// unit's mailbox, or the first of these.
	Domains []string
	// SessionIdle and SessionMax are the session timeouts; defaults 30
	// minutes and 12 hours.
	SessionIdle, SessionMax time.Duration
	// Mail is the mail store of the webmail pages (/mail); nil shows that
	// mail is not available.
	Mail MailStore
	// Listeners are the mail client settings shown on the account page.
	Listeners []Listener
	// Logger receives logins, refusals and admin actions; never passwords.
	Logger *slog.Logger
	// Now is the clock, for tests; default time.Now.
	Now func() time.Time
}

// Web is the http.Handler of the HTTPS listener's private pages.
type Web struct {
	opts     WebOptions
	log      *slog.Logger
	sessions *sessionStore
	loginKey []byte // HMAC key of login form tokens
	cop      *http.CrossOriginProtection
	mux      *http.ServeMux
	handler  http.Handler // mux behind the cross-origin check
}

// NewWeb returns the authenticated web. Mount it at "/" of the HTTPS
// listener (public pages such as /danhba may be mounted beside it).
func NewWeb(opts WebOptions) *Web {
	if opts.SessionIdle <= 0 {
		opts.SessionIdle = 30 * time.Minute
	}
	if opts.SessionMax <= 0 {
		opts.SessionMax = 12 * time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rules.MinLength <= 0 {
		opts.Rules = password.Default()
	}
	wb := &Web{opts: opts, log: opts.Logger, sessions: newSessionStore(opts.SessionIdle, opts.SessionMax, opts.Now),
		loginKey: []byte(rand.Text()), cop: http.NewCrossOriginProtection(), mux: http.NewServeMux()}
	wb.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wb.log.Warn("web: cross-origin POST refused", "path", r.URL.Path, "origin", r.Header.Get("Origin"),
			"sec_fetch_site", r.Header.Get("Sec-Fetch-Site"), "ip", clientIP(r))
		wb.message(w, http.StatusForbidden, "Yêu cầu bị từ chối vì không xuất phát từ trang của hệ thống.",
			"Request refused: it did not come from this site's pages.")
	}))
	m := wb.mux
	m.HandleFunc("GET /static/congvu.css", serveCSS)
	m.HandleFunc("GET /login", wb.loginForm)
	m.HandleFunc("POST /login", wb.loginSubmit)
	m.HandleFunc("POST /logout", wb.authed(wb.logout))
	m.HandleFunc("GET /{$}", wb.authed(wb.home))
	m.HandleFunc("GET /password", wb.authed(wb.passwordForm))
	m.HandleFunc("POST /password", wb.authed(wb.passwordSubmit))
	wb.adminRoutes(m)
	wb.mailRoutes(m)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		wb.message(w, http.StatusNotFound, "Không tìm thấy trang.", "Page not found.")
	})
	// CrossOriginProtection lets safe methods through and checks the rest.
	wb.handler = wb.cop.Handler(m)
	return wb
}

func (wb *Web) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setPrivateHeaders(w.Header(), r)
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	}
	wb.handler.ServeHTTP(w, r)
}

// setPrivateHeaders sets the headers of every page of the private web.
func setPrivateHeaders(h http.Header, r *http.Request) {
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin keeps the Origin header on our own POSTs (Fetch 3.2.5).
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	// RFC 6797 8.1: browsers ignore HSTS for IP addresses; "localhost" is
	// left out so that a demo's plain HTTP listener stays reachable.
	if host := hostOnly(r.Host); host != "localhost" && net.ParseIP(host) == nil {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// clientIP is the peer address. No forwarding header is trusted: the web
// listener faces clients directly.
func clientIP(r *http.Request) net.IP {
	return net.ParseIP(hostOnly(r.RemoteAddr))
}

// authCtx is what an authenticated handler gets.
type authCtx struct {
	sess session
	acct *directory.Account
	// forced is why the password must be changed now ("" when it need not).
	forced string
}

const (
	forcedFirst   = "first"   // MustChangePassword: first login or reset
	forcedExpired = "expired" // older than Rules.MaxAgeDays
)

func (wb *Web) forcedReason(a *directory.Account) string {
	switch {
	case a.MustChangePassword:
		return forcedFirst
	case wb.opts.Rules.Expired(a.PasswordChanged, wb.opts.Now()):
		return forcedExpired
	}
	return ""
}

// allowedWhileForced are the paths a user who must change the password can
// still reach.
func allowedWhileForced(path string) bool {
	return path == "/password" || path == "/logout"
}

// authed wraps a handler that needs a logged-in, active user; POSTs must
// carry the session's CSRF token.
func (wb *Web) authed(h func(http.ResponseWriter, *http.Request, *authCtx)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var id string
		if c, err := r.Cookie(sessionCookie); err == nil {
			id = c.Value
		}
		s, ok := wb.sessions.get(id)
		if !ok {
			target := "/login"
			if id != "" {
				clearCookie(w, sessionCookie)
				target += "?expired=1"
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		acct, err := wb.opts.Dir.Lookup(r.Context(), s.Address)
		switch {
		case errors.Is(err, mailerr.ErrUnknownUser):
			wb.endSession(w, s)
			http.Redirect(w, r, "/login?expired=1", http.StatusSeeOther)
			return
		case err != nil:
			wb.fail(w, "lookup", err)
			return
		case acct.State != directory.StateActive:
			wb.endSession(w, s)
			e := mailerr.ErrAccountDisabled
			if acct.State == directory.StateRetired {
				e = e.WithMessage("Account is closed", "Tài khoản đã bị đóng")
			}
			wb.renderLogin(w, r, http.StatusForbidden, acct.Address, errorNotice(e))
			return
		}
		if r.Method == http.MethodPost && !sameToken(r.PostFormValue("csrf"), s.CSRF) {
			wb.log.Warn("web: POST without a valid CSRF token", "path", r.URL.Path, "address", s.Address, "ip", clientIP(r))
			wb.csrfRefused(w)
			return
		}
		wb.recordAccess(r.Context(), &s)
		c := &authCtx{sess: s, acct: acct, forced: wb.forcedReason(acct)}
		if c.forced != "" && !allowedWhileForced(r.URL.Path) {
			http.Redirect(w, r, "/password", http.StatusSeeOther)
			return
		}
		h(w, r, c)
	}
}

// recordAccess tells the policy engine about the first access of the day
// (Asia/Ho_Chi_Minh) of a session that began on an earlier day.
func (wb *Web) recordAccess(ctx context.Context, s *session) {
	if wb.markAccessed(s) && wb.opts.Policy != nil {
		wb.opts.Policy.RecordAccess(ctx, s.Address)
	}
}

// markAccessed notes today as the session's last access day; false when it
// already was.
func (wb *Web) markAccessed(s *session) bool {
	day := wb.opts.Now().In(vietnam()).Format(time.DateOnly)
	if s.AccessDay == day {
		return false
	}
	s.AccessDay = day
	wb.sessions.update(s.key, func(x *session) { x.AccessDay = day })
	return true
}

func (wb *Web) csrfRefused(w http.ResponseWriter) {
	wb.message(w, http.StatusForbidden,
		"Yêu cầu không hợp lệ: thiếu hoặc sai mã chống giả mạo (CSRF). Vui lòng tải lại trang rồi thử lại.",
		"Invalid request: missing or wrong anti-forgery (CSRF) token. Reload the page and try again.")
}

func (wb *Web) endSession(w http.ResponseWriter, s session) {
	wb.sessions.delete(s.key)
	clearCookie(w, sessionCookie)
}

// startSession logs address in: a new session id (never one the browser
// brought, against session fixation) in a fresh cookie.
func (wb *Web) startSession(w http.ResponseWriter, address string, flash *notice) session {
	id, s := wb.sessions.create(address)
	if flash != nil {
		wb.sessions.update(s.key, func(x *session) { x.Flash = flash })
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode})
	return s
}

func clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

func sameToken(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// loginToken is the form token tied to the login cookie (an HMAC, so the
// server keeps no state for visitors who have not logged in).
func (wb *Web) loginToken(cookie string) string {
	m := hmac.New(sha256.New, wb.loginKey)
	m.Write([]byte("login\x00" + cookie))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// fail answers a directory or backend failure with its classified,
// user-readable message; the cause goes to the log only.
func (wb *Web) fail(w http.ResponseWriter, what string, err error) {
	e := mailerr.Classify(err)
	wb.log.Warn("web: "+what+" failed", "err", err)
	code := e.HTTP()
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "30")
	}
	wb.message(w, code, sentence(e.MessageVI), sentence(e.Message))
}

func sentence(s string) string {
	if s == "" || strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}

// notice is a message box on a page.
type notice struct {
	Kind   string // "error" or "ok"
	VI, EN string
	Items  []password.Violation
}

func errorNotice(e *mailerr.Error) *notice {
	return &notice{Kind: "error", VI: sentence(e.MessageVI), EN: sentence(e.Message)}
}

// page is the data of every page template.
type page struct {
	Title, TitleEN string
	User           *userView
	CSRF           string
	Forced         bool
	AdminTab       string // "units", "reports", "usage", "audit" or "queue" on admin pages
	Notice         *notice
	Data           any
}

// userView is the logged-in user as the layout shows them.
type userView struct {
	Address, Name       string
	IsAdmin, IsOperator bool
}

func (wb *Web) pageFor(c *authCtx, title, titleEN string, data any) *page {
	p := &page{Title: title, TitleEN: titleEN, CSRF: c.sess.CSRF, Forced: c.forced != "", Data: data,
		User: &userView{Address: c.acct.Address, Name: c.acct.DisplayName, IsAdmin: isAdmin(c.acct),
			IsOperator: c.acct.Role == directory.RoleOperator}}
	p.Notice = wb.sessions.takeFlash(c.sess.key)
	return p
}

// render executes a page template into a buffer first, so that a template
// failure never leaves half a page.
func (wb *Web) render(w http.ResponseWriter, status int, name string, p *page) {
	var buf bytes.Buffer
	t, ok := pages[name]
	if !ok {
		wb.log.Error("web: no such template", "name", name)
		http.Error(w, "Lỗi máy chủ / Server error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		wb.log.Error("web: template failed", "name", name, "err", err)
		http.Error(w, "Lỗi máy chủ / Server error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// message writes a page with one notice and a link home.
func (wb *Web) message(w http.ResponseWriter, status int, vi, en string) {
	kind := "error"
	if status < 400 {
		kind = "ok"
	}
	wb.render(w, status, "message", &page{Title: "Thông báo", TitleEN: "Notice", Notice: &notice{Kind: kind, VI: vi, EN: en}})
}

func serveCSS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write([]byte(webCSS + adminCSS + mailCSS + opsCSS))
}
