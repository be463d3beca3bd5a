package policy

import "context"

// IsStateDomain reports whether mail to or from domain stays inside the
// state's mail system (a local domain or one of policy.state_domains), as
// the engine's rules judge it: the webmail marks outside recipients and
// outside senders with it.
func (e *Engine) IsStateDomain(domain string) bool {
	return e.rules.Load().isStateDomain(domain)
}

// Get returns the forwarding target of address, "" when it has none.
func (f *Forwarding) Get(ctx context.Context, address string) (string, error) {
	return f.db.forwardOf(ctx, address)
}
