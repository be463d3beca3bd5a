// Package account is the official's own room of the web: the account page,
// the password change (forced at first sign-in and when the password is
// too old) and the public client set-up page.
package account

import (
	"html/template"

	"congvu/sieve"
	"congvu/web/core"
	"congvu/web/twofactor"
)

// Options configures the account pages.
type Options struct {
	// Listeners are the mail client settings shown on the account page.
	Listeners []Listener
	// Hostname is server.hostname, the name mail apps use.
	Hostname string
	// Domains are the local domains, for the set-up page.
	Domains []string
	// Forwarding is the policy engine's forwarding; nil hides it.
	Forwarding Forwarding
	// Vacation is the vacation auto-reply delivery applies (the sieve
	// package); nil hides it.
	Vacation sieve.Settings
	// TwoFactor is two-factor sign-in and app passwords; nil: not offered.
	TwoFactor *twofactor.Store
}

// room is the account pages on a site.
type room struct {
	*core.Site
	opts Options
}

// Register adds the account pages to site.
func Register(site *core.Site, opts Options) {
	wb := &room{Site: site, opts: opts}
	site.HandleFunc("GET /{$}", wb.Authed(wb.home))
	site.HandleFunc("GET /password", wb.Authed(wb.passwordForm))
	site.HandleFunc("POST /password", wb.Authed(wb.passwordSubmit))
	site.HandleFunc("GET /security", wb.Authed(wb.securityPage))
	site.HandleFunc("POST /security", wb.Authed(wb.securitySubmit))
	site.HandleFunc("GET /settings", wb.Authed(wb.settingsPage))
	site.HandleFunc("POST /settings", wb.Authed(wb.settingsSubmit))
}

// tmpl are the account pages, parsed once.
var tmpl = func() map[string]*template.Template {
	return core.ParsePages("", map[string]string{"home": homeTemplate, "password": passwordTemplate, "settings": settingsTemplate, "security": securityTemplate})
}()
