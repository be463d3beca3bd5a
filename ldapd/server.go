// Package ldapd is the danh bạ as a read-only LDAP v3 address book
// (RFC 4511) for Thunderbird's and Outlook's LDAP directories: the same
// entries /danhba publishes, whatever directory backs congvu, searched
// without regard to case or diacritics, with a size limit and paged
// results (RFC 2696).
//
// The protocol layer is github.com/jimlambrt/gldap (BER framing, request
// decoding, responses); this package decides what is visible, binds
// officials through the policy engine's login hooks, and evaluates
// filters. Anonymous search is allowed when configured; a bind with a
// password needs TLS (StartTLS, RFC 4513 3, or the LDAPS listener).
// Clients connect to the caller's listener (with the server's connection
// caps) and are relayed to the library (relay.go).
package ldapd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jimlambrt/gldap"

	"congvu/addressbook"
	"congvu/directory"
	"congvu/policy"
)

// Protocol names LDAP binds in the policy engine's audit and access records.
const Protocol policy.Protocol = "ldap"

// Config configures a Server.
type Config struct {
	TLS *tls.Config
	// BaseDN is the search base clients configure (dc=khanhhoa,dc=gov,dc=vn).
	BaseDN string
	// Anonymous allows searching without a bind.
	Anonymous bool
	// SizeLimit bounds the entries of one search (clients may ask fewer).
	SizeLimit int
	// ConnectionLifetime closes a connection this long after it opened
	// (the library's read deadline is per connection, not per read).
	// Default 30 minutes; clients reconnect for their next search.
	ConnectionLifetime time.Duration
}

// Deps are what a Server uses.
type Deps struct {
	Book   *addressbook.Book
	Dir    directory.Directory
	Policy policy.Hooks
	Logger *slog.Logger
}

// Server is one LDAP listener (plain with StartTLS, or LDAPS).
type Server struct {
	cfg    Config
	deps   Deps
	policy policy.Hooks
	log    *slog.Logger
	base   string // normalized BaseDN

	token string // the relay's hello password (relay.go)

	mu        sync.Mutex
	closed    bool
	servers   []*gldap.Server
	listeners []net.Listener
	relays    map[net.Conn]struct{}
	conns     map[connKey]*connState
	// bound receives one value per listener once it listens (nil) or
	// failed to (the error); see WaitBound.
	bound chan error
}

type connKey struct {
	srv *gldap.Server
	id  int
}

// connState is what we know about one connection.
type connState struct {
	// relayed: the relay's hello opened the connection (relay.go); a
	// connection without it is refused everything.
	relayed      bool
	refusedHello bool
	ip           netip.Addr // the client's address, from the hello
	tls          bool
	bound        *directory.Account
}

// New returns a Server.
func New(cfg Config, deps Deps) *Server {
	if cfg.SizeLimit <= 0 {
		cfg.SizeLimit = 500
	}
	if cfg.ConnectionLifetime <= 0 {
		cfg.ConnectionLifetime = 30 * time.Minute
	}
	if cfg.TLS != nil {
		cfg.TLS = cfg.TLS.Clone()
		if cfg.TLS.MinVersion < tls.VersionTLS12 {
			cfg.TLS.MinVersion = tls.VersionTLS12
		}
		// LDAP over TLS has no ALPN name of its own.
		cfg.TLS.NextProtos = nil
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, deps: deps, policy: policy.OrNop(deps.Policy), log: deps.Logger,
		base: normalizeDN(cfg.BaseDN), token: newRelayToken(), relays: map[net.Conn]struct{}{}, conns: map[connKey]*connState{},
		bound: make(chan error, 8)}
}

// Serve serves LDAP with StartTLS on l: the caller's listener, so its
// connection caps apply (connlimit in the server).
func (s *Server) Serve(l net.Listener) error { return s.run(l, false) }

// ServeTLS serves LDAPS (implicit TLS) on l.
func (s *Server) ServeTLS(l net.Listener) error { return s.run(l, true) }

