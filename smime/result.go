// Package smime verifies and makes S/MIME signatures (RFC 8551, CMS RFC
// 5652) for official documents.
//
// This file is the seam other rooms build on (agreed before the work on
// issue 10 started): the verification result of one signature, how it is
// stamped into a message's Authentication-Results field (RFC 8601 with the
// smime method of RFC 7281) and how a reader (webmail badge, reports,
// IMAP clients) gets it back from the stored header without re-verifying.
// The stamp in the message file is the truth, so an index rebuilt from
// the files keeps it.
package smime

// Status is an RFC 7281 smime method result.
type Status string

const (
	Pass      Status = "pass"      // valid signature, trusted chain, signer matches
	Fail      Status = "fail"      // signature does not verify over the bytes (tampered)
	Neutral   Status = "neutral"   // verifies but the result cannot be relied on (e.g. untrusted chain)
	Policy    Status = "policy"    // verifies but refused by local policy (weak hash, wrong EKU, expired, revoked, From mismatch)
	TempError Status = "temperror" // could not check now (revocation source unreachable beyond the grace)
	PermError Status = "permerror" // malformed signature
	None      Status = "none"      // not signed
)

// Result is the outcome for one signature of a message: an S/MIME layer of
// the mail itself or a signature inside an attached PDF.
type Result struct {
	Status Status
	// Part is RFC 7281 body.smime-part: the MIME part number of the signed
	// content ("1", "2.1"), or "pdf:<file name>" for a PDF signature.
	Part string
	// Identifier is the signer's e-mail address from the certificate
	// (body.smime-identifier), Serial its serial number in hex
	// (body.smime-serial) and Issuer the issuer's DN (body.smime-issuer).
	Identifier, Serial, Issuer string
	// SignerName and Organization come from the signer certificate's
	// subject (CN and O); they travel in the stamp's comment.
	SignerName, Organization string
	// Reason says why the status is not pass, in English and Vietnamese,
	// short enough for a badge ("certificate revoked" / "chứng thư số đã bị thu hồi").
	Reason, ReasonVI string
}

// Valid reports whether the signature counts as a valid official signature.
func (r Result) Valid() bool { return r.Status == Pass }
