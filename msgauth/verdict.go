// Package msgauth authenticates mail between servers: DKIM signing of our
// outgoing mail (RFC 6376, RFC 8463) with keys made by `congvu dkim keygen`,
// and, for mail arriving on the MX listener, SPF (RFC 7208), DKIM
// verification, DMARC (RFC 7489) and protection against mail that pretends
// to come from our own domains or lookalikes of them. The verdict is
// recorded in an Authentication-Results header field (RFC 8601).
package msgauth

import (
	"net"

	"congvu/internal/mailerr"
)

// Envelope is what the SMTP session knows about an inbound message.
type Envelope struct {
	IP       net.IP // the client; nil when not TCP
	HELO     string
	MailFrom string // reverse-path, "" for the null sender
}

// Action is what to do with an inbound message.
type Action int

const (
	// Deliver to the inbox.
	Deliver Action = iota
	// Junk delivers to the Junk folder (DMARC p=quarantine, or a
	// lookalike sender when configured to mark rather than refuse).
	Junk
	// Reject refuses the message at the end of DATA with Verdict.Err.
	Reject
)

func (a Action) String() string {
	return [...]string{"deliver", "junk", "reject"}[a]
}

// Verdict is the outcome of Checker.Check.
type Verdict struct {
	Action Action
	// Err is the refusal for Reject (550 5.7.1, or a temporary 451 4.7.0
	// when the verdict depends on DNS that failed).
	Err *mailerr.Error
	// Prepend are header fields to add on top of the message:
	// Authentication-Results and, for Junk, X-Congvu-Junk-Reason.
	Prepend []byte
	// Header is the message's header block with forged
	// Authentication-Results fields removed; it replaces the first
	// HeaderLen bytes of the message.
	Header    []byte
	HeaderLen int64
	// Reason explains the action, for logs and the Junk reason field.
	Reason string
}
