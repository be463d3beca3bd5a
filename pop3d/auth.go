package pop3d

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"congvu/directory"
	"congvu/internal/mailerr"
	"congvu/policy"
)

// errNeedTLS refuses logins in clear text. RFC 2595 section 6 says plain
// logins should not be announced or accepted before TLS; [AUTH] is the code
// Dovecot and others use for it, so clients show the text to the user.
var errNeedTLS = mailerr.ErrPlaintextAuth.WithMessage(
	"Plaintext authentication is disallowed without TLS, use STLS or port 995", "")

// userCmd handles USER name (RFC 1939 section 7).
func (s *session) userCmd(args []string) {
	if !s.tls {
		s.fail(errNeedTLS)
		return
	}
	if len(args) != 1 {
		s.bad("Syntax: USER name")
		return
	}
	s.user = args[0]
	s.printf("+OK Send PASS")
}

// pass handles PASS string (RFC 1939 section 7); the whole rest of the line
// is the password.
func (s *session) pass(args []string) {
	if !s.tls {
		s.fail(errNeedTLS)
		return
	}
	if s.user == "" {
		s.bad("Send USER first")
		return
	}
	login := s.user
	s.user = "" // a failed PASS needs a new USER (RFC 1939 section 7)
	if len(args) != 1 {
		s.bad("Syntax: PASS password")
		return
	}
	s.login(login, args[0], "")
}

// auth handles AUTH (RFC 5034). Only PLAIN (RFC 4616) is offered, and only
// under TLS. "AUTH" alone lists the mechanisms, as many clients expect.
func (s *session) auth(args []string) {
	if !s.tls {
		s.fail(errNeedTLS)
		return
	}
	switch {
	case len(args) == 0:
		s.printf("+OK Supported mechanisms follow")
		s.printf("PLAIN")
		s.printf(".")
		return
	case len(args) > 2:
		s.bad("Syntax: AUTH mechanism [initial-response]")
		return
	case !strings.EqualFold(args[0], "PLAIN"):
		s.printf("-ERR Unsupported authentication mechanism")
		return
	}
	var resp string
	if len(args) == 2 {
		// RFC 5034 section 4: "=" is an empty initial response.
		resp = args[1]
		if resp == "=" {
			resp = ""
		}
	} else {
		// Continuation: "+ " with an empty challenge, one line back.
		s.printf("+ ")
		if err := s.w.Flush(); err != nil {
			s.done = true
			return
		}
		s.conn.SetReadDeadline(time.Now().Add(s.srv.cfg.IdleTimeout))
		line, err := readLine(s.r)
		switch {
		case errors.Is(err, errLineTooLong):
			s.bad("Authentication data too long")
			return
		case err != nil:
			s.done = true
			return
		}
		resp = string(bytes.TrimRight(line, "\r\n"))
		if resp == "*" {
			// RFC 5034 section 4: the client cancelled.
			s.printf("-ERR Authentication cancelled")
			return
		}
	}
	data, err := base64.StdEncoding.Strict().DecodeString(resp)
	if err != nil {
		s.bad("Invalid base64 data")
		return
	}
	// RFC 4616 section 2: [authzid] NUL authcid NUL passwd.
	parts := strings.Split(string(data), "\x00")
	if len(parts) != 3 || parts[1] == "" {
		s.bad("Invalid PLAIN response")
		return
	}
	s.login(parts[1], parts[2], parts[0])
}

