// Package secretguard finds state-secret classification stamps in a
// message: the three levels of the Law on Protection of State Secrets
// (Luật Bảo vệ bí mật nhà nước 2018, art. 8) — "MẬT", "TỐI MẬT",
// "TUYỆT MẬT" — written as a stamp: a line of its own (the stamp box of a
// document, a line of the body), a bracketed or leading tag of the
// subject, an "Độ mật:" field, or a classification header field; and any
// marking the operator configures. Such documents must never travel
// through the official mail system (regulations forbid state secrets in
// it), so the policy engine refuses them at submission and quarantines
// them on arrival.
//
// Ordinary words must pass: "bí mật" in running text, "mật khẩu",
// "mật độ", "thân mật", "mật ong", "bảo mật" — so the guard never looks
// for the word, only for the word standing as a stamp.
package secretguard

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Config configures a Guard.
type Config struct {
	// Markings are extra stamps (whole lines, compared like the built-in
	// ones: case, spacing and diacritics variants), e.g. "MẬT - CHỈ LƯU
	// HÀNH NỘI BỘ".
	Markings []string
	// HeaderFields are header fields whose value is a classification
	// (RFC 7444 SIO-Label, X-Classification…).
	HeaderFields []string
}

// DefaultHeaderFields are the classification fields checked by default.
var DefaultHeaderFields = []string{"SIO-Label", "X-Classification", "X-Security-Classification"}

// Match is a stamp found.
type Match struct {
	// Level is "MẬT", "TỐI MẬT", "TUYỆT MẬT" or the configured marking.
	Level string
	// Where says where: "subject", "header X-Classification", "body",
	// "attachment Kế hoạch.docx".
	Where string
	// Line is the line that carries the stamp (at most 120 characters).
	Line string
}

// Guard detects stamps. It is immutable and safe for concurrent use.
type Guard struct {
	stamps  map[string]string // compact form → level
	ascii   map[string]string // compact form without diacritics → level (for lines typed without them)
	headers []string
	// maxLetters is the most letters and digits a line can have and still
	// be a stamp: the longest stamp's, plus the "Độ mật" label's. Almost
	// every line of a message has more, and is passed over without the
	// normalising and case-folding a comparison costs (issue 16: the guard
	// was a third of the CPU of SMTP delivery).
	maxLetters int
}

// levels are the built-in stamps. The plain-ASCII form is accepted for
// the two-word levels only: "MAT" alone also spells mát, mắt, mất.
var levels = []struct{ level, ascii string }{
	{"MẬT", ""},
	{"TỐI MẬT", "TOI MAT"},
	{"TUYỆT MẬT", "TUYET MAT"},
}

// New returns a Guard.
func New(cfg Config) *Guard {
	g := &Guard{stamps: map[string]string{}, ascii: map[string]string{}, headers: cfg.HeaderFields}
	if g.headers == nil {
		g.headers = DefaultHeaderFields
	}
	for _, l := range levels {
		g.stamps[compact(l.level)] = l.level
		if l.ascii != "" {
			g.ascii[compact(l.ascii)] = l.level
		}
	}
	for _, m := range cfg.Markings {
		m = strings.TrimSpace(norm.NFC.String(m))
		if m == "" {
			continue
		}
		g.stamps[compact(m)] = m
		if a := stripMarks(compact(m)); !hasMarks(m) {
			g.ascii[a] = m
		}
	}
	longest := 0
	for _, keys := range []map[string]string{g.stamps, g.ascii} {
		for k := range keys {
			longest = max(longest, letters(k, len(k)))
		}
	}
	label := 0
	for _, l := range doMatLabels {
		label = max(label, letters(l, len(l)))
	}
	g.maxLetters = longest + label
	return g
}

// doMatLabels introduce a level in a document's header block ("Độ mật:
// Tối mật"); the plain form only for lines typed without diacritics.
var doMatLabels = []string{"ĐỘ MẬT", "DO MAT"}

// HeaderFields are the classification fields the Guard reads.
func (g *Guard) HeaderFields() []string { return g.headers }

// maxStampLine: a stamp line is short; longer lines are running text
// and are not examined (which also bounds the work per line).
const maxStampLine = 120

// Line reports the level if line, on its own, is a stamp: "MẬT",
// "* TỐI MẬT *", "[TUYỆT MẬT]", "M Ậ T", "Độ mật: Tối mật", "TOI MAT".
func (g *Guard) Line(line string) (string, bool) {
	// Running text has far more letters than a stamp: most lines end
	// here after a few dozen bytes, before the passes below read them
	// whole (about 3 % of a delivery's CPU, issue 16). Composing (NFC)
	// never adds a letter and merges at most three (Hangul jamo) into one,
	// so a line with more than three times the letters cannot have few
	// enough once composed (TestComposingNeverAddsLetters).
	if limit := 3 * g.maxLetters; letters(line, limit) > limit {
		return "", false
	}
	if utf8.RuneCountInString(line) > maxStampLine {
		return "", false
	}
	line = norm.NFC.String(line) // no copy when already NFC, as mail text is
	// A stamp's letters survive every step below (decoration and spaces
	// are not letters; upper-casing maps a letter to a letter), so a line
	// with more letters than any stamp plus the label cannot match.
	if letters(line, g.maxLetters) > g.maxLetters {
		return "", false
	}
	core := trimDecoration(line)
	if core == "" {
		return "", false
	}
	if lv, ok := g.stamp(core); ok {
		return lv, true
	}
	// "Độ mật: Tối mật" (the field of a document's header block).
	up := strings.ToUpper(core)
	for _, label := range doMatLabels {
		if rest, ok := strings.CutPrefix(up, label); ok && (label == "ĐỘ MẬT" || !hasMarks(core)) {
			rest = strings.TrimLeft(rest, " :：-–—=")
			if lv, ok := g.stamp(trimDecoration(rest)); ok {
				return lv, true
			}
		}
	}
	return "", false
}

