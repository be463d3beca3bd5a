package frontend

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Handshake says how a proxy tells a node who the client is.
type Handshake int

const (
	// ProxyProtocol: a PROXY protocol v1 or v2 header starts the
	// connection (nginx `proxy_protocol on`; IMAP and POP3).
	ProxyProtocol Handshake = iota
	// XCLIENT: the node greets, the proxy sends EHLO and XCLIENT ADDR=…
	// (Postfix's XCLIENT extension; nginx `xclient on`, SMTP).
	XCLIENT
)

// ListenerConfig configures Listen.
type ListenerConfig struct {
	Handshake Handshake
	// Trusted are the networks proxies connect from; anything else is
	// closed at once (a client reaching this port directly could claim
	// any address).
	Trusted []netip.Prefix
	// Hostname is used in the XCLIENT greeting.
	Hostname string
	// Timeout bounds the proxy's handshake (default 10s).
	Timeout time.Duration
	Logger  *slog.Logger
}

// Listener accepts proxied connections. Accept returns the proxy's own
// connection, addressed as the client the proxy reported (RemoteAddr),
// with what followed the proxy's handshake still to be read. The
// client's TLS ended at nginx, and the proxy network between nginx and
// the nodes must be trusted (cluster.proxy_networks): such a connection
// says so (SecuredByProxy), and the daemons' ServeProxied methods accept
// passwords on it as they would on ports 993, 995 and 465. There is no
// second TLS layer inside the node: it would only spend a handshake per
// connection and an encryption of every byte twice, in this process, to
// tell the daemon what SecuredByProxy tells it.
type Listener struct {
	inner net.Listener
	cfg   ListenerConfig
	ready chan net.Conn
	done  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
}

// Listen wraps inner.
func Listen(inner net.Listener, cfg ListenerConfig) *Listener {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	l := &Listener{inner: inner, cfg: cfg, ready: make(chan net.Conn), done: make(chan struct{})}
	l.wg.Add(1)
	go l.acceptLoop()
	return l
}

func (l *Listener) acceptLoop() {
	defer l.wg.Done()
	for {
		c, err := l.inner.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			l.Close()
			return
		}
		go l.prepare(c)
	}
}

// prepare checks and reads the proxy's handshake, then hands the pipe to
// Accept.
func (l *Listener) prepare(raw net.Conn) {
	ip := netip.Addr{}
	if ta, ok := raw.RemoteAddr().(*net.TCPAddr); ok {
		ip, _ = netip.AddrFromSlice(ta.IP)
		ip = ip.Unmap()
	}
	if !l.trusted(ip) {
		l.cfg.Logger.Warn("frontend: connection from an untrusted address refused", "remote", raw.RemoteAddr().String())
		raw.Close()
		return
	}
	raw.SetDeadline(time.Now().Add(l.cfg.Timeout))
	br := bufio.NewReaderSize(raw, 1024)
	var client netip.AddrPort
	var err error
	switch l.cfg.Handshake {
	case ProxyProtocol:
		var h ProxyHeader
		if h, err = ReadProxyHeader(br); err == nil {
			client = h.Source
			if h.Local { // the proxy's own health check
				client = netip.AddrPortFrom(ip, 0)
			}
		}
	case XCLIENT:
		client, err = l.xclient(raw, br)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
		// A reachability check (auth_http's, a load balancer's).
		l.cfg.Logger.Debug("frontend: closed before the proxy handshake", "remote", raw.RemoteAddr().String())
		raw.Close()
		return
	}
	if err != nil {
		l.cfg.Logger.Warn("frontend: proxy handshake failed", "remote", raw.RemoteAddr().String(), "err", err)
		raw.Close()
		return
	}
	raw.SetDeadline(time.Time{})
	conn := &proxiedConn{Conn: raw, ack: quickAcker(raw),
		remote: &net.TCPAddr{IP: client.Addr().AsSlice(), Port: int(client.Port())}}
	if n := br.Buffered(); n > 0 {
		// What the proxy sent after its handshake (pipelined commands).
		conn.pending, _ = br.Peek(n)
	}
	select {
	case l.ready <- conn:
	case <-l.done:
		conn.Close()
	}
}

// xclient plays the node's side of the proxy's first steps: greeting,
// EHLO, XCLIENT (www.postfix.org/XCLIENT_README.html). The daemon's own
// 220 greeting then answers the XCLIENT command, as the extension wants.
func (l *Listener) xclient(raw net.Conn, br *bufio.Reader) (netip.AddrPort, error) {
	fmt.Fprintf(raw, "220 %s ESMTP\r\n", l.cfg.Hostname)
	for range 4 {
		line, err := readLine(br)
		if err != nil {
			return netip.AddrPort{}, err
		}
		verb, args, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			fmt.Fprintf(raw, "250-%s\r\n250 XCLIENT ADDR NAME LOGIN PROTO HELO\r\n", l.cfg.Hostname)
		case "XCLIENT":
			addr, err := ParseXCLIENT(args)
			if err != nil {
				fmt.Fprintf(raw, "501 5.5.4 %s\r\n", err)
				return netip.AddrPort{}, err
			}
			return addr, nil
		case "QUIT":
			fmt.Fprint(raw, "221 2.0.0 Bye\r\n")
			return netip.AddrPort{}, errors.New("QUIT before XCLIENT")
		default:
			fmt.Fprint(raw, "503 5.5.1 XCLIENT first\r\n")
		}
	}
	return netip.AddrPort{}, errors.New("no XCLIENT")
}

