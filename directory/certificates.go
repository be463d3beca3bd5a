package directory

import "context"

// Certificates publishes officials' S/MIME certificates (RFC 2798
// userSMIMECertificate), so mail clients can encrypt to colleagues and the
// danh bạ can show them. Both backends implement it; callers type-assert
// a Writer (`congvu cert import` checks the chain before publishing).
type Certificates interface {
	// PutCertificate replaces the account's published certificate (DER);
	// nil removes it. The address may be an alias.
	PutCertificate(ctx context.Context, address string, der []byte) error
	// Certificate returns the account's certificate (DER), nil when none.
	Certificate(ctx context.Context, address string) ([]byte, error)
	// AllCertificates returns every published certificate (DER) by the
	// account's primary address, in one read: the danh bạ, its exports
	// and the address books publish them without one query per person.
	AllCertificates(ctx context.Context) (map[string][]byte, error)
}

// PublishedCertificates returns dir's published certificates by primary
// address, or none when the backend (found through any wrappers) does not
// publish certificates.
func PublishedCertificates(ctx context.Context, dir Directory) (map[string][]byte, error) {
	if cs, ok := As[Certificates](dir); ok {
		return cs.AllCertificates(ctx)
	}
	return nil, nil
}