func (s *Server) run(l net.Listener, implicitTLS bool) error {
	if implicitTLS && s.cfg.TLS == nil {
		l.Close()
		err := errors.New("ldapd: LDAPS needs a TLS configuration")
		s.bound <- err
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return nil
	}
	s.listeners = append(s.listeners, l)
	s.mu.Unlock()
	backend, backendDone, err := s.startBackend()
	s.bound <- err
	if err != nil {
		l.Close()
		return err
	}
	accepted := make(chan error, 1)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				accepted <- err
				return
			}
			go s.relay(c, backend, implicitTLS)
		}
	}()
	select {
	case err := <-accepted:
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		return err
	case err := <-backendDone:
		l.Close()
		if err == nil {
			return nil // Close stopped it
		}
		return fmt.Errorf("ldapd: backend stopped: %w", err)
	}
}

// startBackend runs the library on a free loopback port and returns its
// address once it answers the relay's hello.
func (s *Server) startBackend() (string, <-chan error, error) {
	var lastErr error
	for range 5 {
		srv, err := s.newBackend()
		if err != nil {
			return "", nil, err
		}
		// gldap binds from an address: find a free port, then let it bind
		// it (another process taking the port in between is caught by the
		// hello below, and we try another).
		probe, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", nil, err
		}
		addr := probe.Addr().String()
		probe.Close()
		done := make(chan error, 1)
		go func() { done <- srv.Run(addr) }()
		for err == nil && !srv.Ready() {
			select {
			case err = <-done: // Run gave up before listening
				if err == nil {
					err = errors.New("stopped before listening")
				}
			case <-time.After(2 * time.Millisecond):
			}
		}
		if err != nil {
			lastErr = err
			srv.Stop()
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := s.dialBackend(ctx, addr, netip.Addr{}, false)
		cancel()
		if err == nil {
			c.Close()
			return addr, done, nil
		}
		lastErr = err
		srv.Stop()
	}
	return "", nil, fmt.Errorf("ldapd: starting the protocol library: %w", lastErr)
}

// newBackend is one gldap server with the routes of this Server.
func (s *Server) newBackend() (*gldap.Server, error) {
	var srv *gldap.Server
	srv, err := gldap.NewServer(gldap.WithLogger(hclogAdapter(s.log)), gldap.WithReadTimeout(s.cfg.ConnectionLifetime),
		gldap.WithWriteTimeout(s.cfg.ConnectionLifetime), gldap.WithOnClose(func(id int) { s.forget(connKey{srv, id}) }))
	if err != nil {
		return nil, err
	}
	mux, err := gldap.NewMux()
	if err != nil {
		return nil, err
	}
	key := func(r *gldap.Request) connKey { return connKey{srv, r.ConnectionID()} }
	// Every operation but the hello needs a relayed connection.
	relayed := func(app int, h func(w *gldap.ResponseWriter, r *gldap.Request, st *connState)) gldap.HandlerFunc {
		return func(w *gldap.ResponseWriter, r *gldap.Request) {
			st := s.state(key(r))
			s.mu.Lock()
			ok := st.relayed
			s.mu.Unlock()
			if !ok {
				w.Write(r.NewResponse(gldap.WithApplicationCode(app), gldap.WithResponseCode(gldap.ResultUnwillingToPerform),
					gldap.WithDiagnosticMessage("not a congvu LDAP listener")))
				return
			}
			h(w, r, st)
		}
	}
	mux.Bind(func(w *gldap.ResponseWriter, r *gldap.Request) { s.bind(w, r, s.state(key(r))) })
	mux.Search(relayed(gldap.ApplicationSearchResultDone, func(w *gldap.ResponseWriter, r *gldap.Request, st *connState) { s.search(w, r, st) }))
	mux.ExtendedOperation(relayed(gldap.ApplicationExtendedResponse, s.startTLS), gldap.ExtendedOperationStartTLS)
	mux.ExtendedOperation(relayed(gldap.ApplicationExtendedResponse, s.whoAmI), gldap.ExtendedOperationWhoAmI)
	mux.Unbind(func(*gldap.ResponseWriter, *gldap.Request) {})
	// Add, Modify, Delete and anything else: the address book is read-only.
	readOnly := func(app int) gldap.HandlerFunc {
		return func(w *gldap.ResponseWriter, r *gldap.Request) {
			w.Write(r.NewResponse(gldap.WithApplicationCode(app), gldap.WithResponseCode(gldap.ResultUnwillingToPerform),
				gldap.WithDiagnosticMessage("danh bạ chỉ đọc / the address book is read-only")))
		}
	}
	mux.Add(readOnly(gldap.ApplicationAddResponse))
	mux.Modify(readOnly(gldap.ApplicationModifyResponse))
	mux.Delete(readOnly(gldap.ApplicationDelResponse))
	mux.DefaultRoute(readOnly(gldap.ApplicationExtendedResponse))
	if err := srv.Router(mux); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.servers = append(s.servers, srv)
	s.mu.Unlock()
	return srv, nil
}

