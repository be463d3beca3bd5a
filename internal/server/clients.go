package server

import (
	"fmt"
	"net"
	"net/http"
	"strconv"

	"congvu/addressbook"
	"congvu/autoconfig"
	"congvu/carddav"
	"congvu/directory"
	"congvu/internal/config"
	"congvu/web/account"
)

// What mail clients are told and where they discover it (issue 13):
// autoconfig, Autodiscover, the set-up pages and the MTA-STS policy, all
// naming server.hostname (or the domain's override), never the address a
// listener is bound to.

// certificateNames are the names the self-signed certificate covers: the
// host names clients are told, each domain (Thunderbird and Outlook also
// ask https://<domain>/) and the discovery names under it.
func certificateNames(cfg config.Config) []string {
	names := cfg.Server.ClientHostnames()
	for _, d := range cfg.Server.LocalDomains {
		names = append(names, d, "autoconfig."+d, "autodiscover."+d, "mta-sts."+d)
	}
	return append(names, "localhost", "127.0.0.1", "::1")
}

// boundPort is the port of a bound listener, 0 when it is off.
func boundPort(addrs map[string]string, name string) int {
	_, p, err := net.SplitHostPort(addrs[name])
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

// clientPorts are the ports clients are told: those bound.
func clientPorts(addrs map[string]string) autoconfig.Ports {
	return autoconfig.Ports{
		IMAPS: boundPort(addrs, "imaps"), IMAP: boundPort(addrs, "imap"),
		POP3S: boundPort(addrs, "pop3s"), POP3: boundPort(addrs, "pop3"),
		Submissions: boundPort(addrs, "submissions"), Submission: boundPort(addrs, "submission"),
		HTTPS: boundPort(addrs, "https"), LDAP: boundPort(addrs, "ldap"), LDAPS: boundPort(addrs, "ldaps"),
		ManageSieve: boundPort(addrs, "managesieve"),
	}
}

// mountDiscovery serves autoconfig and Autodiscover on both web listeners
// and returns their handlers wrapped in the host router (autoconfig.,
// autodiscover. and mta-sts. names go to discovery, the rest to the web).
func mountDiscovery(cfg config.Config, addrs map[string]string, httpMux, httpsMux *http.ServeMux, r *Running) (httpHandler, httpsHandler http.Handler) {
	opts := autoconfig.Options{
		Domains:      cfg.Server.LocalDomains,
		Hostname:     cfg.Server.ClientHostname,
		Ports:        clientPorts(addrs),
		CardDAV:      cfg.AddressBook.CardDAV,
		MTASTSMode:   cfg.Publish.MTASTSMode,
		MTASTSMaxAge: cfg.Publish.MTASTSMaxAgeDays * 86400,
		Logger:       r.log.With("component", "autoconfig"),
	}
	if opts.Ports.LDAP != 0 || opts.Ports.LDAPS != 0 {
		opts.LDAPBaseDN = cfg.AddressBook.BaseDN
	}
	if org := OrgDB(r.Dir); org != nil {
		opts.Renames = renames{dir: r.Dir, org: org}
	}
	plain := autoconfig.New(opts)
	opts.HTTPS = true
	secure := autoconfig.New(opts)
	for _, p := range autoconfig.Patterns() {
		httpMux.Handle(p, plain)
		httpsMux.Handle(p, secure)
	}
	return plain.HostRouter(httpMux), secure.HostRouter(httpsMux)
}

// clientListeners describes the bound mail listeners for the set-up page
// and the account page, by the host name clients must use.
func clientListeners(cfg config.Config, addrs map[string]string) []account.Listener {
	host := cfg.Server.ClientHostname(cfg.Server.LocalDomains[0])
	var out []account.Listener
	for _, l := range []struct {
		service, name, security string
	}{
		{"IMAP (nhận thư / incoming)", "imaps", "SSL/TLS"},
		{"IMAP (nhận thư / incoming)", "imap", "STARTTLS"},
		{"POP3 (nhận thư / incoming)", "pop3s", "SSL/TLS"},
		{"POP3 (nhận thư / incoming)", "pop3", "STARTTLS"},
		{"SMTP (gửi thư / outgoing)", "submissions", "SSL/TLS"},
		{"SMTP (gửi thư / outgoing)", "submission", "STARTTLS"},
		{"Web (đăng nhập, đổi mật khẩu / sign in, password)", "https", "HTTPS"},
		{"LDAP (danh bạ / address book)", "ldaps", "SSL/TLS"},
		{"LDAP (danh bạ / address book)", "ldap", "STARTTLS"},
		{"ManageSieve (quy tắc thư / mail rules)", "managesieve", "STARTTLS"},
	} {
		if p := boundPort(addrs, l.name); p != 0 {
			out = append(out, account.Listener{Service: l.service, Addr: net.JoinHostPort(host, strconv.Itoa(p)), Security: l.security})
		}
	}
	return out
}

// mountCardDAV serves the address books on the HTTPS listener; the plain
// one sends CardDAV discovery there.
func mountCardDAV(cfg config.Config, httpMux, httpsMux *http.ServeMux, r *Running, book *addressbook.Book) error {
	if !cfg.AddressBook.CardDAV {
		return nil
	}
	personal, err := carddav.OpenPersonal(cfg.Path(cfg.AddressBook.PersonalPath), cfg.AddressBook.MaxPersonalContacts)
	if err != nil {
		return fmt.Errorf("carddav: %w", err)
	}
	h := carddav.New(carddav.Options{Book: book, Dir: r.Dir, Policy: r.Policy, Personal: personal,
		SizeLimit: cfg.AddressBook.SizeLimit, Logger: r.log.With("component", "carddav")})
	httpsMux.Handle("/.well-known/carddav", h)
	httpsMux.Handle(carddav.Prefix+"/", h)
	httpsMux.Handle(carddav.Prefix, h)
	httpsPort := boundPort(r.Addrs, "https")
	if httpsPort == 0 {
		return nil
	}
	toHTTPS := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		host, _, err := net.SplitHostPort(req.Host)
		if err != nil {
			host = req.Host
		}
		target := "https://" + net.JoinHostPort(host, strconv.Itoa(httpsPort)) + req.URL.RequestURI()
		http.Redirect(w, req, target, http.StatusPermanentRedirect)
	})
	for _, m := range []string{"GET", "PROPFIND"} {
		httpMux.Handle(m+" /.well-known/carddav", toHTTPS)
	}
	return nil
}

// passwordChangeURL makes the address of the web's password form that mail
// clients refused an expired password are told: the host name the
// official's domain is served under and the HTTPS listener's port (left out
// when it is 443). No HTTPS listener: no address.
func passwordChangeURL(srv config.Server, httpsPort string) func(address string) string {
	return func(address string) string {
		if httpsPort == "" {
			return ""
		}
		host := srv.ClientHostname(directory.Domain(address))
		if httpsPort != "443" {
			host = net.JoinHostPort(host, httpsPort)
		}
		return "https://" + host + "/password"
	}
}
