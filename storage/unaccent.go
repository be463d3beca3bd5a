package storage

// Accent-free search. Vietnamese is often typed without its marks
// ("nguyen van an" for "Nguyễn Văn An", on phones and old keyboards), so
// the webmail matches a query typed without marks against text with or
// without them. The text filters index both forms of each text (version
// 2 filters); a filter of version 1 (delivered before) says nothing about
// the accent-free form, so such messages are matched for real.

import (
	"context"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Unaccent folds text for accent-free search: FoldText, then without
// combining marks (NFD, marks dropped), đ as d.
func Unaccent(s string) string {
	s = FoldText(s)
	if isASCIIString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case r == 'đ' || r == 'Đ':
			b.WriteByte('d')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// HasAccents tells whether a query uses marks: a query with marks is
// matched as typed (FoldText), one without matches both forms.
func HasAccents(s string) bool { return Unaccent(s) != FoldText(s) }

func isASCIIString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// ContainsUnaccented is ContainsText for a query folded with Unaccent.
func ContainsUnaccented(raw []byte, unaccented string, header bool) bool {
	e := readEntity(raw)
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
