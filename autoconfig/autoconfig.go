// Package autoconfig lets mail clients set themselves up: Thunderbird's
// autoconfig (config-v1.1.xml), Outlook's Autodiscover (POX and the v2 JSON
// service), an Apple configuration profile (.mobileconfig) for iPhone and
// iPad, a settings page with a QR code for Android, and the MTA-STS policy
// (RFC 8461) that `congvu dns` tells operators to publish.
//
// Every answer names the host clients must use (server.hostname or the
// domain's override), never the address a listener happens to be bound to,
// and describes only what congvu is: IMAP, POP3, SMTP submission, the LDAP
// and CardDAV address books. It never pretends to be Exchange.
//
// Discovery is keyed by host name: Thunderbird asks
// autoconfig.<domain>/mail/config-v1.1.xml, which on congvu's own host
// name would collide with the webmail's /mail, so HostRouter sends requests
// for the autoconfig., autodiscover. and mta-sts. names here and everything
// else to the web.
package autoconfig

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"
)

// Ports are the ports clients are told, 0 when a service is off.
type Ports struct {
	IMAPS, IMAP, POP3S, POP3, Submissions, Submission int
	HTTPS, LDAP, LDAPS, ManageSieve                   int
}

// Options configure a Handler.
type Options struct {
	// Domains are the local domains; the first is the default when a
	// request names none.
	Domains []string
	// Hostname returns the host name clients of a domain connect to.
	Hostname func(domain string) string
	Ports    Ports
	// LDAPBaseDN returns the address book's search base for a domain.
	LDAPBaseDN func(domain string) string
	// CardDAV says whether /.well-known/carddav is served.
	CardDAV bool
	// MTASTS is the RFC 8461 policy mode ("testing", "enforce", "none")
	// and max_age in seconds.
	MTASTSMode   string
	MTASTSMaxAge int
	// HTTPS is true for the handler mounted on the TLS listener: the plain
	// HTTP one redirects Autodiscover to HTTPS (Outlook's "HTTP redirect
	// method", MS-OXDSCLI 3.1.5.2) instead of answering it.
	HTTPS bool
	// Renames knows the addresses that changed in a reorganisation; nil
	// knows none.
	Renames Renames
	Logger  *slog.Logger
}

// Renames tells discovery about a merged province's old domain and the
// old addresses of transferred officials, so that a client set up with
// an old address gets the real server settings and the new address as
// its login.
type Renames interface {
	// AliasDomain returns the local domain an alias domain delivers to.
	AliasDomain(ctx context.Context, domain string) (string, bool)
	// CurrentAddress returns the account's address today when address is
	// an old one of it (transitional, or at an alias domain), else "".
	CurrentAddress(ctx context.Context, address string) string
}

// current is the address to set a client up with: the account's new one
// for an old address, else address itself.
func (h *Handler) current(r *http.Request, address string) string {
	if h.opts.Renames == nil || address == "" {
		return address
	}
	if now := h.opts.Renames.CurrentAddress(r.Context(), address); now != "" {
		return now
	}
	return address
}

// aliasTarget is the local domain alias domain d delivers to, "" when d
// is none.
func (h *Handler) aliasTarget(r *http.Request, d string) string {
	if h.opts.Renames == nil {
		return ""
	}
	if t, ok := h.opts.Renames.AliasDomain(r.Context(), d); ok && h.domains[t] {
		return t
	}
	return ""
}

// Handler serves the discovery documents and set-up pages.
type Handler struct {
	opts    Options
	domains map[string]bool
	mux     *http.ServeMux
}

// maxRequestBody bounds an Autodiscover POST (its request is ~400 bytes).
const maxRequestBody = 64 << 10

// New returns the handler for opts.
func New(opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Hostname == nil {
		opts.Hostname = func(string) string { return "localhost" }
	}
	h := &Handler{opts: opts, domains: map[string]bool{}, mux: http.NewServeMux()}
	for _, d := range opts.Domains {
		h.domains[strings.ToLower(d)] = true
	}
	h.mux.HandleFunc("GET /.well-known/autoconfig/mail/config-v1.1.xml", h.thunderbird)
	h.mux.HandleFunc("GET /setup/{$}", h.setupIndex)
	h.mux.HandleFunc("GET /setup/congvu.mobileconfig", h.mobileconfig)
	h.mux.HandleFunc("GET /setup/android", h.android)
	h.mux.HandleFunc("GET /setup/android.png", h.androidQR)
	h.mux.HandleFunc("GET /setup/setup.css", serveCSS)
	return h
}

