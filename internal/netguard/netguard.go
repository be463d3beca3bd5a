// Package netguard keeps connections that congvu opens on behalf of others
// (outbound SMTP chosen by a recipient address, MTA-STS policy fetches,
// certificate revocation URLs) away from internal networks: loopback,
// private (RFC 1918, RFC 4193), link-local (cloud metadata at
// 169.254.169.254), shared address space and other non-global ranges.
// Otherwise an official could aim delivery at the government network's
// port 25 and read the replies in bounces.
//
// The check runs on the address actually dialled (net.Dialer.Control), so
// a DNS answer that changes between lookup and connect cannot slip past it.
package netguard

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"congvu/internal/mailerr"
)

// ErrInternal refuses a destination on an internal network.
var ErrInternal = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 4, 4},
	Message:   "Destination is on an internal network",
	MessageVI: "Địa chỉ đích thuộc mạng nội bộ, không được phép gửi tới"}

// nonGlobal are ranges netip's predicates do not cover (RFC 6890 special
// purpose registries).
var nonGlobal = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space (CGNAT), RFC 6598
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking, RFC 2544
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and the broadcast address
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64, RFC 8215
	netip.MustParsePrefix("100::/64"),        // discard-only, RFC 6666
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("fec0::/10"),       // deprecated site-local
	netip.MustParsePrefix("2001::/23"),       // IETF protocol assignments
	netip.MustParsePrefix("::ffff:0:0/96"),   // mapped, checked unmapped
	netip.MustParsePrefix("::/128"),          // unspecified
	netip.MustParsePrefix("::1/128"),         // loopback
	netip.MustParsePrefix("fc00::/7"),        // unique local, RFC 4193
	netip.MustParsePrefix("fe80::/10"),       // link-local
	netip.MustParsePrefix("169.254.0.0/16"),  // link-local, cloud metadata
	netip.MustParsePrefix("127.0.0.0/8"),     // loopback
	netip.MustParsePrefix("10.0.0.0/8"),      // RFC 1918
	netip.MustParsePrefix("172.16.0.0/12"),   // RFC 1918
	netip.MustParsePrefix("192.168.0.0/16"),  // RFC 1918
	netip.MustParsePrefix("224.0.0.0/4"),     // multicast
	netip.MustParsePrefix("ff00::/8"),        // multicast
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
}

// Internal reports whether ip is not a global unicast address.
func Internal(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsUnspecified() || ip.IsLoopback() || ip.IsPrivate() ||
		ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsMulticast() {
		return true
	}
	for _, p := range nonGlobal {
		if p.Contains(ip) {
			return true
		}
	}
	// NAT64 well-known prefix: judge the embedded IPv4 address.
	if nat64 := netip.MustParsePrefix("64:ff9b::/96"); nat64.Contains(ip) {
		b := ip.As16()
		return Internal(netip.AddrFrom4([4]byte(b[12:16])))
	}
	return false
}

// Guard allows internal destinations only inside configured networks
// (an operator's internal relays, the tests' loopback servers).
type Guard struct {
	allow []netip.Prefix
}

// New returns a Guard allowing the given CIDR prefixes ("10.1.2.0/24",
// "127.0.0.0/8"); a bare address allows just that address.
func New(allow []string) (*Guard, error) {
	g := &Guard{}
	for _, a := range allow {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			ip, err2 := netip.ParseAddr(a)
			if err2 != nil {
				return nil, fmt.Errorf("netguard: %q is neither a CIDR prefix nor an address", a)
			}
			p = netip.PrefixFrom(ip, ip.BitLen())
		}
		g.allow = append(g.allow, p.Masked())
	}
	return g, nil
}

// Allowed reports whether congvu may connect to ip.
func (g *Guard) Allowed(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !Internal(ip) {
		return true
	}
	if g == nil {
		return false
	}
	for _, p := range g.allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// AllowedIP is Allowed for a net.IP.
func (g *Guard) AllowedIP(ip net.IP) bool {
	a, ok := netip.AddrFromSlice(ip)
	return ok && g.Allowed(a)
}

// Control is a net.Dialer.Control function refusing disallowed addresses
// at connect time.
func (g *Guard) Control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return ErrInternal.With(fmt.Errorf("unparsable destination %q", address))
	}
	if !g.Allowed(ap.Addr()) {
		return ErrInternal.With(fmt.Errorf("%s is on an internal network", ap.Addr()))
	}
	return nil
}

// Dialer returns a dialer that refuses disallowed addresses.
func (g *Guard) Dialer(d net.Dialer) *net.Dialer {
	d.Control = g.Control
	return &d
}
