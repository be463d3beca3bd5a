package imapd

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"congvu/directory"
	"congvu/imapd/wire"
	"congvu/internal/frontend"
	"congvu/internal/mailerr"
	"congvu/internal/metrics"
	"congvu/policy"
)

// caps is the CAPABILITY list of the connection's current state.
func (c *conn) caps() []string {
	if c.state != stateNotAuth {
		return c.srv.capabilities()
	}
	caps := []string{"IMAP4rev1", "IMAP4rev2", "LITERAL+", "SASL-IR", "ID", "ENABLE", "IDLE"}
	if !c.tlsOn {
		if c.srv.tls != nil {
			caps = append(caps, "STARTTLS")
		}
		// RFC 9051 §11.1, §6.2.3: no password over a cleartext channel.
		return append(caps, "LOGINDISABLED")
	}
	return append(caps, "AUTH=PLAIN")
}

func (c *conn) cmdCapability() error {
	c.w.Raw("* CAPABILITY ").Raw(strings.Join(c.caps(), " ")).CRLF()
	return nil
}

// cmdID answers ID (RFC 2971) with the server's name; the client's fields
// are only logged.
func (c *conn) cmdID(cmd *wire.Command) error {
	if len(cmd.ID) > 0 {
		var b strings.Builder
		for i := 0; i+1 < len(cmd.ID); i += 2 {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(cmd.ID[i] + "=" + cmd.ID[i+1])
		}
		c.log.Debug("imap client id", "id", b.String())
	}
	c.w.Raw(`* ID ("name" "congvu" "vendor" "congvu")`).CRLF()
	return nil
}

// cmdStartTLS implements RFC 9051 §6.2.1.
func (c *conn) cmdStartTLS() error {
	if c.tlsOn {
		return bad("", "TLS is already active")
	}
	if c.srv.tls == nil {
		return no("", "STARTTLS is not available")
	}
	if c.r.Source().Buffered() > 0 || len(c.pr.pre) > 0 {
		// Commands sent before the handshake could be injected by a man
		// in the middle (CVE-2011-0411 class): refuse the connection.
		return byeError{"Data after STARTTLS; closing"}
	}
	c.w.Status(c.tag, "OK", "", "Begin TLS negotiation now")
	if err := c.flush(); err != nil {
		return err
	}
	tc := tls.Server(c.tcp, c.srv.tls)
	c.tcp.SetDeadline(time.Now().Add(30 * time.Second))
	if err := tc.HandshakeContext(c.ctx); err != nil {
		c.log.Debug("imap starttls handshake failed", "err", err)
		return err
	}
	c.tcp.SetDeadline(time.Time{})
	c.nc, c.tlsOn = tc, true
	c.r.Source().Reset(tc)
	c.w.Dest().Reset(tc)
	c.answered()
	return nil
}

// answered marks the command as answered by its handler.
func (c *conn) answered() { c.okCode, c.okText = "-", "" }

// cmdLogin implements LOGIN (RFC 9051 §6.2.3).
func (c *conn) cmdLogin(user, password string) error {
	if !c.tlsOn {
		return no("PRIVACYREQUIRED", "LOGIN is only allowed over TLS (use STARTTLS or port 993)")
	}
	return c.login(user, password)
}

// cmdAuthenticate implements AUTHENTICATE PLAIN (RFC 9051 §6.2.2, RFC
// 4616) with an initial response (SASL-IR, RFC 4959).
func (c *conn) cmdAuthenticate(cmd *wire.Command) error {
	if !c.tlsOn {
		return no("PRIVACYREQUIRED", "Authentication is only allowed over TLS (use STARTTLS or port 993)")
	}
	if cmd.Args[0] != "PLAIN" {
		return no("CANNOT", "Unsupported authentication mechanism; use PLAIN")
	}
	var resp string
	if len(cmd.Args) > 1 {
		resp = cmd.Args[1]
		if resp == "=" {
			resp = "" // RFC 4959 §3: an empty initial response
		}
	} else {
		c.w.Raw("+ ").CRLF()
		if err := c.flush(); err != nil {
			return err
		}
		line, err := c.r.ReadLine()
		if err != nil {
			return err
		}
		resp = string(line)
	}
	if resp == "*" {
		return bad("", "Authentication cancelled") // RFC 9051 §6.2.2
	}
	raw, err := base64.StdEncoding.DecodeString(resp)
	if err != nil {
		return bad("", "Invalid base64 in authentication response")
	}
	parts := bytes.Split(raw, []byte{0})
	if len(parts) != 3 {
		return bad("", "Invalid PLAIN authentication response")
	}
	authz, user, pass := string(parts[0]), string(parts[1]), string(parts[2])
	if authz != "" && !strings.EqualFold(authz, user) {
		return no("AUTHORIZATIONFAILED", "Logging in as another user is not allowed")
	}
	return c.login(user, pass)
}

