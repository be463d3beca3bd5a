// Package maildate parses the Date header (RFC 5322 §3.3) for the
// envelope, IMAP SEARCH SENTBEFORE/SENTON/SENTSINCE and Sieve's date test.
//
// net/mail.ParseDate tries its 48 layouts in order, the ones without a
// day of the week first, and each failed try allocates an error with
// copies of both strings: a date as every mail program writes it,
// "Sun, 06 Dec 2026 09:30:00 +0700", matches only after two dozen
// failures, a fifth of all the objects a delivery allocated (issue 16).
// Parse tries that form first and leaves everything else to
// net/mail.ParseDate, so the two agree on every input (FuzzParse).
package maildate

import (
	"net/mail"
	"strings"
	"time"
)

// The canonical forms (RFC 5322 §3.3): "2" also takes a two-digit day.
const (
	withWeekday    = "Mon, 2 Jan 2006 15:04:05 -0700"
	withoutWeekday = "2 Jan 2006 15:04:05 -0700"
)

// Parse parses a Date header value as net/mail.ParseDate does.
func Parse(s string) (time.Time, error) {
	if t, ok := parseCanonical(s); ok {
		return t, nil
	}
	return mail.ParseDate(s)
}

// parseCanonical parses s when it is exactly one of the canonical forms,
// bar surrounding spaces. Anything else (comments, obsolete zones, folding,
// two-digit years, no seconds) is not ok; checking the shape first keeps a
// near miss from allocating time.Parse's error.
func parseCanonical(s string) (time.Time, bool) {
	s = strings.Trim(s, " \t")
	layout, rest := withoutWeekday, s
	if len(s) > 0 && !isDigit(s[0]) {
		// "Mon, " exactly: net/mail's layouts have no other weekday form.
		if len(s) < 5 || s[3] != ',' || s[4] != ' ' {
			return time.Time{}, false
		}
		layout, rest = withWeekday, s[5:]
	}
	// The day has one digit or two; after it, " Jan 2006 15:04:05 -0700".
	day := 1
	if len(rest) > 1 && isDigit(rest[1]) {
		day = 2
	}
	if len(rest) != day+24 || !isDigit(rest[0]) || !shaped(rest[day:], " Aaa 0000 00:00:00 +0000") {
		return time.Time{}, false
	}
	t, err := time.Parse(layout, s)
	return t, err == nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// shaped reports whether s has pattern's shape: 0 a digit, A an upper-case
// letter, a a lower-case letter, + a sign, anything else itself.
func shaped(s, pattern string) bool {
	if len(s) != len(pattern) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch pattern[i] {
		case '0':
			if !isDigit(c) {
				return false
			}
		case 'A':
			if c < 'A' || c > 'Z' {
				return false
			}
		case 'a':
			if c < 'a' || c > 'z' {
				return false
			}
		case '+':
			if c != '+' && c != '-' {
				return false
			}
		default:
			if c != pattern[i] {
				return false
			}
		}
	}
	return true
}

// Field parses a Date header field's value as go-message's
// mail.Header.Date does: no field is the zero time without an error.
func Field(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	return Parse(v)
}
