package smtpd

import (
	"net/netip"

	"congvu/directory"
	"congvu/policy"
)

// The calls into the policy engine (package policy), kept here so the
// protocol code only has one line at each hook point. Deps.Policy nil means
// policy.Nop: everything is accepted.

func (s *session) protocol() policy.Protocol {
	if s.mode == modeSubmission {
		return policy.Submission
	}
	return policy.SMTP
}

func (s *session) clientIP() netip.Addr {
	a, _ := netip.AddrFromSlice(s.ip)
	return a.Unmap()
}

// from is the current transaction's reverse-path.
func (s *session) from() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tx.from
}

func (s *session) envelope(from string) policy.Envelope {
	return policy.Envelope{Protocol: s.protocol(), IP: s.clientIP(), Account: s.account, From: from}
}

// policyConnect runs the connection hook (at the first EHLO/HELO, where
// go-smtp creates the session).
func (s *session) policyConnect() error {
	ctx, cancel := opContext(lookupTimeout)
	defer cancel()
	return s.srv.policy.Connect(ctx, policy.Conn{Protocol: s.protocol(), IP: s.clientIP()}).Err()
}

// policyBeforeAuth may throttle the client before the password is checked.
func (s *session) policyBeforeAuth(login string) error {
	ctx, cancel := opContext(lookupTimeout)
	defer cancel()
	return s.srv.policy.BeforeAuth(ctx, policy.AuthAttempt{Protocol: policy.Submission, IP: s.clientIP(), Login: login}).Err()
}

// policyAfterAuth reports the directory's answer; a refusal (the login
// that locked the account) replaces err.
func (s *session) policyAfterAuth(login string, acct *directory.Account, err error) error {
	ctx, cancel := opContext(lookupTimeout)
	defer cancel()
	o := policy.AuthOutcome{AuthAttempt: policy.AuthAttempt{Protocol: policy.Submission, IP: s.clientIP(), Login: login},
		Result: policy.ClassifyAuth(err), Account: acct}
	if d := s.srv.policy.AfterAuth(ctx, o); d.Refused() {
		return d.Err()
	}
	return err
}

func (s *session) policyMail(from string) error {
	ctx, cancel := opContext(lookupTimeout)
	defer cancel()
	return s.srv.policy.MailFrom(ctx, s.envelope(from)).Err()
}

func (s *session) policyRcpt(from, address string, acct *directory.Account) error {
	ctx, cancel := opContext(lookupTimeout)
	defer cancel()
	return s.srv.policy.RcptTo(ctx, s.envelope(from), policy.Recipient{Address: address, Account: acct}).Err()
}

// policyMessage describes a received transaction to the engine.
func (s *session) policyMessage(tx transaction, msg *spool) *policy.Message {
	m := &policy.Message{Envelope: s.envelope(tx.from), Size: msg.size, Open: msg.reader, Held: msg.held}
	for _, r := range tx.rcpts {
		if r.account == nil {
			m.Rcpts = append(m.Rcpts, policy.Recipient{Address: r.remote, Given: r.given})
		} else {
			m.Rcpts = append(m.Rcpts, policy.Recipient{Address: r.account.Address, Account: r.account, Given: r.given})
		}
	}
	return m
}

// policyData runs the DATA hook before anything is stored or queued.
func (s *session) policyData(m *policy.Message) error {
	ctx, cancel := opContext(lookupTimeout)
	defer cancel()
	return s.srv.policy.Data(ctx, m).Err()
}

// policyDelivered runs after local delivery, before the 250.
func (s *session) policyDelivered(m *policy.Message) {
	ctx, cancel := opContext(deliverTimeout)
	defer cancel()
	s.srv.policy.Delivered(ctx, m)
}
