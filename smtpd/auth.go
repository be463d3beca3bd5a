package smtpd

import (
	"errors"
	"fmt"

	"github.com/emersion/go-sasl"

	"congvu/directory"
	"congvu/internal/frontend"
	"congvu/internal/mailerr"
)

// AuthMechanisms lists the SASL mechanisms advertised in EHLO (RFC 4954 3).
// None on MX, and none before TLS: RFC 8314 and RFC 4954 14 forbid offering
// plaintext passwords on an unencrypted connection.
func (s *session) AuthMechanisms() []string {
	if s.mode != modeSubmission {
		return nil
	}
	if !s.secure() {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

// Auth starts a SASL exchange. The library has already refused a second
// AUTH after success (503).
func (s *session) Auth(mech string) (sasl.Server, error) {
	if s.mode != modeSubmission {
		return nil, s.reply(phaseAuth, errAuthNotOffered)
	}
	if !s.secure() {
		// RFC 4954 4: 538 5.7.11 Encryption required for requested
		// authentication mechanism.
		return nil, s.reply(phaseAuth, mailerr.ErrPlaintextAuth)
	}
	var srv sasl.Server
	switch mech {
	case sasl.Plain:
		// RFC 4616: identity (authzid) is who to act as; we allow no proxy
		// authorisation, only "act as myself".
		srv = sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && directory.NormalizeAddress(identity) != directory.NormalizeAddress(username) {
				s.countLogin("failed")
				return mailerr.ErrAuthFailed.With(fmt.Errorf("%s asked to act as %s", username, identity))
			}
			return s.authenticate(username, password)
		})
	case sasl.Login:
		srv = &loginServer{authenticate: s.authenticate}
	default:
		return nil, s.reply(phaseAuth, errUnknownMechanism.With(fmt.Errorf("mechanism %q", mech)))
	}
	return &saslReplier{Server: srv, s: s}, nil
}

// authenticate checks a login against the directory and records the
// account. Never logs the password.
func (s *session) authenticate(login, password string) error {
	if err := s.policyBeforeAuth(login); err != nil {
		s.countLogin("throttled")
		return fmt.Errorf("login %s: %w", login, err)
	}
	ctx, cancel := opContext(lookupTimeout)
	defer cancel()
	creds := s.srv.creds
	if frontend.IsTicket(password) {
		// nginx's one-use login ticket (auth_http remembered the
		// password): nothing to remember.
		creds = nil
	}
	acct, _, err := creds.Authenticate(ctx, s.srv.dir, login, password)
	if perr := s.policyAfterAuth(login, acct, err); perr != err {
		s.countLogin("locked")
		return fmt.Errorf("login %s: %w", login, perr)
	}
	switch {
	case err == nil && acct != nil:
		s.account = acct
		s.countLogin("ok")
		s.log = s.log.With("user", acct.Address)
		s.log.Info("authenticated", "login", login)
		return nil
	case errors.Is(err, mailerr.ErrAccountDisabled):
		// 535 5.7.8 with a text that says why: the official should call
		// the administrator rather than retype the password.
		s.countLogin("locked")
		return fmt.Errorf("login %s: %w", login, err)
	case errors.Is(err, mailerr.ErrAuthFailed):
		s.countLogin("failed")
		return fmt.Errorf("login %s: %w", login, err)
	default:
		// Directory down or an unclassified failure: temporary, never a
		// 535 that would make a client discard a correct password.
		s.countLogin("unavailable")
		if err == nil {
			err = errors.New("directory returned no account and no error")
		}
		if mailerr.As(err) == nil {
			err = mailerr.ErrDirectoryUnavailable.With(err)
		}
		return fmt.Errorf("login %s: %w", login, err)
	}
}

func (s *session) countLogin(result string) {
	s.srv.metrics.Logins.WithLabelValues("smtp", result).Inc()
}

// saslReplier maps the errors of a SASL exchange to replies: the library
// writes an *smtp.SMTPError as is and anything else as 454 with its text.
type saslReplier struct {
	sasl.Server
	s *session
}

func (r *saslReplier) Next(response []byte) ([]byte, bool, error) {
	challenge, done, err := r.Server.Next(response)
	if err != nil {
		if mailerr.As(err) == nil {
			// Errors of the SASL parsers themselves (missing NULs, a
			// response after the end).
			err = errMalformedAuth.With(err)
		}
		return nil, false, r.s.reply(phaseAuth, err)
	}
	return challenge, done, nil
}

// loginServer implements the obsolete but ubiquitous LOGIN mechanism
// (draft-murchison-sasl-login-00), which go-sasl offers only as a client.
// Outlook and many phones still use it.
type loginServer struct {
	authenticate func(login, password string) error
	step         int
	username     string
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		if response == nil {
			l.step = 1
			return []byte("Username:"), false, nil
		}
		// "AUTH LOGIN <base64 username>" carries the username at once.
		l.username, l.step = string(response), 2
		return []byte("Password:"), false, nil
	case 1:
		l.username, l.step = string(response), 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.authenticate(l.username, string(response))
	}
	return nil, false, sasl.ErrUnexpectedClientResponse
}
