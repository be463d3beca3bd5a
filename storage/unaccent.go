package storage

// Accent-free search. Vietnamese is often typed without its marks
// ("nguyen van an" for "Nguyễn Văn An", on phones and old keyboards), so
// the webmail matches a query typed without marks against text with or
// without them. The text filters index both forms of each text (version
// 2 filters); a filter of version 1 (delivered before) says nothing about
// the accent-free form, so such messages are matched for real.

import (
	"bytes"
	"context"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Unaccent folds text for accent-free search, rune by rune (so that a
// substring of a text stays a substring of its folded form): lower case,
// a precomposed Latin letter as its base letter (what NFD leaves first),
// combining marks dropped, đ as d. It runs on every candidate of a search,
// hence the table rather than a normalisation per call.
func Unaccent(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || 'A' <= s[i] && s[i] <= 'Z' {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r, keep := unaccentRune(r); keep {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// appendUnaccent appends Unaccent(string(s)) to dst without the string
// conversions (the text filter of every delivery, issue 16).
func appendUnaccent(dst, s []byte) []byte {
	for len(s) > 0 {
		r, w := utf8.DecodeRune(s)
		s = s[w:]
		if r, keep := unaccentRune(r); keep {
			dst = utf8.AppendRune(dst, r)
		}
	}
	return dst
}

// unaccentRune is Unaccent of one rune; keep is false for a rune it drops.
func unaccentRune(r rune) (rune, bool) {
	switch {
	case r < 0x80:
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r, true
	case r >= latinFirst && r <= latinLast:
		base := latinBase[r-latinFirst]
		return base, base != 0
	case unicode.Is(unicode.Mn, r):
		return 0, false
	default:
		return unicode.ToLower(r), true
	}
}

// latinBase maps the precomposed letters of Latin-1 Supplement up to Latin
// Extended Additional (Vietnamese: U+1EA0–U+1EF9) to their lower-case base
// letter; 0 drops the rune (a combining mark). Built once, read only.
const latinFirst, latinLast = 0x00C0, 0x1EFF

var latinBase = func() []rune {
	t := make([]rune, latinLast-latinFirst+1)
	for r := rune(latinFirst); r <= latinLast; r++ {
		switch {
		case r == 'đ' || r == 'Đ':
			t[r-latinFirst] = 'd'
			continue
		case unicode.Is(unicode.Mn, r):
			continue
		}
		d := []rune(norm.NFD.String(string(r)))
		t[r-latinFirst] = unicode.ToLower(d[0])
	}
	return t
}()

// HasAccents tells whether a query uses marks: a query with marks is
// matched as typed (FoldText), one without matches both forms.
func HasAccents(s string) bool { return Unaccent(s) != FoldText(s) }

// ContainsUnaccented is ContainsText for a query folded with Unaccent.
func ContainsUnaccented(raw []byte, unaccented string, header bool) bool {
	e := readEntity(bytes.NewReader(raw))
	if e == nil {
		return false
	}
	return walkText(e, header, func(s string) bool { return strings.Contains(Unaccent(s), unaccented) })
}

// UnaccentedTextFilter is implemented by mailboxes whose text filters
// also index the accent-free text; type-assert a Mailbox to use it.
type UnaccentedTextFilter interface {
	// TextExcludedUnaccented returns the UIDs of folder that certainly do
	// not contain all of unaccented (Unaccent results) in the text
	// ContainsUnaccented searches with header=true.
	TextExcludedUnaccented(ctx context.Context, folder string, unaccented []string) (map[uint32]bool, error)
}

var _ UnaccentedTextFilter = (*mailbox)(nil)

func (m *mailbox) TextExcludedUnaccented(ctx context.Context, folder string, unaccented []string) (map[uint32]bool, error) {
	q := newTextQuery(unaccented)
	q.unaccented = true
	return m.textExcluded(ctx, folder, q)
}
