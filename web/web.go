// Package web assembles congvu's web: the site of the HTTPS listener
// (web/core) with its rooms — the account pages (web/account), the
// webmail (web/mail) and the admin pages (web/admin) — and the redirect
// of the plain HTTP listener. The public danh bạ (web/danhba) and the
// client set-up page (account.SetupPage) are mounted by the server beside
// it.
package web

import (
	"log/slog"
	"net"
	"net/http"
	"time"

	"congvu/directory"
	"congvu/policy/password"
	"congvu/web/account"
	"congvu/web/admin"
	"congvu/web/core"
	"congvu/web/danhba"
	"congvu/web/mail"
	"congvu/web/webdb"
)

// Options configures the whole authenticated web.
type Options struct {
	// Dir is the directory: logins, account pages and admin actions.
	Dir directory.Writer
	// Rules apply to every password a user chooses.
	Rules password.Rules
	// Policy is the policy engine's login hooks; nil means none.
	Policy core.LoginPolicy
	// SessionIdle and SessionMax are the session timeouts; defaults 30
	// minutes and 12 hours.
	SessionIdle, SessionMax time.Duration
	// Logger receives logins, refusals and admin actions; never passwords.
	Logger *slog.Logger
	// Now is the clock, for tests; default time.Now.
	Now func() time.Time
	// DB keeps the sessions and the officials' web settings; nil keeps
	// sessions in memory.
	DB *webdb.DB
	// SecondFactor asks for a code after the password (two-factor
	// sign-in); nil: passwords only.
	SecondFactor core.SecondFactor
	// Home forwards mailbox pages to the home node of the mailbox (a
	// cluster); nil on a single node.
	Home *core.HomeProxy

	Account account.Options
	Mail    mail.Options
	Admin   admin.Options
}

// New returns the authenticated web with every room. Mount it at "/" of
// the HTTPS listener.
func New(opts Options) *core.Site {
	site := core.New(core.Options{Dir: opts.Dir, Rules: opts.Rules, Policy: opts.Policy,
		SessionIdle: opts.SessionIdle, SessionMax: opts.SessionMax, Logger: opts.Logger, Now: opts.Now, DB: opts.DB,
		SecondFactor: opts.SecondFactor, Home: opts.Home})
	account.Register(site, opts.Account)
	mail.Register(site, opts.Mail)
	admin.Register(site, opts.Admin)
	return site
}

// PrivatePaths returns the paths of the authenticated web, which the
// plain HTTP listener never serves; mount HTTPSRedirect on each.
func PrivatePaths() []string {
	return []string{"/login", "/login/", "/logout", "/password", "/admin", "/admin/", "/mail", "/mail/", "/settings", "/security"}
}

// HTTPSRedirect sends a GET or HEAD of a private page on the plain HTTP
// listener to the same path on the HTTPS listener's port, on the host the
// browser used. Other methods are refused rather than redirected: a
// password already sent in clear must not be sent again. httpsPort ""
// means no HTTPS listener: the pages are simply not there.
func HTTPSRedirect(httpsPort string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		danhba.SetSecurityHeaders(w.Header())
		w.Header().Set("Cache-Control", "no-store")
		if httpsPort == "" {
			writeNotice(w, http.StatusNotFound, "Máy chủ chưa bật trang đăng nhập (HTTPS).", "The sign-in pages (HTTPS) are not enabled on this server.")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeNotice(w, http.StatusForbidden, "Chỉ được đăng nhập qua kết nối mã hoá HTTPS.", "Sign in only over an encrypted HTTPS connection.")
			return
		}
		host := core.HostOnly(r.Host)
		if host == "" { // HTTP/1.0 without Host: the address the client reached
			if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
				host = core.HostOnly(a.String())
			}
		}
		target := "https://" + net.JoinHostPort(host, httpsPort) + r.URL.Path
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusPermanentRedirect)
	})
}

// writeNotice writes a minimal page with the public pages' style.
func writeNotice(w http.ResponseWriter, code int, vi, en string) {
	danhba.WriteNotice(w, code, vi, en)
}
