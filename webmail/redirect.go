package webmail

import (
	"net"
	"net/http"
)

// PrivatePaths returns the paths of the authenticated web, which the
// plain HTTP listener never serves; mount HTTPSRedirect on each.
func PrivatePaths() []string {
	return []string{"/login", "/logout", "/password", "/admin", "/admin/", "/mail", "/mail/"}
}

// HTTPSRedirect sends a GET or HEAD of a private page on the plain HTTP
// listener to the same path on the HTTPS listener's port, on the host the
// browser used. Other methods are refused rather than redirected: a
// password already sent in clear must not be sent again. httpsPort ""
// means no HTTPS listener: the pages are simply not there.
func HTTPSRedirect(httpsPort string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w.Header())
		w.Header().Set("Cache-Control", "no-store")
		if httpsPort == "" {
			writeNotice(w, http.StatusNotFound, "Máy chủ chưa bật trang đăng nhập (HTTPS).", "The sign-in pages (HTTPS) are not enabled on this server.")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeNotice(w, http.StatusForbidden, "Chỉ được đăng nhập qua kết nối mã hoá HTTPS.", "Sign in only over an encrypted HTTPS connection.")
			return
		}
		host := hostOnly(r.Host)
		if host == "" { // HTTP/1.0 without Host: the address the client reached
			if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
				host = hostOnly(a.String())
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
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	danhbaMessageTemplate.Execute(w, struct {
		Code   int
		VI, EN string
	}{code, vi, en})
}
