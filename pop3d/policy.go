package pop3d

import (
	"congvu/directory"
	"congvu/policy"
)

// Calls into the policy engine; Deps.Policy nil accepts everything.

func (s *session) attempt(login string) policy.AuthAttempt {
	return policy.AuthAttempt{Protocol: policy.POP3, IP: policy.AddrIP(s.raw.RemoteAddr().String()), Login: login}
}

// policyConnect runs the connection hook before the greeting.
func (s *session) policyConnect() error {
	return s.srv.policy.Connect(s.srv.ctx, policy.Conn{Protocol: policy.POP3, IP: s.attempt("").IP}).Err()
}

func (s *session) policyBeforeAuth(login string) error {
	return s.srv.policy.BeforeAuth(s.srv.ctx, s.attempt(login)).Err()
}

// policyAfterAuth reports the directory's answer; a refusal (the login
// that locked the account) replaces err.
func (s *session) policyAfterAuth(login string, acct *directory.Account, err error) error {
	a := s.attempt(login)
	result := policy.ClassifyAuth(err)
	if d := s.srv.policy.AfterAuth(s.srv.ctx, policy.AuthOutcome{AuthAttempt: a, Result: result, Account: acct}); d.Refused() {
		return d.Err()
	}
	return err
}
