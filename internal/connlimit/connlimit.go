// Package connlimit caps how many connections a listener holds, from one
// client address and in all, so that one host cannot occupy every
// connection slot with idle sockets (issue 15 §5: 4,000 idle connections
// from one address were all held). A connection over a cap gets the
// protocol's own refusal (SMTP 421 4.7.0, IMAP * BYE, POP3 -ERR, HTTP 503)
// and is closed at once, before any session state is built.
package connlimit

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Limits configures a Listener. Zero caps mean no cap.
type Limits struct {
	PerIP int
	Total int
	// Exempt networks (a proxy in front, the operator's monitoring) are
	// not counted against PerIP; Total still applies.
	Exempt []netip.Prefix
	// Refusal is written to a refused connection before it is closed;
	// nil closes silently (TLS listeners: nothing readable can be said
	// before a handshake).
	Refusal []byte
}

// Listener wraps a net.Listener with the caps.
type Listener struct {
	net.Listener
	lim     Limits
	refused *prometheus.CounterVec // labels: reason ("per_ip", "total")
	name    string

	mu    sync.Mutex
	total int
	byIP  map[netip.Addr]int
}

// Wrap returns l with the caps; refused counts refusals with the labels
// listener and reason (nil: not counted).
func Wrap(l net.Listener, name string, lim Limits, refused *prometheus.CounterVec) *Listener {
	return &Listener{Listener: l, lim: lim, refused: refused, name: name, byIP: map[netip.Addr]int{}}
}

// Accept returns the next connection within the caps; connections over a
// cap are answered and closed here and never returned.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := addrOf(c.RemoteAddr())
		if reason := l.admit(ip); reason != "" {
			if l.refused != nil {
				l.refused.WithLabelValues(l.name, reason).Inc()
			}
			go refuse(c, l.lim.Refusal)
			continue
		}
		return &conn{Conn: c, l: l, ip: ip}, nil
	}
}

// Open returns the connections held in all and from ip.
func (l *Listener) Open(ip netip.Addr) (total, fromIP int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total, l.byIP[ip]
}

func (l *Listener) admit(ip netip.Addr) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lim.Total > 0 && l.total >= l.lim.Total {
		return "total"
	}
	counted := ip.IsValid() && !l.exempt(ip)
	if counted && l.lim.PerIP > 0 && l.byIP[ip] >= l.lim.PerIP {
		return "per_ip"
	}
	l.total++
	if counted {
		l.byIP[ip]++
	}
	return ""
}

func (l *Listener) exempt(ip netip.Addr) bool {
	for _, p := range l.lim.Exempt {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (l *Listener) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if ip.IsValid() && !l.exempt(ip) {
		if l.byIP[ip]--; l.byIP[ip] <= 0 {
			delete(l.byIP, ip)
		}
	}
}

func addrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// refuse writes the refusal with a short deadline and closes.
func refuse(c net.Conn, msg []byte) {
	if len(msg) > 0 {
		c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		c.Write(msg)
	}
	c.Close()
}

// conn releases its slot once, on the first Close.
type conn struct {
	net.Conn
	l    *Listener
	ip   netip.Addr
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.ip) })
	return err
}

// Unwrap gives the underlying connection (for code that needs *net.TCPConn).
func (c *conn) Unwrap() net.Conn { return c.Conn }

// ParseNetworks parses CIDR prefixes or single addresses.
func ParseNetworks(ss []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range ss {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			ip, err2 := netip.ParseAddr(s)
			if err2 != nil {
				return nil, errors.New("not a CIDR prefix or address: " + s)
			}
			p = netip.PrefixFrom(ip, ip.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
