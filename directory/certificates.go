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
}