// login checks the credentials, takes the maildrop lock and snapshots the
// INBOX; on success the session enters TRANSACTION (RFC 1939 section 5).
// authzid, from AUTH PLAIN, must be empty or name the same account: acting
// for another user is not offered.
func (s *session) login(login, password, authzid string) {
	ctx, cancel := context.WithTimeout(s.srv.ctx, opTimeout)
	defer cancel()
	if err := s.policyBeforeAuth(login); err != nil {
		s.srv.countLogin("throttled")
		s.fail(mailerr.Classify(err))
		return
	}
	acct, err := s.srv.deps.Dir.Authenticate(ctx, login, password)
	if err == nil && acct == nil {
		err = mailerr.ErrInternal.With(errors.New("directory returned no account"))
	}
	if err == nil && authzid != "" && directory.NormalizeAddress(authzid) != acct.Address &&
		directory.NormalizeAddress(authzid) != directory.NormalizeAddress(login) {
		err = mailerr.ErrAuthFailed.WithMessage("Authorization identity not permitted", "")
	}
	err = s.policyAfterAuth(login, acct, err)
	if err != nil {
		s.loginFailed(login, err)
		return
	}
	if s.srv.deps.NoUnitLogin && acct.Role == directory.RoleUnit {
		s.srv.countLogin("refused")
		s.log.Info("pop3: login as a unit mailbox refused", "user", acct.Address)
		s.fail(errUnitLogin)
		return
	}
	s.srv.countLogin("ok")
	log := s.log.With("user", acct.Address)
	if !s.srv.lockMaildrop(acct.Address) {
		log.Info("pop3: maildrop in use")
		// RFC 2449 section 8.1.1 [IN-USE]; stay in AUTHORIZATION.
		s.fail(mailerr.ErrInUse.WithMessage("Maildrop is locked by another POP3 session", ""))
		return
	}
	md, err := openMaildrop(ctx, s.srv.deps.Store, acct.Address, acct.QuotaBytes)
	if err != nil {
		s.srv.unlockMaildrop(acct.Address)
		log.Error("pop3: cannot open maildrop", "err", err)
		s.fail(mailerr.Classify(err))
		return
	}
	s.lockedBy, s.md, s.state = acct.Address, md, stateTransaction
	s.untrack = s.srv.policy.TrackSession(policy.Session{Protocol: policy.POP3, Account: acct, End: s.revoke})
	s.log = log
	count, size := md.stat()
	log.Info("pop3: logged in", "messages", count, "octets", size, "tls", s.tls)
	s.printf("+OK Logged in, maildrop has %d messages (%d octets)", count, size)
}

// loginFailed answers a failed login with the RESP-CODE for its cause and
// counts it. Unknown users look exactly like wrong passwords.
func (s *session) loginFailed(login string, err error) {
	e := mailerr.Classify(err)
	result := "unavailable"
	switch {
	case errors.Is(e, mailerr.ErrAccountDisabled):
		result = "locked"
	case errors.Is(e, mailerr.ErrAuthFailed):
		result = "failed"
	case errors.Is(e, mailerr.ErrUnknownUser):
		result, e = "failed", mailerr.ErrAuthFailed.With(err)
	case errors.Is(e, mailerr.ErrPasswordExpired):
		// The right password, to be changed on the web: the text says where.
		result = "expired"
	case !e.Temporary:
		// A permanent error other than the above says nothing useful to
		// the client and must not leak: report a plain failure.
		result, e = "failed", mailerr.ErrAuthFailed.With(err)
	}
	s.srv.countLogin(result)
	// The login name is logged to trace attacks; the password never is.
	s.log.Info("pop3: login failed", "login", login, "result", result, "err", err)
	s.authFails++
	if result == "failed" && s.srv.failDelay > 0 {
		t := time.NewTimer(s.srv.failDelay)
		select {
		case <-t.C:
		case <-s.srv.ctx.Done():
			t.Stop()
		}
	}
	s.fail(e)
	// RFC 1939 section 4 allows closing after failed logins.
	s.done = s.authFails >= maxAuthFailures
}

// errUnitLogin refuses a log-in as a unit's shared mailbox: an [AUTH]
// refusal of these credentials (RFC 3206).
var errUnitLogin = mailerr.ErrAuthFailed.WithMessage("A unit mailbox is opened from your own account (IMAP, Shared/)",
	"Hộp thư đơn vị được mở từ tài khoản của chính bạn (IMAP, thư mục Shared/)")
