package frontend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"congvu/directory"
	"congvu/internal/authcache"
	"congvu/internal/mailerr"
	"congvu/policy"
)

// AuthDeps are what the auth_http endpoint uses.
type AuthDeps struct {
	Dir directory.Directory
	// DirFor, when set, is the directory a protocol's logins check
	// ("imap", "pop3", "smtp": app passwords where a second factor is on).
	DirFor func(protocol string) directory.Directory
	Policy policy.Hooks
	// Route returns the address nginx must connect to for the account's
	// mailbox and protocol ("imap", "pop3", "smtp"): its home node's proxy
	// listener. An error means that node cannot take it now.
	Route  func(ctx context.Context, acct *directory.Account, protocol string) (netip.AddrPort, error)
	Logger *slog.Logger
	// Tickets, when set, replace the password nginx sends to the node
	// (Auth-Pass), so the node need not hash it again (ticket.go).
	Tickets *Tickets
	// Wait is Auth-Wait after a refusal the client may retry.
	Wait time.Duration
	// Creds, when set, remembers verified passwords for a few minutes
	// (internal/authcache, as the IMAP server does for its own logins):
	// mail clients reconnect all day, and behind nginx every connection
	// is a login here. Without it each reconnect costs a full argon2id
	// hash, which made logins through nginx 20-200 times slower than
	// direct ones (bench: nginx part).
	Creds *authcache.Cache
}

// maxHeaderValue bounds what is taken from nginx's request headers.
const maxHeaderValue = 1024

// AuthHTTP answers nginx's auth_http requests (nginx.org's
// ngx_mail_auth_http_module: request headers Auth-Method, Auth-User,
// Auth-Pass, Auth-Protocol, Client-IP; answer Auth-Status OK with
// Auth-Server and Auth-Port, or Auth-Status with the reason, Auth-Wait and
// for SMTP Auth-Error-Code). Every login goes through the policy engine's
// Connect, BeforeAuth and AfterAuth as on the node's own listeners, with the
// client's address: throttling, lockout, locked and retired accounts and
// directory outages are answered exactly as the daemons would.
func AuthHTTP(deps AuthDeps) http.Handler {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Wait <= 0 {
		deps.Wait = 3 * time.Second
	}
	pol := policy.OrNop(deps.Policy)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header
		proto := strings.ToLower(h.Get("Auth-Protocol"))
		var pp policy.Protocol
		switch proto {
		case "imap":
			pp = policy.IMAP
		case "pop3":
			pp = policy.POP3
		case "smtp":
			pp = policy.Submission
		default:
			http.Error(w, "unknown Auth-Protocol", http.StatusBadRequest)
			return
		}
		refuse := func(e *mailerr.Error, retry bool) {
			// nginx sends Auth-Status to the client: IMAP after "NO",
			// POP3 after "-ERR", SMTP after Auth-Error-Code.
			status := e.Message
			if pp == policy.IMAP && e.IMAPCode != "" {
				status = "[" + e.IMAPCode + "] " + status
			}
			w.Header().Set("Auth-Status", headerSafe(status))
			if retry {
				w.Header().Set("Auth-Wait", strconv.Itoa(int(deps.Wait.Seconds())))
			}
			if pp == policy.Submission {
				w.Header().Set("Auth-Error-Code", fmt.Sprintf("%d %d.%d.%d", e.SMTPCode, e.Enhanced[0], e.Enhanced[1], e.Enhanced[2]))
			}
			w.WriteHeader(http.StatusOK)
		}
		if m := strings.ToLower(h.Get("Auth-Method")); m != "plain" && m != "login" {
			// apop and cram-md5 need the password in clear on our side;
			// "none" (SMTP without AUTH) is MX traffic, not for nginx.
			refuse(mailerr.ErrAuthFailed.WithMessage("Authentication method not supported", ""), false)
			return
		}
		login, err1 := url.PathUnescape(limit(h.Get("Auth-User")))
		pass, err2 := url.PathUnescape(limit(h.Get("Auth-Pass")))
		ip := policy.AddrIP(h.Get("Client-IP"))
		if err1 != nil || err2 != nil || login == "" || !ip.IsValid() {
			http.Error(w, "bad auth_http request", http.StatusBadRequest)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		// The client's connection as the node's listeners would see it
		// (policy.deny_networks), then the login.
		if d := pol.Connect(ctx, policy.Conn{Protocol: pp, IP: ip}); d.Refused() {
			refuse(mailerr.Classify(d.Err()), false)
			return
		}
		attempt := policy.AuthAttempt{Protocol: pp, IP: ip, Login: login}
		if d := pol.BeforeAuth(ctx, attempt); d.Refused() {
			refuse(mailerr.Classify(d.Err()), d.Verdict == policy.Defer)
			return
		}
		dir := deps.Dir
		if deps.DirFor != nil {
			dir = deps.DirFor(proto)
		}
		acct, _, err := deps.Creds.Authenticate(ctx, dir, login, pass)
		if err == nil && acct == nil {
			err = mailerr.ErrInternal.With(errors.New("directory returned no account"))
		}
		o := policy.AuthOutcome{AuthAttempt: attempt, Result: policy.ClassifyAuth(err), Account: acct}
		if d := pol.AfterAuth(ctx, o); d.Refused() {
			err = d.Err()
		}
		if err != nil {
			e := mailerr.Classify(err)
			deps.Logger.Info("auth_http: login refused", "login", login, "protocol", proto, "ip", ip.String(), "reason", e.Message)
			// A wrong password may be typed again; a locked account not.
			refuse(e, e.Temporary || errors.Is(e, mailerr.ErrAuthFailed))
			return
		}
		to, err := deps.Route(ctx, acct, proto)
		if err != nil {
			deps.Logger.Warn("auth_http: home node unavailable", "user", acct.Address, "node", acct.MailHost, "err", err)
			refuse(mailerr.ErrDirectoryUnavailable.WithMessage("Mailbox server temporarily unavailable, try again later",
				"Máy chủ hộp thư tạm thời không phục vụ, xin thử lại sau"), true)
			return
		}
		w.Header().Set("Auth-Status", "OK")
		if deps.Tickets != nil {
			w.Header().Set("Auth-User", acct.Address)
			w.Header().Set("Auth-Pass", deps.Tickets.Issue(acct.Address))
		}
		w.Header().Set("Auth-Server", to.Addr().String())
		w.Header().Set("Auth-Port", strconv.Itoa(int(to.Port())))
		w.WriteHeader(http.StatusOK)
	})
}

// CheckReachable dials addr briefly: auth_http tells a client that its
// node is down as a temporary failure instead of letting nginx fail.
func CheckReachable(ctx context.Context, addr netip.AddrPort, timeout time.Duration) error {
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return err
	}
	return c.Close()
}

func limit(s string) string {
	if len(s) > maxHeaderValue {
		return s[:maxHeaderValue]
	}
	return s
}

// headerSafe keeps a reason printable ASCII on one line (it goes into an
// IMAP, POP3 or SMTP reply line).
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, s)
}
