package server

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"time"

	"congvu/directory"
	"congvu/internal/authcache"
	"congvu/internal/config"
	"congvu/internal/frontend"
)

// listenerSpec is one listener of Start's table; wrap, when set, is
// applied to the bound listener before the connection limits.
type listenerSpec struct {
	name, addr string
	serve      func(net.Listener) error
	wrap       func(net.Listener) net.Listener
}

// proxyListeners are the listeners nginx's mail proxy connects to: the
// daemons' ServeProxied entry points behind frontend.Listen (the client's
// address from PROXY or XCLIENT, only from cluster.proxy_networks; the
// client's TLS ended at nginx).
func proxyListeners(cfg config.Config, imap, pop3, submission func(net.Listener) error, log *slog.Logger) ([]listenerSpec, error) {
	trusted, err := cfg.Cluster.ProxyPrefixes()
	if err != nil {
		return nil, err
	}
	wrap := func(h frontend.Handshake, name string) func(net.Listener) net.Listener {
		return func(l net.Listener) net.Listener {
			return frontend.Listen(l, frontend.ListenerConfig{Handshake: h, Trusted: trusted,
				Hostname: cfg.Server.Hostname, Logger: log.With("listener", name)})
		}
	}
	return []listenerSpec{
		{"imap_proxy", cfg.Listen.IMAPProxy, imap, wrap(frontend.ProxyProtocol, "imap_proxy")},
		{"pop3_proxy", cfg.Listen.POP3Proxy, pop3, wrap(frontend.ProxyProtocol, "pop3_proxy")},
		{"submission_proxy", cfg.Listen.SubmissionProxy, submission, wrap(frontend.XCLIENT, "submission_proxy")},
	}, nil
}

// mountAuthHTTP serves nginx's auth_http requests at /auth on the admin
// listener (operators' network only; nginx runs there).
func mountAuthHTTP(cfg config.Config, r *Running, adminMux *http.ServeMux, dirFor func(string) directory.Directory,
	tickets *frontend.Tickets, creds *authcache.Cache, log *slog.Logger) {
	route := func(ctx context.Context, acct *directory.Account, protocol string) (netip.AddrPort, error) {
		listener := map[string]string{"imap": "imap_proxy", "pop3": "pop3_proxy", "smtp": "submission_proxy"}[protocol]
		cl := r.clusterCfg.Load() // the node table as last reloaded
		home := cl.HomeNode(acct.MailHost)
		if cl.IsLocal(acct.MailHost) {
			if n, ok := cl.Nodes[home]; ok {
				if a := nodeAddr(n, protocol); a != "" {
					return netip.ParseAddrPort(a)
				}
			}
			// One node: its own proxy listener, as bound.
			ap, err := netip.ParseAddrPort(r.Addrs[listener])
			if err != nil {
				return ap, fmt.Errorf("listen.%s is off: nginx has nowhere to send %s logins", listener, protocol)
			}
			if ap.Addr().IsUnspecified() {
				ap = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), ap.Port())
			}
			return ap, nil
		}
		n, ok := cl.Nodes[home]
		if !ok {
			return netip.AddrPort{}, fmt.Errorf("node %q of %s is not in cluster.nodes", home, acct.Address)
		}
		ap, err := netip.ParseAddrPort(nodeAddr(n, protocol))
		if err != nil {
			return ap, fmt.Errorf("cluster.nodes.%s has no %s address", home, protocol)
		}
		// A node that is down: a temporary answer now, not nginx's error.
		return ap, frontend.CheckReachable(ctx, ap, time.Second)
	}
	adminMux.Handle("GET /auth", frontend.AuthHTTP(frontend.AuthDeps{Dir: r.Dir, DirFor: dirFor, Policy: r.Policy, Route: route, Tickets: tickets, Creds: creds,
		Logger: log.With("component", "auth_http"), Wait: time.Duration(cfg.Cluster.AuthWaitSeconds) * time.Second}))
}

func nodeAddr(n config.ClusterNode, protocol string) string {
	switch protocol {
	case "imap":
		return n.IMAP
	case "pop3":
		return n.POP3
	case "smtp":
		return n.Submission
	}
	return ""
}

// loginTickets are what auth_http gives nginx instead of the password for
// its login to the node: keyed with the cluster secret, which every node
// has, or for one node a key of this process.
func loginTickets(cfg config.Config) *frontend.Tickets {
	var key []byte
	if cfg.Cluster.Node != "" {
		if b, err := os.ReadFile(cfg.Path(cfg.Cluster.SecretFile)); err == nil {
			key = bytes.TrimSpace(b)
		}
	}
	return frontend.NewTickets(key)
}

// credentialCache is a memory of verified passwords (auth_http's, SMTP
// AUTH's), under the IMAP server's rules (internal/authcache): none on an
// LDAP directory, which changes passwords and states behind congvu's
// back, and never for accounts with two-factor sign-in, whose app
// passwords can be revoked at any time.
func credentialCache(cfg config.Config, twoFactorOn func(ctx context.Context, address string) (bool, error)) *authcache.Cache {
	if cfg.Directory.Backend == "ldap" {
		return nil
	}
	c := authcache.New(5*time.Minute, 100_000)
	c.Allow = func(ctx context.Context, address string) (bool, error) {
		on, err := twoFactorOn(ctx, address)
		return !on, err
	}
	return c
}