// stamp compares a trimmed line with the stamps.
func (g *Guard) stamp(core string) (string, bool) {
	c := compact(core)
	if lv, ok := g.stamps[c]; ok {
		return lv, true
	}
	if !hasMarks(core) {
		if lv, ok := g.ascii[c]; ok {
			return lv, true
		}
	}
	return "", false
}

// Text scans text line by line and returns the first stamp.
func (g *Guard) Text(where, text string) *Match {
	for len(text) > 0 {
		i, n := lineBreak(text)
		line := text
		if i >= 0 {
			line = text[:i]
			text = text[i+n:]
		} else {
			text = ""
		}
		if lv, ok := g.Line(line); ok {
			return &Match{Level: lv, Where: where, Line: clip(strings.TrimSpace(line))}
		}
	}
	return nil
}

// lineBreak returns the offset and length of the first line break in s
// (LF, CR, FF, VT, U+2028, U+2029), -1 when there is none. A byte loop:
// strings.IndexAny with a non-ASCII set costs a search of the set per
// character.
func lineBreak(s string) (int, int) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\n', '\r', '\f', '\v':
			return i, 1
		case 0xe2: // U+2028 and U+2029 are E2 80 A8 and E2 80 A9 in UTF-8
			if i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xa8 || s[i+2] == 0xa9) {
				return i, 3
			}
		}
	}
	return -1, 0
}

// Subject checks a (decoded) subject: the whole subject, a bracketed
// tag anywhere ("[MẬT]", "(Tối mật)"), or a leading or trailing tag set
// off by a separator ("TỐI MẬT: Kế hoạch…", "Kế hoạch… - MẬT").
func (g *Guard) Subject(subject string) *Match {
	s := norm.NFC.String(strings.TrimSpace(subject))
	found := func(lv string) *Match { return &Match{Level: lv, Where: "subject", Line: clip(s)} }
	if lv, ok := g.Line(s); ok {
		return found(lv)
	}
	for _, br := range []string{"[]", "()", "{}", "<>", "【】"} {
		open, close := string([]rune(br)[0]), string([]rune(br)[1])
		rest := s
		for {
			i := strings.Index(rest, open)
			if i < 0 {
				break
			}
			j := strings.Index(rest[i:], close)
			if j < 0 {
				break
			}
			if lv, ok := g.Line(rest[i+len(open) : i+j]); ok {
				return found(lv)
			}
			rest = rest[i+j+len(close):]
		}
	}
	seps := ":|-–—"
	if i := strings.IndexAny(s, seps); i > 0 {
		if lv, ok := g.Line(s[:i]); ok {
			return found(lv)
		}
	}
	if i := strings.LastIndexAny(s, seps); i >= 0 {
		_, n := utf8.DecodeRuneInString(s[i:])
		if lv, ok := g.Line(s[i+n:]); ok {
			return found(lv)
		}
	}
	return nil
}

// Header checks a classification header field's value: the whole value
// or one of its ";"/","-separated items ("level=TỐI MẬT" included).
func (g *Guard) Header(name, value string) *Match {
	for _, item := range strings.FieldsFunc(value, func(r rune) bool { return r == ';' || r == ',' }) {
		if _, v, ok := strings.Cut(item, "="); ok {
			item = v
		}
		if lv, ok := g.Line(strings.Trim(item, ` "'`)); ok {
			return &Match{Level: lv, Where: "header " + name, Line: clip(value)}
		}
	}
	if lv, ok := g.Line(value); ok {
		return &Match{Level: lv, Where: "header " + name, Line: clip(value)}
	}
	return nil
}

// letters counts the letters and digits of s (what trimDecoration keeps
// and compact compares), stopping once there are more than limit.
func letters(s string, limit int) int {
	n := 0
	for i := 0; i < len(s) && n <= limit; {
		if c := s[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
				n++
			}
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			n++
		}
		i += w
	}
	return n
}

// trimDecoration drops what frames a stamp: spaces, punctuation,
// brackets, quotes, asterisks, box-drawing and bullet characters.
func trimDecoration(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// compact is the upper-case form without any space, so "M Ậ T",
// "TỐI  MẬT" and "Tối mật" compare equal to "MẬT"/"TỐI MẬT".
func compact(s string) string {
	var b strings.Builder
	for _, r := range norm.NFC.String(s) {
		if unicode.IsSpace(r) || r == '\u200b' || r == '\u00ad' {
			continue
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// hasMarks reports Vietnamese letters beyond ASCII (tone or vowel marks,
// Đ): a line that has any was typed with diacritics, so a stamp must
// carry the right ones.
func hasMarks(s string) bool {
	for _, r := range s {
		if r >= 0x80 && unicode.IsLetter(r) {
			return true
		}
		if r >= 0x300 && r <= 0x36f {
			return true
		}
	}
	return false
}

// stripMarks removes diacritics: decompose, drop combining marks, Đ → D.
func stripMarks(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case r == 'Đ':
			b.WriteRune('D')
		case r == 'đ':
			b.WriteRune('d')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= maxStampLine {
		return s
	}
	return string([]rune(s)[:maxStampLine]) + "…"
}
