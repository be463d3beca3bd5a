// Package core is what every room of congvu's authenticated web shares:
// the site (one http.Handler and its mux), sessions, sign-in, the CSRF
// checks, the page layout and its templates, the security headers (CSP)
// and the embedded static assets. The rooms — web/account, web/mail,
// web/admin — register their pages on a *Site; web/danhba is public and
// stands apart. The web package assembles them.
//
// Security model. Sessions are server-side, identified by 256 random bits
// in a __Host- cookie (HttpOnly, Secure, SameSite=Lax, path /). Every POST
// passes two independent checks: net/http's CrossOriginProtection
// (Sec-Fetch-Site, else Origin against Host) and a synchroniser token — the
// session's CSRF token, or before login an HMAC of a random login cookie.
// Pages send a CSP without any script, X-Frame-Options DENY and no-store.
// Every request re-reads the account, so a lock, a retirement or a reset by
// an administrator takes effect on the next click.
package core

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"time"

	"congvu/directory"
	"congvu/internal/mailerr"
	"congvu/policy/password"
	"congvu/web/webdb"
)

const (
	sessionCookie = "__Host-congvu-session"
	loginCookie   = "__Host-congvu-login"
	// MaxFormBytes bounds a POST body of an ordinary form; a room with
	// larger forms (mail with attachments) raises it for its own paths.
	MaxFormBytes = 64 << 10
)

// Options configures the site.
type Options struct {
	// Dir is the directory: logins, account pages and admin actions.
	Dir directory.Writer
	// Rules apply to every password a user chooses.
	Rules password.Rules
	// Policy is the policy engine's login hooks; nil means none.
	Policy LoginPolicy
	// SessionIdle and SessionMax are the session timeouts; defaults 30
	// minutes and 12 hours.
	SessionIdle, SessionMax time.Duration
	// Logger receives logins, refusals and admin actions; never passwords.
	Logger *slog.Logger
	// Now is the clock, for tests; default time.Now.
	Now func() time.Time
	// DB keeps the sessions across restarts; nil keeps them in memory.
	DB *webdb.DB
	// SecondFactor asks for a code after the password of officials who
	// turned two-factor sign-in on; nil: passwords only.
	SecondFactor SecondFactor
	// Home forwards the mailbox pages of officials whose mailbox is on
	// another node of a cluster, and accepts those forwarded here
	// (homeproxy.go); nil on a single node.
	Home *HomeProxy
}

// Site is the http.Handler of the HTTPS listener's private pages. Rooms
// register their pages with Handle; the handlers they wrap with Authed
// get the signed-in official.
type Site struct {
	opts     Options
	Log      *slog.Logger
	sessions *sessionStore
	loginKey []byte // HMAC key of login form tokens
	cop      *http.CrossOriginProtection
	mux      *http.ServeMux
	handler  http.Handler // mux behind the cross-origin check
	// bodyLimits are larger POST body limits by path.
	bodyLimits map[string]int64
}

// New returns the site with sign-in, sign-out, the static assets and the
// not-found page. Mount it at "/" of the HTTPS listener (public pages such
// as /danhba may be mounted beside it).
func New(opts Options) *Site {
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
	s := &Site{opts: opts, Log: opts.Logger, sessions: newSessionStore(opts.SessionIdle, opts.SessionMax, opts.Now, opts.DB, opts.Logger),
		loginKey: []byte(rand.Text()), cop: http.NewCrossOriginProtection(), mux: http.NewServeMux(),
		bodyLimits: map[string]int64{}}
	s.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Log.Warn("web: cross-origin POST refused", "path", r.URL.Path, "origin", r.Header.Get("Origin"),
			"sec_fetch_site", r.Header.Get("Sec-Fetch-Site"), "ip", ClientIP(r))
		s.Message(w, http.StatusForbidden, "Yêu cầu bị từ chối vì không xuất phát từ trang của hệ thống.",
			"Request refused: it did not come from this site's pages.")
	}))
	m := s.mux
	assets := Assets()
	for _, p := range []string{"GET /static/{file}", "GET /favicon.ico", "GET /robots.txt"} {
		m.Handle(p, assets)
	}
	m.HandleFunc("GET /login", s.loginForm)
	m.HandleFunc("POST /login", s.loginSubmit)
	m.HandleFunc("POST /login/code", s.codeSubmit)
	m.HandleFunc("POST /logout", s.Authed(s.logout))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.Message(w, http.StatusNotFound, "Không tìm thấy trang.", "Page not found.")
	})
	// CrossOriginProtection lets safe methods through and checks the rest.
	s.handler = s.cop.Handler(m)
	return s
}

