// Package frontend is what congvu nodes need behind nginx's mail proxy
// (the client tier, deploy/nginx/congvu-mail.conf):
//
//   - the auth_http endpoint nginx asks before it proxies a login
//     (authhttp.go): the policy engine's login hooks, then the account's
//     home node;
//   - listeners for the connections nginx opens to a node (listener.go):
//     only from trusted networks, the client's address taken from the
//     PROXY protocol header (IMAP, POP3) or XCLIENT (SMTP submission), and
//     — because nginx speaks plain text to its backends while the client
//     side was TLS — marked as such (SecuredByProxy), so the daemons'
//     ServeProxied methods accept logins on them as under TLS.
package frontend

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// ErrNotProxy: the connection did not start with a PROXY protocol header.
var ErrNotProxy = errors.New("frontend: no PROXY protocol header")

// v2Signature starts a PROXY protocol version 2 header.
var v2Signature = []byte("\r\n\r\n\x00\r\nQUIT\n")

// maxV1Line is the longest v1 header line, CRLF included (spec §2.1).
const maxV1Line = 107

// maxV2Body bounds the address block of a v2 header (TLVs included); the
// spec allows 65535, nginx sends none beyond the addresses.
const maxV2Body = 4096

// ProxyHeader is what a PROXY protocol header says about the connection
// (HAProxy's proxy-protocol.txt, versions 1 and 2).
type ProxyHeader struct {
	// Local is true for v2 LOCAL and v1 UNKNOWN: the proxy's own
	// connection (health checks), no client addresses.
	Local       bool
	Source, Dst netip.AddrPort
}

// ReadProxyHeader reads a v1 or v2 header from r, which must be at the
// start of the connection. Anything else is ErrNotProxy or a parse error;
// the caller closes the connection either way.
func ReadProxyHeader(r *bufio.Reader) (ProxyHeader, error) {
	first, err := r.Peek(1)
	if err != nil {
		return ProxyHeader{}, err
	}
	switch first[0] {
	case 'P':
		return readV1(r)
	case '\r':
		return readV2(r)
	}
	return ProxyHeader{}, ErrNotProxy
}

// readV1 parses "PROXY TCP4|TCP6|UNKNOWN src dst sport dport\r\n" (§2.1).
func readV1(r *bufio.Reader) (ProxyHeader, error) {
	var line []byte
	for len(line) < maxV1Line {
		b, err := r.ReadByte()
		if err != nil {
			return ProxyHeader{}, err
		}
		line = append(line, b)
		if b == '\n' {
			break
		}
	}
	if !bytes.HasSuffix(line, []byte("\r\n")) {
		return ProxyHeader{}, errors.New("frontend: PROXY v1 line too long or not CRLF-terminated")
	}
	f := strings.Split(string(line[:len(line)-2]), " ")
	if f[0] != "PROXY" || len(f) < 2 {
		return ProxyHeader{}, ErrNotProxy
	}
	if f[1] == "UNKNOWN" {
		return ProxyHeader{Local: true}, nil // the rest of the line is to be ignored
	}
	if (f[1] != "TCP4" && f[1] != "TCP6") || len(f) != 6 {
		return ProxyHeader{}, fmt.Errorf("frontend: PROXY v1 %q", line)
	}
	src, err1 := netip.ParseAddr(f[2])
	dst, err2 := netip.ParseAddr(f[3])
	if err2 != nil && strings.HasPrefix(f[3], "unix:") {
		// nginx's mail module listening on a Unix socket (behind its
		// stream module, deploy/nginx/congvu-mail.conf) writes that
		// socket's path as the destination. Only the source is used.
		dst, err2 = netip.Addr{}, nil
	}
	sp, err3 := parsePort(f[4])
	dp, err4 := parsePort(f[5])
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return ProxyHeader{}, fmt.Errorf("frontend: PROXY v1: %w", err)
	}
	if src.Is4() != (f[1] == "TCP4") || (dst.IsValid() && dst.Is4() != (f[1] == "TCP4")) || src.Zone() != "" || dst.Zone() != "" {
		return ProxyHeader{}, fmt.Errorf("frontend: PROXY v1 address family mismatch in %q", line)
	}
	return ProxyHeader{Source: netip.AddrPortFrom(src, sp), Dst: netip.AddrPortFrom(dst, dp)}, nil
}

// parsePort is a decimal port without sign or leading zeros (§2.1).
func parsePort(s string) (uint16, error) {
	if s == "" || len(s) > 5 || (len(s) > 1 && s[0] == '0') || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("bad port %q", s)
	}
	n, err := strconv.ParseUint(s, 10, 16)
	return uint16(n), err
}

// readV2 parses the binary header (§2.2).
func readV2(r *bufio.Reader) (ProxyHeader, error) {
	var fixed [16]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return ProxyHeader{}, err
	}
	if !bytes.Equal(fixed[:12], v2Signature) {
		return ProxyHeader{}, ErrNotProxy
	}
	verCmd, fam := fixed[12], fixed[13]
	n := int(binary.BigEndian.Uint16(fixed[14:16]))
	if verCmd>>4 != 2 {
		return ProxyHeader{}, fmt.Errorf("frontend: PROXY v2 version %d", verCmd>>4)
	}
	if n > maxV2Body {
		return ProxyHeader{}, fmt.Errorf("frontend: PROXY v2 header of %d bytes", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return ProxyHeader{}, err
	}
	switch verCmd & 0xf {
	case 0: // LOCAL: addresses (if any) are to be ignored
		return ProxyHeader{Local: true}, nil
	case 1: // PROXY
	default:
		return ProxyHeader{}, fmt.Errorf("frontend: PROXY v2 command %d", verCmd&0xf)
	}
	switch fam {
	case 0x11: // TCP over IPv4
		if n < 12 {
			return ProxyHeader{}, errors.New("frontend: PROXY v2 IPv4 block too short")
		}
		src := netip.AddrFrom4([4]byte(body[0:4]))
		dst := netip.AddrFrom4([4]byte(body[4:8]))
		return ProxyHeader{Source: netip.AddrPortFrom(src, binary.BigEndian.Uint16(body[8:10])),
			Dst: netip.AddrPortFrom(dst, binary.BigEndian.Uint16(body[10:12]))}, nil
	case 0x21: // TCP over IPv6
		if n < 36 {
			return ProxyHeader{}, errors.New("frontend: PROXY v2 IPv6 block too short")
		}
		src := netip.AddrFrom16([16]byte(body[0:16]))
		dst := netip.AddrFrom16([16]byte(body[16:32]))
		return ProxyHeader{Source: netip.AddrPortFrom(src, binary.BigEndian.Uint16(body[32:34])),
			Dst: netip.AddrPortFrom(dst, binary.BigEndian.Uint16(body[34:36]))}, nil
	case 0x00: // UNSPEC
		return ProxyHeader{Local: true}, nil
	}
	return ProxyHeader{}, fmt.Errorf("frontend: PROXY v2 address family 0x%02x not supported", fam)
}