// WaitBound waits until n listeners given to Serve/ServeTLS listen, so the
// caller reports addresses clients can already connect to.
func (s *Server) WaitBound(n int, timeout time.Duration) error {
	deadline := time.After(timeout)
	for range n {
		select {
		case err := <-s.bound:
			if err != nil {
				return err
			}
		case <-deadline:
			return errors.New("ldapd: listener not bound in time")
		}
	}
	return nil
}

// Close stops every listener and ends the relayed connections; the
// library then waits for its own, so Close waits briefly.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	servers, listeners := s.servers, s.listeners
	s.servers, s.listeners = nil, nil
	for c := range s.relays {
		c.Close()
	}
	s.mu.Unlock()
	for _, l := range listeners {
		l.Close()
	}
	done := make(chan struct{})
	go func() {
		for _, srv := range servers {
			srv.Stop()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
	}
	return nil
}

func (s *Server) state(k connKey) *connState {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.conns[k]
	if !ok {
		st = &connState{}
		s.conns[k] = st
	}
	return st
}

func (s *Server) forget(k connKey) {
	s.mu.Lock()
	delete(s.conns, k)
	s.mu.Unlock()
}

// startTLS upgrades a plain connection (RFC 4511 4.14, RFC 4513 3).
func (s *Server) startTLS(w *gldap.ResponseWriter, r *gldap.Request, st *connState) {
	res := r.NewExtendedResponse(gldap.WithResponseCode(gldap.ResultSuccess))
	res.SetResponseName(gldap.ExtendedOperationStartTLS)
	s.mu.Lock()
	isTLS := st.tls
	s.mu.Unlock()
	if isTLS || s.cfg.TLS == nil {
		res.SetResultCode(gldap.ResultOperationsError)
		res.SetDiagnosticMessage("TLS already active or not available")
		w.Write(res)
		return
	}
	if err := w.Write(res); err != nil {
		return
	}
	if err := r.StartTLS(s.cfg.TLS); err != nil {
		s.log.Debug("ldap: StartTLS handshake failed", "err", err)
		return
	}
	s.mu.Lock()
	st.tls = true
	st.bound = nil // RFC 4513 3.1.4: no authorization survives from before
	s.mu.Unlock()
}

func (s *Server) whoAmI(w *gldap.ResponseWriter, r *gldap.Request, st *connState) {
	res := r.NewExtendedResponse(gldap.WithResponseCode(gldap.ResultSuccess))
	s.mu.Lock()
	bound := st.bound
	s.mu.Unlock()
	if bound != nil {
		res.SetDiagnosticMessage("dn:" + personDN(bound.Address, s.cfg.BaseDN))
	}
	w.Write(res)
}

