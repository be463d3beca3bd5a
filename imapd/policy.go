package imapd

import (
	"net/netip"

	"congvu/directory"
	"congvu/policy"
)

// Calls into the policy engine; Deps.Policy nil accepts everything.

func remoteIP(s *session) netip.Addr {
	if nc := s.conn.NetConn(); nc != nil {
		return policy.AddrIP(nc.RemoteAddr().String())
	}
	return netip.Addr{}
}

// policyBeforeAuth may throttle the client before the password is checked.
func (s *session) policyBeforeAuth(login string) error {
	return s.srv.policy.BeforeAuth(s.ctx, policy.AuthAttempt{Protocol: policy.IMAP, IP: remoteIP(s), Login: login}).Err()
}

// policyAfterAuth reports the directory's answer; a refusal (the login
// that locked the account) replaces err.
func (s *session) policyAfterAuth(login string, acct *directory.Account, err error) error {
	result := policy.ClassifyAuth(err)
	o := policy.AuthOutcome{AuthAttempt: policy.AuthAttempt{Protocol: policy.IMAP, IP: remoteIP(s), Login: login},
		Result: result, Account: acct}
	if d := s.srv.policy.AfterAuth(s.ctx, o); d.Refused() {
		return d.Err()
	}
	return err
}

func (s *session) policyAppend(folder string) error {
	return s.srv.policy.Append(s.ctx, policy.AppendEvent{IP: remoteIP(s), Account: s.acct, Folder: folder}).Err()
}
