package smtpd

import "congvu/directory"

// AliasDomains is implemented by a directory that accepts mail for domains
// other than Config.LocalDomains: the old domain of a merged province
// (directory/orgdb.Resolver), whose addresses it resolves to the new one.
// It is found through directory wrappers (directory.As).
type AliasDomains interface {
	IsAliasDomain(domain string) bool
}

// acceptsDomain reports whether RCPT may name domain as ours: a local
// domain, or an alias domain the directory resolves.
func (s *Server) acceptsDomain(domain string) bool {
	if s.isLocalDomain(domain) {
		return true
	}
	ad, ok := directory.As[AliasDomains](s.dir)
	return ok && ad.IsAliasDomain(domain)
}
