package ldapd

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/jimlambrt/gldap"

	"congvu/policy"
)

// The protocol library (gldap) accepts only on a listener it binds itself
// from an address, and tells its handlers nothing about the client. So
// that LDAP clients meet the same [limits] caps as every other listener
// (the caller's listener, wrapped by internal/connlimit) and the policy
// engine sees their address (deny networks, per-address login
// throttling), Serve accepts on the caller's listener and relays each
// connection to the library's own listener on a loopback port (the
// backend). The relay opens every backend connection with a hello: a
// simple bind (RFC 4511 4.2) under relayName whose password is this
// Server's random relayToken, carrying the client's address and whether
// the client came over implicit TLS, and waits for its answer before
// passing on the client's first byte. A connection to the backend
// without the hello (another local process) is refused everything.

// relayName is the bind DN of the hello.
const relayName = "cn=congvu-relay"

// relayMessageID is the hello's message ID (RFC 4511 4.1.1.1: 1 to
// 2^31-1); the client's own requests come after its answer.
const relayMessageID = 2147483647

// noticeOfDisconnectionOID names the unsolicited notification of
// RFC 4511 4.4.1 (gldap's constant for it lacks the last digit).
const noticeOfDisconnectionOID = "1.3.6.1.4.1.1466.20036"

// relayTimeout bounds the LDAPS handshake and the hello.
const relayTimeout = 30 * time.Second

func newRelayToken() string { return rand.Text() }

// helloPacket is the hello for a client at ip.
func (s *Server) helloPacket(ip netip.Addr, implicitTLS bool) []byte {
	name := fmt.Sprintf("%s,ip=%s,tls=%t", relayName, ip, implicitTLS)
	msg := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAPMessage")
	msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(relayMessageID), "messageID"))
	bind := ber.Encode(ber.ClassApplication, ber.TypeConstructed, gldap.ApplicationBindRequest, nil, "BindRequest")
	bind.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 3, "version"))
	bind.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, name, "name"))
	bind.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, s.token, "simple"))
	msg.AppendChild(bind)
	return msg.Bytes()
}

// parseHello reads a hello's bind name and password; ok is false when
// the bind is not a hello of this Server.
func (s *Server) parseHello(name, password string) (ip netip.Addr, implicitTLS bool, ok bool) {
	rest, found := strings.CutPrefix(name, relayName+",ip=")
	if !found || subtle.ConstantTimeCompare([]byte(password), []byte(s.token)) != 1 {
		return netip.Addr{}, false, false
	}
	addr, flag, found := strings.Cut(rest, ",tls=")
	if !found || (flag != "true" && flag != "false") {
		return netip.Addr{}, false, false
	}
	ip, _ = netip.ParseAddr(addr) // invalid when the client had none (not TCP)
	return ip, flag == "true", true
}

// relay carries one client connection of the caller's listener to the
// backend at addr.
func (s *Server) relay(c net.Conn, backend string, implicitTLS bool) {
	if !s.track(c) {
		c.Close()
		return
	}
	defer s.untrack(c)
	defer c.Close()
	ip := clientIP(c.RemoteAddr())
	ctx, cancel := context.WithTimeout(context.Background(), relayTimeout)
	defer cancel()
	if d := s.policy.Connect(ctx, policy.Conn{Protocol: Protocol, IP: ip}); d.Refused() {
		s.log.Info("ldap: connection refused by policy", "ip", ip)
		if !implicitTLS { // nothing readable can be said before a TLS handshake
			c.SetWriteDeadline(time.Now().Add(2 * time.Second))
			c.Write(noticeOfDisconnection(gldap.ResultUnwillingToPerform, "kết nối bị từ chối / connection refused"))
		}
		return
	}
	client := c
	if implicitTLS {
		tc := tls.Server(c, s.cfg.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			s.log.Debug("ldap: LDAPS handshake failed", "ip", ip, "err", err)
			return
		}
		client = tc
	}
	up, err := s.dialBackend(ctx, backend, ip, implicitTLS)
	if err != nil {
		s.log.Warn("ldap: backend unreachable", "err", err)
		return
	}
	defer up.Close()
	go func() {
		io.Copy(up, client)
		// The client is done sending: the backend sees end of input,
		// answers what it has, and closes.
		if tc, ok := up.(*net.TCPConn); ok {
			tc.CloseWrite()
		} else {
			up.Close()
		}
	}()
	io.Copy(client, up) // until the backend closes (unbind, lifetime, Close)
}

// dialBackend connects to the backend and has it accept the hello.
func (s *Server) dialBackend(ctx context.Context, backend string, ip netip.Addr, implicitTLS bool) (net.Conn, error) {
	var d net.Dialer
	up, err := d.DialContext(ctx, "tcp", backend)
	if err != nil {
		return nil, err
	}
	deadline, _ := ctx.Deadline()
	up.SetDeadline(deadline)
	if _, err := up.Write(s.helloPacket(ip, implicitTLS)); err != nil {
		up.Close()
		return nil, err
	}
	p, err := ber.ReadPacket(up)
	if err != nil {
		up.Close()
		return nil, fmt.Errorf("ldapd: backend hello: %w", err)
	}
	if code, ok := resultCode(p); !ok || code != gldap.ResultSuccess {
		up.Close()
		return nil, errors.New("ldapd: backend refused the hello (not this server's backend?)")
	}
	up.SetDeadline(time.Time{})
	return up, nil
}

// resultCode is the result code of an LDAPResult-carrying response.
func resultCode(p *ber.Packet) (int64, bool) {
	if len(p.Children) < 2 || len(p.Children[1].Children) < 1 {
		return 0, false
	}
	v, ok := p.Children[1].Children[0].Value.(int64)
	return v, ok
}

// hello is the bind handler's part for the relay's hello: it marks the
// connection as relayed, with its client's address.
func (s *Server) hello(st *connState, ip netip.Addr, implicitTLS bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st.relayed || st.refusedHello {
		return false // only the first message of a connection
	}
	st.relayed, st.ip, st.tls = true, ip, implicitTLS
	return true
}

// NoticeOfDisconnection is what a plain LDAP client over a connection cap
// is told before the connection is closed: the unsolicited notification
// of RFC 4511 4.4.1 (message ID 0, an extended response named
// 1.3.6.1.4.1.1466.20036) with resultCode busy and a reason.
func NoticeOfDisconnection(reason string) []byte {
	return noticeOfDisconnection(gldap.ResultBusy, reason)
}

func noticeOfDisconnection(code int, reason string) []byte {
	msg := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAPMessage")
	msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(0), "messageID"))
	res := ber.Encode(ber.ClassApplication, ber.TypeConstructed, gldap.ApplicationExtendedResponse, nil, "ExtendedResponse")
	res.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(code), "resultCode"))
	res.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "matchedDN"))
	res.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, reason, "diagnosticMessage"))
	res.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 10, noticeOfDisconnectionOID, "responseName"))
	msg.AppendChild(res)
	return msg.Bytes()
}

// clientIP is a connection's remote address, unmapped (invalid when not TCP).
func clientIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}

// track records a relayed client connection, so Close can end it; false
// when the server is closing.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.relays[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.relays, c)
	s.mu.Unlock()
}
