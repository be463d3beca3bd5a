package server

import (
	"net"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"congvu/internal/config"
	"congvu/internal/connlimit"
	"congvu/ldapd"
)

// connLimits are the [limits] caps applied to every listener.
type connLimits struct{ base connlimit.Limits }

func listenerLimits(c config.Limits) (connLimits, error) {
	exempt, err := connlimit.ParseNetworks(c.ExemptNetworks)
	if err != nil {
		return connLimits{}, err
	}
	return connLimits{connlimit.Limits{PerIP: c.ConnectionsPerIP, Total: c.ConnectionsTotal, Exempt: exempt}}, nil
}

// wrap caps ln; a refused client of a plain-text listener is told why in
// its protocol's words (RFC 5321 §3.8 421, RFC 9051 §7.1.5 BYE, RFC 1939
// -ERR, HTTP 503, RFC 4511 §4.4.1 notice of disconnection); on TLS
// listeners nothing can be said before a handshake.
func (cl connLimits) wrap(ln net.Listener, name, hostname string, refused *prometheus.CounterVec) net.Listener {
	lim := cl.base
	switch name {
	case "smtp", "submission":
		lim.Refusal = []byte("421 4.7.0 " + hostname + " Too many connections from your address, try again later / Quá nhiều kết nối từ địa chỉ của bạn\r\n")
	case "imap":
		lim.Refusal = []byte("* BYE [UNAVAILABLE] Too many connections from your address, try again later\r\n")
	case "pop3":
		lim.Refusal = []byte("-ERR [SYS/TEMP] Too many connections from your address, try again later\r\n")
	case "ldap":
		// RFC 4511 4.4.1: the notice of disconnection, resultCode busy.
		lim.Refusal = ldapd.NoticeOfDisconnection("Quá nhiều kết nối từ địa chỉ của bạn / Too many connections from your address, try again later")
	case "http":
		body := "Quá nhiều kết nối từ địa chỉ của bạn, vui lòng thử lại sau. / Too many connections from your address, try again later.\n"
		lim.Refusal = []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 30\r\nConnection: close\r\n" +
			"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	}
	return connlimit.Wrap(ln, name, lim, refused)
}