// Handle registers a page of a room (a net/http ServeMux pattern).
func (s *Site) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// HandleFunc registers a page of a room.
func (s *Site) HandleFunc(pattern string, h http.HandlerFunc) { s.mux.HandleFunc(pattern, h) }

// LimitBody raises the POST body limit of one path (e.g. a form with
// attachments); every other POST is bounded by MaxFormBytes.
func (s *Site) LimitBody(path string, n int64) { s.bodyLimits[path] = n }

// DB is the web database; nil when the site keeps everything in memory.
func (s *Site) DB() *webdb.DB { return s.opts.DB }

// Dir is the directory the site signs in against.
func (s *Site) Dir() directory.Writer { return s.opts.Dir }

// Rules are the password rules.
func (s *Site) Rules() password.Rules { return s.opts.Rules }

// Now is the site's clock.
func (s *Site) Now() time.Time { return s.opts.Now() }

func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	SetPrivateHeaders(w.Header(), r)
	if r.Method == http.MethodPost {
		limit := int64(MaxFormBytes)
		if n, ok := s.bodyLimits[r.URL.Path]; ok {
			limit = n
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
	}
	s.handler.ServeHTTP(w, r)
}

// SetPrivateHeaders sets the headers of every page of the private web.
func SetPrivateHeaders(h http.Header, r *http.Request) {
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin keeps the Origin header on our own POSTs (Fetch 3.2.5).
	h.Set("Referrer-Policy", "same-origin")
	// No window that opened ours keeps a handle on it, and Chrome on
	// Android isolates the site in its own process. It costs a
	// browsing-context-group switch on a cold load, which Lighthouse counts
	// as blocking time (README, Lighthouse): kept on purpose.
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	// RFC 6797 8.1: browsers ignore HSTS for IP addresses; "localhost" is
	// left out so that a demo's plain HTTP listener stays reachable.
	if host := HostOnly(r.Host); host != "localhost" && net.ParseIP(host) == nil {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

// HostOnly is the host of a host:port, or the argument when it has no port.
func HostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// ClientIP is the peer address. No forwarding header is trusted: the web
// listener faces clients directly.
func ClientIP(r *http.Request) net.IP {
	return net.ParseIP(HostOnly(r.RemoteAddr))
}

// Ctx is what an authenticated handler gets.
type Ctx struct {
	Session Session
	Acct    *directory.Account
	// Forced is why the password must be changed now ("" when it need not).
	Forced string
	// fwd is set when another node forwarded the request (homeproxy.go).
	fwd *forwardedCtx
}

const (
	ForcedFirst   = "first"   // MustChangePassword: first login or reset
	ForcedExpired = "expired" // older than Rules.MaxAgeDays
)

func (s *Site) forcedReason(a *directory.Account) string {
	switch {
	case a.MustChangePassword:
		return ForcedFirst
	case s.opts.Rules.Expired(a.PasswordChanged, s.opts.Now()):
		return ForcedExpired
	}
	return ""
}

// allowedWhileForced are the paths a user who must change the password can
// still reach.
func allowedWhileForced(path string) bool {
	return path == "/password" || path == "/logout"
}

// Authed wraps a handler that needs a logged-in, active user; POSTs must
// carry the session's CSRF token.
func (s *Site) Authed(h func(http.ResponseWriter, *http.Request, *Ctx)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(HomeTicketHeader) != "" {
			s.authedForwarded(w, r, h) // from another node of the cluster
			return
		}
		var id string
		if c, err := r.Cookie(sessionCookie); err == nil {
			id = c.Value
		}
		sess, ok := s.sessions.get(id)
		if !ok {
			target := "/login"
			if id != "" {
				clearCookie(w, sessionCookie)
				target += "?expired=1"
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		acct, err := s.opts.Dir.Lookup(r.Context(), sess.Address)
		switch {
		case errors.Is(err, mailerr.ErrUnknownUser):
			s.endSession(w, sess)
			http.Redirect(w, r, "/login?expired=1", http.StatusSeeOther)
			return
		case err != nil:
			s.Fail(w, "lookup", err)
			return
		case acct.State != directory.StateActive:
			s.endSession(w, sess)
			e := mailerr.ErrAccountDisabled
			if acct.State == directory.StateRetired {
				e = e.WithMessage("Account is closed", "Tài khoản đã bị đóng")
			}
			s.renderLogin(w, r, http.StatusForbidden, acct.Address, ErrorNotice(e))
			return
		}
		home := s.opts.Home.elsewhere(r, acct)
		if r.Method == http.MethodPost {
			var ok bool
			if home != "" {
				ok = checkTokenKeepingBody(r, sess.CSRF) // the body is forwarded whole
			} else {
				var token string
				token, r = postToken(r)
				ok = sameToken(token, sess.CSRF)
			}
			if !ok {
				s.Log.Warn("web: POST without a valid CSRF token", "path", r.URL.Path, "address", sess.Address, "ip", ClientIP(r))
				s.csrfRefused(w)
				return
			}
		}
		s.recordAccess(r.Context(), &sess)
		c := &Ctx{Session: sess, Acct: acct, Forced: s.forcedReason(acct)}
		if c.Forced != "" && !allowedWhileForced(r.URL.Path) {
			http.Redirect(w, r, "/password", http.StatusSeeOther)
			return
		}
		if home != "" {
			s.forward(w, r, c, home) // the mailbox is on another node
			return
		}
		h(w, r, c)
	}
}

// recordAccess tells the policy engine about the first access of the day
// (Asia/Ho_Chi_Minh) of a session that began on an earlier day.
func (s *Site) recordAccess(ctx context.Context, sess *Session) {
	if s.markAccessed(sess) && s.opts.Policy != nil {
		s.opts.Policy.RecordAccess(ctx, sess.Address)
	}
}

// markAccessed notes today as the session's last access day; false when it
// already was.
func (s *Site) markAccessed(sess *Session) bool {
	day := s.opts.Now().In(Vietnam()).Format(time.DateOnly)
	if sess.AccessDay == day {
		return false
	}
	sess.AccessDay = day
	s.sessions.update(sess.key, func(x *Session) { x.AccessDay = day })
	return true
}

// multipartKey keeps a multipart form's reader, its token part read.
type multipartKey struct{}

// postToken reads a POST's CSRF token. A multipart form (one with files)
// must send the token as its first part: it is read alone, and the rest
// is left to the handler (Multipart), so that a form too large for the
// body limit still reaches its handler with the fields before the file
// and can say what was too large.
func postToken(r *http.Request) (string, *http.Request) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return r.PostFormValue("csrf"), r
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return "", r
	}
	p, err := mr.NextPart()
	if err != nil || p.FormName() != "csrf" {
		return "", r
	}
	b, _ := io.ReadAll(io.LimitReader(p, 256))
	return string(b), r.WithContext(context.WithValue(r.Context(), multipartKey{}, mr))
}

// Multipart is the rest of a multipart POST after its CSRF token; nil for
// other requests.
func Multipart(r *http.Request) *multipart.Reader {
	mr, _ := r.Context().Value(multipartKey{}).(*multipart.Reader)
	return mr
}

func (s *Site) csrfRefused(w http.ResponseWriter) {
	s.Message(w, http.StatusForbidden,
		"Yêu cầu không hợp lệ: thiếu hoặc sai mã chống giả mạo (CSRF). Vui lòng tải lại trang rồi thử lại.",
		"Invalid request: missing or wrong anti-forgery (CSRF) token. Reload the page and try again.")
}

func (s *Site) endSession(w http.ResponseWriter, sess Session) {
	s.sessions.delete(sess.key)
	clearCookie(w, sessionCookie)
}

// StartSession logs address in: a new session id (never one the browser
// brought, against session fixation) in a fresh cookie.
func (s *Site) StartSession(w http.ResponseWriter, address string, flash *Notice) Session {
	id, sess := s.sessions.create(address)
	if flash != nil {
		s.sessions.update(sess.key, func(x *Session) { x.Flash = flash })
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode})
	return sess
}

