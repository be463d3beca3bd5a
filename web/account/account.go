// Package account is the official's own room of the web: the account page,
// the password change (forced at first sign-in and when the password is
// too old) and the public client set-up page.
package account

import (
	"html/template"

	"congvu/web/core"
)

// Options configures the account pages.
type Options struct {
	// Listeners are the mail client settings shown on the account page.
	Listeners []Listener
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
}

// tmpl are the account pages, parsed once.
var tmpl = func() map[string]*template.Template {
	return core.ParsePages("", map[string]string{"home": homeTemplate, "password": passwordTemplate})
}()