// Patterns are the paths to mount the handler on in the web's mux (for
// requests to congvu's own host name).
func Patterns() []string {
	out := []string{"GET /.well-known/autoconfig/mail/config-v1.1.xml", "GET /setup/"}
	// With methods: a method-less pattern would conflict with "GET /".
	for _, p := range []string{"/autodiscover/", "/Autodiscover/", "/AutoDiscover/"} {
		out = append(out, "GET "+p, "POST "+p)
	}
	return out
}

// ServeHTTP serves the paths in Patterns.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Autodiscover paths are matched without regard to case, as IIS does
	// and as clients spell them in several ways.
	if p := strings.ToLower(r.URL.Path); strings.HasPrefix(p, "/autodiscover/") {
		switch {
		case p == "/autodiscover/autodiscover.xml":
			h.outlookPOX(w, r)
			return
		case p == "/autodiscover/autodiscover.json" || strings.HasPrefix(p, "/autodiscover/autodiscover.json/"):
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
				return
			}
			h.outlookJSON(w, r)
			return
		}
		http.NotFound(w, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// HostRouter sends requests for autoconfig.<domain>, autodiscover.<domain>
// and mta-sts.<domain> (for a local domain) here and every other request
// to next.
func (h *Handler) HostRouter(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := requestHost(r)
		prefix, domain, _ := strings.Cut(host, ".")
		if !h.domains[domain] && (prefix != "autoconfig" && prefix != "autodiscover" || h.aliasTarget(r, domain) == "") {
			next.ServeHTTP(w, r)
			return
		}
		switch prefix {
		case "autoconfig":
			// Thunderbird: http(s)://autoconfig.<domain>/mail/config-v1.1.xml
			if r.URL.Path == "/mail/config-v1.1.xml" || r.URL.Path == "/.well-known/autoconfig/mail/config-v1.1.xml" {
				if r.Method != http.MethodGet && r.Method != http.MethodHead {
					http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
					return
				}
				h.thunderbird(w, r)
				return
			}
			http.NotFound(w, r)
		case "autodiscover":
			h.ServeHTTP(w, r)
		case "mta-sts":
			// RFC 8461 3.3: only over HTTPS, at this one path.
			if h.opts.HTTPS && r.URL.Path == "/.well-known/mta-sts.txt" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
				h.mtaSTS(w, r, domain)
				return
			}
			http.NotFound(w, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// requestHost is the request's host name, lower case, without port.
func requestHost(r *http.Request) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// domainFor picks the local domain a request is about: the domain of the
// address it names, else the one its host name is under, else the first.
// ok is false when the address names a domain that is not ours.
func (h *Handler) domainFor(r *http.Request, address string) (domain string, ok bool) {
	if address != "" {
		at := strings.LastIndexByte(address, '@')
		d := strings.ToLower(address[at+1:])
		if t := h.aliasTarget(r, d); t != "" && !h.domains[d] {
			return t, true
		}
		return d, h.domains[d]
	}
	host := requestHost(r)
	for {
		if h.domains[host] {
			return host, true
		}
		if t := h.aliasTarget(r, host); t != "" {
			return t, true
		}
		_, rest, found := strings.Cut(host, ".")
		if !found {
			break
		}
		host = rest
	}
	if len(h.opts.Domains) == 0 {
		return "", false
	}
	return strings.ToLower(h.opts.Domains[0]), true
}

// cleanAddress validates an address from a request: RFC 5322 addr-spec
// only (no display name, no comments), at most 254 octets (RFC 5321
// 4.5.3.1.3), lower-cased. "" when absent or invalid.
func cleanAddress(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 254 || strings.ContainsAny(s, "<>\"(), \t\r\n") {
		return ""
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || !strings.Contains(a.Address, "@") {
		return ""
	}
	return strings.ToLower(a.Address)
}

// settings is what one domain's clients are told.
type settings struct {
	Domain, Hostname, Address string
	Ports
	BaseDN     string
	CardDAVURL string // "" when CardDAV is off
	WebURL     string // "" without HTTPS
}

func (h *Handler) settings(domain, address string) settings {
	s := settings{Domain: domain, Hostname: h.opts.Hostname(domain), Address: address, Ports: h.opts.Ports}
	if h.opts.LDAPBaseDN != nil {
		s.BaseDN = h.opts.LDAPBaseDN(domain)
	}
	if s.HTTPS != 0 {
		s.WebURL = "https://" + hostPort(s.Hostname, s.HTTPS, 443) + "/"
		if h.opts.CardDAV {
			s.CardDAVURL = s.WebURL + ".well-known/carddav"
		}
	}
	return s
}

// hostPort writes host[:port], leaving out the protocol's default port.
func hostPort(host string, port, def int) string {
	if port == def {
		return host
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// Domains lists the handler's domains (for the index page).
func (h *Handler) Domains() []string { return slices.Clone(h.opts.Domains) }

func securityHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-cache")
}