// bindName turns a bind DN (uid=…/mail=… under the base, or a bare
// address) into a login.
func (s *Server) bindName(name string) string {
	n := strings.TrimSpace(name)
	if strings.Contains(n, "=") {
		first, _, _ := strings.Cut(n, ",")
		k, v, _ := strings.Cut(first, "=")
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "uid", "mail", "cn":
			return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(v), `\`, ""))
		}
		return ""
	}
	return strings.ToLower(n)
}

func (s *Server) bind(w *gldap.ResponseWriter, r *gldap.Request, st *connState) {
	resp := r.NewBindResponse(gldap.WithResponseCode(gldap.ResultInvalidCredentials))
	defer func() { w.Write(resp) }()
	m, err := r.GetSimpleBindMessage()
	s.mu.Lock()
	relayed := st.relayed
	if !relayed && (err != nil || !strings.HasPrefix(m.UserName, relayName)) {
		st.refusedHello = true // the first message was not the hello
	}
	s.mu.Unlock()
	if err == nil && strings.HasPrefix(m.UserName, relayName) {
		if ip, implicitTLS, ok := s.parseHello(m.UserName, string(m.Password)); ok && s.hello(st, ip, implicitTLS) {
			resp.SetResultCode(gldap.ResultSuccess)
			return
		}
		resp.SetResultCode(gldap.ResultInvalidCredentials)
		return
	}
	if !relayed {
		resp.SetResultCode(gldap.ResultUnwillingToPerform)
		resp.SetDiagnosticMessage("not a congvu LDAP listener")
		return
	}
	if err != nil {
		resp.SetResultCode(gldap.ResultAuthMethodNotSupported)
		resp.SetDiagnosticMessage("only simple bind is supported")
		return
	}
	s.mu.Lock()
	st.bound = nil // every bind starts anonymous (RFC 4511 4.2.1)
	isTLS, ip := st.tls, st.ip
	s.mu.Unlock()
	if m.UserName == "" && m.Password == "" {
		resp.SetResultCode(gldap.ResultSuccess) // anonymous
		return
	}
	if m.Password == "" {
		// RFC 4513 5.1.2: an unauthenticated bind is refused.
		resp.SetResultCode(gldap.ResultUnwillingToPerform)
		resp.SetDiagnosticMessage("unauthenticated bind (a name without a password) is not allowed")
		return
	}
	if !isTLS {
		// RFC 4513 6.3.1: no password over a connection without TLS.
		resp.SetResultCode(gldap.ResultConfidentialityRequired)
		resp.SetDiagnosticMessage("hãy dùng StartTLS hoặc LDAPS / use StartTLS or LDAPS before a password bind")
		return
	}
	login := s.bindName(m.UserName)
	if login == "" {
		resp.SetResultCode(gldap.ResultInvalidCredentials)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The client's address comes from the relay's hello: per-address
	// throttling applies as on the other protocols.
	attempt := policy.AuthAttempt{Protocol: Protocol, IP: ip, Login: login}
	if d := s.policy.BeforeAuth(ctx, attempt); d.Refused() {
		resp.SetResultCode(gldap.ResultUnavailable)
		return
	}
	acct, aerr := s.deps.Dir.Authenticate(ctx, login, string(m.Password))
	o := policy.AuthOutcome{AuthAttempt: attempt, Result: policy.ClassifyAuth(aerr), Account: acct}
	if d := s.policy.AfterAuth(ctx, o); d.Refused() {
		aerr = d.Err()
	}
	switch {
	case aerr == nil && acct != nil:
		s.mu.Lock()
		st.bound = acct
		s.mu.Unlock()
		resp.SetResultCode(gldap.ResultSuccess)
		s.log.Info("ldap: bind", "user", acct.Address, "ip", ip)
	case o.Result == policy.AuthUnavailable:
		resp.SetResultCode(gldap.ResultUnavailable)
	default:
		s.log.Info("ldap: bind failed", "login", login, "ip", ip)
	}
}

// hclogAdapter sends gldap's log to slog: errors as warnings, the rest
// at debug level.
func hclogAdapter(log *slog.Logger) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "gldap", Level: hclog.Warn, Output: logWriter{log}, DisableTime: true})
}

type logWriter struct{ log *slog.Logger }

func (l logWriter) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	if strings.Contains(msg, "[ERROR]") && !strings.Contains(msg, "EOF") {
		l.log.Warn("ldap: " + msg)
	} else {
		l.log.Debug("ldap: " + msg)
	}
	return len(p), nil
}

var _ io.Writer = logWriter{}

func (s *Server) String() string { return fmt.Sprintf("ldapd(%s)", s.cfg.BaseDN) }
