// Package twofactor is two-factor sign-in for the web (TOTP, RFC 6238,
// with one-time recovery codes) and, once it is on, app passwords for
// IMAP, POP3 and SMTP clients, which cannot ask for a code: the main
// password is then refused on those protocols (ProtocolDirectory).
package twofactor

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// TOTP parameters: the defaults every authenticator app uses (RFC 6238
// 4: T0 = 0, X = 30 s; RFC 4226 5.3: HMAC-SHA-1, 6 digits).
const (
	stepSeconds = 30
	digits      = 6
	secretBytes = 20 // 160 bits, RFC 4226 4 R6
	// skew is how many steps before and after now a code is accepted
	// (RFC 6238 5.2: clocks drift, codes take time to type).
	skew = 1
)

// hotp is RFC 4226 5.3: HMAC-SHA-1 of the counter, dynamically truncated.
func hotp(secret []byte, counter uint64) string {
	m := hmac.New(sha1.New, secret)
	var c [8]byte
	binary.BigEndian.PutUint64(c[:], counter)
	m.Write(c[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	code := binary.BigEndian.Uint32(sum[off:]) & 0x7fffffff
	return fmt.Sprintf("%0*d", digits, code%1_000_000)
}

// step is RFC 6238 4.2: T = floor((now - T0) / X).
func step(t time.Time) uint64 { return uint64(t.Unix()) / stepSeconds }

// matchCode finds the time step within skew whose code is code; ok false
// when none. Steps at or before last are not accepted again (RFC 6238
// 5.2: a code is used once).
func matchCode(secret []byte, code string, now time.Time, last uint64) (uint64, bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != digits {
		return 0, false
	}
	s := step(now)
	for d := -skew; d <= skew; d++ {
		t := uint64(int64(s) + int64(d))
		if t <= last {
			continue
		}
		if hmac.Equal([]byte(hotp(secret, t)), []byte(code)) {
			return t, true
		}
	}
	return 0, false
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// SecretText is the secret as authenticator apps take it typed in.
func SecretText(secret []byte) string { return b32.EncodeToString(secret) }

// URI is the otpauth URI of the enrolment QR code (the Key URI Format
// every authenticator app reads).
func URI(issuer, account string, secret []byte) string {
	v := url.Values{"secret": {SecretText(secret)}, "issuer": {issuer}, "algorithm": {"SHA1"},
		"digits": {fmt.Sprint(digits)}, "period": {fmt.Sprint(stepSeconds)}}
	label := url.PathEscape(issuer) + ":" + url.PathEscape(account)
	return "otpauth://totp/" + label + "?" + v.Encode()
}

// Code is the TOTP code of secret at t, as an authenticator app shows it
// (for tests and tools; the server only checks codes).
func Code(secret []byte, t time.Time) string { return hotp(secret, step(t)) }

// ParseSecret reads a secret as SecretText writes it.
func ParseSecret(s string) ([]byte, error) {
	return b32.DecodeString(strings.ToUpper(strings.TrimSpace(s)))
}