// EndSessions ends every session of address except the one of the request
// c (nil: all of them), after a password change, a reset, a lock or a
// retirement. It returns how many ended.
func (s *Site) EndSessions(address string, except *Ctx) int {
	key := ""
	if except != nil {
		key = except.Session.key
	}
	return s.sessions.endUser(address, key)
}

// SessionCount is the number of live sessions held.
func (s *Site) SessionCount() int { return s.sessions.len() }

// SetFlash shows n once, on the next page of c's session.
func (s *Site) SetFlash(c *Ctx, n *Notice) {
	if c.fwd != nil {
		sendFlashBack(c.fwd, n)
		return
	}
	s.sessions.update(c.Session.key, func(x *Session) { x.Flash = n })
}

// FlashAndGo shows n on the next page and redirects there (POST, then
// GET: a reload does not repeat the action).
func (s *Site) FlashAndGo(w http.ResponseWriter, r *http.Request, c *Ctx, to string, n *Notice) {
	s.SetFlash(c, n)
	http.Redirect(w, r, to, http.StatusSeeOther)
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
func (s *Site) loginToken(cookie string) string {
	m := hmac.New(sha256.New, s.loginKey)
	m.Write([]byte("login\x00" + cookie))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Fail answers a directory or backend failure with its classified,
// user-readable message; the cause goes to the log only.
func (s *Site) Fail(w http.ResponseWriter, what string, err error) {
	e := mailerr.Classify(err)
	s.Log.Warn("web: "+what+" failed", "err", err)
	code := e.HTTP()
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "30")
	}
	s.Message(w, code, Sentence(e.MessageVI), Sentence(e.Message))
}