// readLine reads one CRLF line of at most 512 bytes (RFC 5321 4.5.3.1.4).
func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for len(b) <= 512 {
		c, err := br.ReadByte()
		if err != nil {
			return "", err
		}
		if c == '\n' {
			return strings.TrimSuffix(string(b), "\r"), nil
		}
		b = append(b, c)
	}
	return "", errors.New("command line too long")
}

// ParseXCLIENT reads the client address from XCLIENT's attributes
// (ADDR=1.2.3.4, ADDR=IPV6:…, xtext-encoded; PORT= when given). Other
// attributes are ignored; the login comes through AUTH (nginx
// `proxy_smtp_auth on`), never from the proxy's say-so.
func ParseXCLIENT(args string) (netip.AddrPort, error) {
	var addr netip.Addr
	var port uint16
	for _, a := range strings.Fields(args) {
		name, value, ok := strings.Cut(a, "=")
		if !ok {
			return netip.AddrPort{}, fmt.Errorf("bad XCLIENT attribute %q", a)
		}
		value, err := xtextDecode(value)
		if err != nil {
			return netip.AddrPort{}, err
		}
		switch strings.ToUpper(name) {
		case "ADDR":
			value = strings.TrimPrefix(strings.TrimPrefix(value, "IPV6:"), "ipv6:")
			if addr, err = netip.ParseAddr(value); err != nil || addr.Zone() != "" {
				return netip.AddrPort{}, fmt.Errorf("bad XCLIENT ADDR %q", value)
			}
		case "PORT":
			if port, err = parsePort(value); err != nil {
				return netip.AddrPort{}, fmt.Errorf("bad XCLIENT PORT %q", value)
			}
		}
	}
	if !addr.IsValid() {
		return netip.AddrPort{}, errors.New("XCLIENT without ADDR")
	}
	return netip.AddrPortFrom(addr.Unmap(), port), nil
}

// xtextDecode undoes RFC 3461 §4 xtext ("+XX" hex escapes).
func xtextDecode(s string) (string, error) {
	if !strings.Contains(s, "+") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '+' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("bad xtext %q", s)
		}
		var v byte
		for _, c := range []byte(s[i+1 : i+3]) {
			v <<= 4
			switch {
			case c >= '0' && c <= '9':
				v |= c - '0'
			case c >= 'A' && c <= 'F':
				v |= c - 'A' + 10
			default:
				return "", fmt.Errorf("bad xtext %q", s)
			}
		}
		b.WriteByte(v)
		i += 2
	}
	return b.String(), nil
}

func (l *Listener) trusted(ip netip.Addr) bool {
	for _, p := range l.cfg.Trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Accept returns the next proxied connection.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting; connections already handed out stay open.
func (l *Listener) Close() error {
	var err error
	l.once.Do(func() {
		close(l.done)
		err = l.inner.Close()
	})
	return err
}

// Addr is the address the proxy connects to.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }

// proxiedConn is the proxy's connection, addressed as the client.
type proxiedConn struct {
	net.Conn
	remote  net.Addr
	pending []byte // read with the proxy's handshake, not yet consumed
	ack     func() // acknowledges what was read at once (quickack.go)
}

func (c *proxiedConn) RemoteAddr() net.Addr { return c.remote }

// SecuredByProxy tells the daemons that the client's side of this
// connection was encrypted and ended at a trusted proxy.
func (c *proxiedConn) SecuredByProxy() bool { return true }

// Read gives what the handshake reader had buffered first. Reads are
// from one goroutine at a time, as for any net.Conn a daemon serves.
func (c *proxiedConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.ack()
	}
	return n, err
}

// SecuredByProxy reports whether nc, or a connection it wraps (Unwrap,
// as connlimit's), came through Listener: its client's TLS ended at a
// trusted proxy, so logins may be accepted as under TLS.
func SecuredByProxy(nc net.Conn) bool {
	for range 8 { // wrappers do not nest deeper
		if p, ok := nc.(interface{ SecuredByProxy() bool }); ok {
			return p.SecuredByProxy()
		}
		u, ok := nc.(interface{ Unwrap() net.Conn })
		if !ok {
			return false
		}
		nc = u.Unwrap()
	}
	return false
}
