// Package autoreply is the one rule for when an automatic answer — a
// vacation reply (sieve) or the notice of a changed address (reorg) — may
// go to the sender of a message: never to the null sender, a program, a
// mailing list, bulk mail or another automatic message (RFC 3834, RFC 5230
// §4.5–4.6).
package autoreply

import "strings"

// Header is what the rule reads of a message's header (net/textproto's
// MIMEHeader and go-message's *textproto.Header both have it).
type Header interface {
	Get(key string) string
}

// listFields mark mail from or through a mailing list (RFC 2369, RFC 2919).
var listFields = [...]string{"List-Id", "List-Help", "List-Unsubscribe", "List-Subscribe", "List-Post", "List-Owner", "List-Archive"}

// Skip says why no automatic answer may go to sender (the envelope's
// reverse-path) for a message with header h, "" when one may.
func Skip(sender string, h Header) string {
	sender = strings.ToLower(strings.TrimSpace(sender))
	at := strings.LastIndexByte(sender, '@')
	if sender == "" || at <= 0 {
		return "null sender"
	}
	// RFC 5230 §4.6: senders that are programs or lists by convention.
	switch local := sender[:at]; {
	case local == "mailer-daemon" || local == "listserv" || local == "majordomo" || local == "postmaster",
		strings.HasPrefix(local, "owner-"), strings.HasSuffix(local, "-request"), strings.HasPrefix(local, "bounce"),
		strings.Contains(local, "noreply"), strings.Contains(local, "no-reply"):
		return "sender is a program"
	}
	// RFC 3834 §5: Auto-Submitted other than "no" (a comment may follow).
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" {
		if kw, _, _ := strings.Cut(v, ";"); strings.TrimSpace(strings.SplitN(kw, "(", 2)[0]) != "no" {
			return "auto-submitted"
		}
	}
	switch p := strings.ToLower(strings.TrimSpace(h.Get("Precedence"))); p {
	case "bulk", "junk", "list":
		return "precedence " + p
	}
	for _, f := range listFields {
		if h.Get(f) != "" {
			return "mailing list (" + f + ")"
		}
	}
	// Microsoft's request not to be answered automatically.
	if v := strings.ToLower(h.Get("X-Auto-Response-Suppress")); strings.Contains(v, "all") ||
		strings.Contains(v, "oof") || strings.Contains(v, "autoreply") {
		return "X-Auto-Response-Suppress"
	}
	return ""
}