// Sentence ends s with a full stop.
func Sentence(s string) string {
	if s == "" || strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}

// Notice is a message box on a page.
type Notice struct {
	Kind   string // "error", "ok" or "info"
	VI, EN string
	Items  []password.Violation
}

// ErrorNotice is the notice of a refusal.
func ErrorNotice(e *mailerr.Error) *Notice {
	return &Notice{Kind: "error", VI: Sentence(e.MessageVI), EN: Sentence(e.Message)}
}

// Page is the data of every page template.
type Page struct {
	Title, TitleEN string
	User           *UserView
	CSRF           string
	Forced         bool
	AdminTab       string // "units", "reports", "usage", "audit" or "queue" on admin pages
	Notice         *Notice
	Data           any
	// Scripts are the page's own scripts under /static (progressive
	// enhancement; the page works without them).
	Scripts []string
	// EnglishFirst: the official chose English; the English labels are
	// then shown in full rather than as small print.
	EnglishFirst bool
}

// UserView is the logged-in user as the layout shows them.
type UserView struct {
	Address, Name       string
	IsAdmin, IsOperator bool
}

// IsAdmin tells whether a reaches the admin pages.
func IsAdmin(a *directory.Account) bool {
	return a.Role == directory.RoleAdmin || a.Role == directory.RoleOperator
}

// Page is the page of c's session with data, taking the session's flash.
func (s *Site) Page(c *Ctx, title, titleEN string, data any) *Page {
	p := &Page{Title: title, TitleEN: titleEN, CSRF: c.Session.CSRF, Forced: c.Forced != "", Data: data,
		User: &UserView{Address: c.Acct.Address, Name: c.Acct.DisplayName, IsAdmin: IsAdmin(c.Acct),
			IsOperator: c.Acct.Role == directory.RoleOperator}}
	if c.fwd != nil {
		p.Notice = c.fwd.notice
	} else {
		p.Notice = s.sessions.takeFlash(c.Session.key)
	}
	if s.opts.DB != nil {
		lang, _ := s.opts.DB.Setting(context.Background(), c.Acct.Address, webdb.SettingLanguage)
		p.EnglishFirst = lang == "en"
	}
	return p
}

// Render executes a page template (one of a room's Pages) into a buffer
// first, so that a template failure never leaves half a page.
func (s *Site) Render(w http.ResponseWriter, status int, t *template.Template, p *Page) {
	var buf bytes.Buffer
	if t == nil {
		s.Log.Error("web: no such template", "title", p.TitleEN)
		http.Error(w, "Lỗi máy chủ / Server error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		s.Log.Error("web: template failed", "title", p.TitleEN, "err", err)
		http.Error(w, "Lỗi máy chủ / Server error", http.StatusInternalServerError)
		return
	}
	if len(p.Scripts) > 0 {
		// The page's own scripts, from this origin only; never inline.
		h := w.Header()
		h.Set("Content-Security-Policy", h.Get("Content-Security-Policy")+"; script-src 'self'; connect-src 'self'")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// Message writes a page with one notice and a link home.
func (s *Site) Message(w http.ResponseWriter, status int, vi, en string) {
	kind := "error"
	if status < 400 {
		kind = "ok"
	}
	s.Render(w, status, corePages["message"], &Page{Title: "Thông báo", TitleEN: "Notice", Notice: &Notice{Kind: kind, VI: vi, EN: en}})
}