// login checks the password with the directory through the policy
// hooks, opens the mailbox and moves to the authenticated state.
// Passwords are never logged.
func (c *conn) login(username, password string) error {
	if err := c.policyBeforeAuth(username); err != nil {
		c.srv.count(func(m *metrics.Metrics) { m.Logins.WithLabelValues("imap", "throttled").Inc() })
		return c.mapError("LOGIN", err)
	}
	creds := c.srv.creds
	if frontend.IsTicket(password) {
		// nginx's one-use login ticket (auth_http remembered the
		// password): nothing to remember, and each would take a place
		// in the cache.
		creds = nil
	}
	acct, cached, err := creds.Authenticate(c.ctx, c.srv.deps.Dir, username, password)
	err = c.policyAfterAuth(username, acct, err)
	if err == nil && acct != nil && acct.State != directory.StateActive {
		err = mailerr.ErrAccountDisabled
	}
	if err == nil && acct == nil {
		err = mailerr.ErrAuthFailed
	}
	if err == nil && acct.Role == directory.RoleUnit && c.srv.deps.Sharing != nil {
		// The unit mailbox has no password of its own any more.
		c.srv.count(func(m *metrics.Metrics) { m.Logins.WithLabelValues("imap", "refused").Inc() })
		c.log.Info("imap login as a unit mailbox refused", "user", username)
		return c.mapError("LOGIN", errUnitLogin)
	}
	if err != nil {
		result := "failed"
		switch {
		case errors.Is(err, mailerr.ErrAccountDisabled):
			result = "locked"
		case errors.Is(err, mailerr.ErrAuthFailed), errors.Is(err, mailerr.ErrUnknownUser):
			// Unknown users look exactly like wrong passwords (RFC 9051 §11.1).
			err = mailerr.ErrAuthFailed
		default:
			result = "unavailable"
			if mailerr.As(err) == nil {
				err = mailerr.ErrDirectoryUnavailable.With(err)
			}
		}
		c.srv.count(func(m *metrics.Metrics) { m.Logins.WithLabelValues("imap", result).Inc() })
		c.log.Info("imap login refused", "user", username, "result", result)
		if result == "failed" && c.srv.authFailDelay > 0 {
			select {
			case <-time.After(c.srv.authFailDelay):
			case <-c.ctx.Done():
			}
		}
		return c.mapError("LOGIN", err)
	}
	mbox, err := c.srv.deps.Store.Mailbox(c.ctx, acct.Address, acct.QuotaBytes)
	if err != nil {
		c.srv.count(func(m *metrics.Metrics) { m.Logins.WithLabelValues("imap", "unavailable").Inc() })
		return c.mapError("LOGIN", err)
	}
	c.srv.count(func(m *metrics.Metrics) { m.Logins.WithLabelValues("imap", "ok").Inc() })
	c.acct, c.mbox, c.state = acct, mbox, stateAuth
	c.log = c.log.With("user", acct.Address)
	c.log.Info("imap login", "cached", cached)
	c.untrack = c.srv.policy.TrackSession(policy.Session{Protocol: policy.IMAP, Account: acct, End: c.revoke})
	lim := wire.DefaultLimits()
	lim.MaxDiscard = max(lim.MaxDiscard, 2*int64(c.srv.appendLimit))
	c.r.SetLimits(lim)
	// RFC 9051 §6.2.3: capabilities may change at login; say them.
	c.okCode, c.okText = "CAPABILITY "+strings.Join(c.caps(), " "), "Logged in"
	return nil
}

// cmdEnable implements ENABLE (RFC 5161).
func (c *conn) cmdEnable(cmd *wire.Command) error {
	if c.state != stateAuth {
		return bad("", "ENABLE is only allowed before SELECT") // RFC 5161 §3.1
	}
	var enabled []string
	for _, cp := range cmd.Args {
		switch cp {
		case "IMAP4REV2":
			if !c.rev2 {
				c.rev2, c.utf8 = true, true
				enabled = append(enabled, "IMAP4rev2")
			}
		case "UTF8=ACCEPT":
			if !c.utf8 {
				c.utf8 = true
				enabled = append(enabled, "UTF8=ACCEPT")
			}
		case "CONDSTORE":
			if !c.condstore {
				c.condstore = true
				enabled = append(enabled, "CONDSTORE")
			}
		case "QRESYNC":
			// RFC 7162 §3.2.3: QRESYNC implies CONDSTORE.
			if !c.qresync {
				c.qresync, c.condstore = true, true
				enabled = append(enabled, "QRESYNC")
			}
		}
	}
	c.p.UTF8, c.w.UTF8 = c.utf8, c.utf8
	c.w.Raw("* ENABLED")
	for _, e := range enabled {
		c.w.SP().Raw(e)
	}
	c.w.CRLF()
	return nil
}

// cmdNamespace implements NAMESPACE (RFC 9051 §6.3.10, RFC 2342).
// With shared mailboxes the third namespace is theirs.
func (c *conn) cmdNamespace() error {
	if c.srv.deps.Sharing != nil {
		c.w.Raw(`* NAMESPACE (("" "/")) NIL (("` + sharedRoot + `/" "/"))`).CRLF()
		return nil
	}
	c.w.Raw(`* NAMESPACE (("" "/")) NIL NIL`).CRLF()
	return nil
}

// Calls into the policy engine; Deps.Policy nil accepts everything.

// policyBeforeAuth may throttle the client before the password is checked.
func (c *conn) policyBeforeAuth(login string) error {
	return c.srv.policy.BeforeAuth(c.ctx, policy.AuthAttempt{Protocol: policy.IMAP, IP: c.remote, Login: login}).Err()
}

// policyAfterAuth reports the directory's answer; a refusal (the login
// that locked the account) replaces err.
func (c *conn) policyAfterAuth(login string, acct *directory.Account, err error) error {
	result := policy.ClassifyAuth(err)
	o := policy.AuthOutcome{AuthAttempt: policy.AuthAttempt{Protocol: policy.IMAP, IP: c.remote, Login: login},
		Result: result, Account: acct}
	if d := c.srv.policy.AfterAuth(c.ctx, o); d.Refused() {
		return d.Err()
	}
	return err
}

func (c *conn) policyAppend(folder string) error {
	return c.srv.policy.Append(c.ctx, policy.AppendEvent{IP: c.remote, Account: c.acct, Folder: folder}).Err()
}
