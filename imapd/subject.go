package imapd

import (
	"strings"
)

// baseSubject extracts the base subject of RFC 5256 §2.1 from a decoded
// subject, and reports whether it was a reply or forward (which THREAD
// uses). The comparison form is folded with the store's case folding.
func baseSubject(s string) (base string, reply bool) {
	// (1) Runs of white space become one space.
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 2048 {
		s = s[:2048] // nobody threads on more; bounds the loops below
	}
	for {
		// (2) Remove trailers: "(fwd)" and white space.
		for {
			t := strings.TrimRight(s, " ")
			if len(t) >= 5 && strings.EqualFold(t[len(t)-5:], "(fwd)") {
				t = t[:len(t)-5]
				reply = true
			}
			if t == s {
				break
			}
			s = t
		}
		// (3) Remove leaders "re:", "fw:", "fwd:" with optional blobs,
		// and blobs that do not leave an empty subject; repeat.
		for {
			t, r := stripLeader(s)
			reply = reply || r
			if t == s {
				break
			}
			s = t
		}
		// (5) "[fwd: ...]" wraps a forwarded subject.
		if len(s) >= 6 && strings.EqualFold(s[:5], "[fwd:") && s[len(s)-1] == ']' {
			s = strings.TrimSpace(s[5 : len(s)-1])
			reply = true
			continue
		}
		return fold(s), reply
	}
}

// stripLeader removes one subj-leader (RFC 5256 §5 ABNF):
// *(subj-blob) subj-refwd, or a subj-blob when something remains.
func stripLeader(s string) (string, bool) {
	s = strings.TrimLeft(s, " ")
	rest := s
	// Blobs before the "re:".
	for strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 || strings.ContainsAny(rest[1:end], "[") {
			break
		}
		rest = strings.TrimLeft(rest[end+1:], " ")
	}
	lower := strings.ToLower(rest)
	for _, w := range []string{"re", "fwd", "fw"} {
		if !strings.HasPrefix(lower, w) {
			continue
		}
		after := strings.TrimLeft(rest[len(w):], " ")
		if strings.HasPrefix(after, "[") {
			if end := strings.IndexByte(after, ']'); end > 0 && !strings.ContainsAny(after[1:end], "[") {
				after = strings.TrimLeft(after[end+1:], " ")
			}
		}
		if strings.HasPrefix(after, ":") {
			return strings.TrimLeft(after[1:], " "), true
		}
	}
	// A leading blob alone is removed if the remainder is not empty.
	if strings.HasPrefix(s, "[") {
		if end := strings.IndexByte(s, ']'); end > 0 && !strings.ContainsAny(s[1:end], "[") {
			if t := strings.TrimLeft(s[end+1:], " "); t != "" {
				return t, false
			}
		}
	}
	return s, false
}
