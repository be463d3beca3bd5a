// Package addr builds official e-mail addresses from Vietnamese names, after
// the provincial convention of Ninh Bình (QĐ 162/2025/QĐ-UBND), which the
// other provinces' plans follow in substance:
//
//   - an agency (unit):   <abbr>@domain                     skhcn@ninhbinh.gov.vn
//   - a sub-unit:         <sub>.<agency>@domain             vanphong.skhcn@…
//   - a person:           <given name><initials>.<agency>@domain
//     where <initials> are the first letters of the surname and the middle
//     names, in order: Nguyễn Ngọc Thành at Sở KH&CN → thanhnn.skhcn@…
//
// Every part is written without diacritics (đ → d) in lower case, with only
// the letters a–z and digits kept; input is NFC-normalised first so that names
// typed on different keyboards (precomposed or combining marks) give the same
// address.
//
// Duplicates. The regulation asks for "a short variant still containing the
// name". The rule here is: the first holder keeps the plain form; the n-th
// (n ≥ 2) gets the number n appended to the personal part, before the agency:
// thanhnn.skhcn, thanhnn2.skhcn, thanhnn3.skhcn, … and for units nhatrang,
// nhatrang2, … A number is always short, always keeps the whole name visible,
// and needs no guess about which letters of a middle name to add. The result
// is deterministic: it depends only on the names and on the order in which
// addresses are allocated.
package addr

import (
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Fold removes diacritics and lower-cases s, for diacritic-insensitive search
// and for building addresses: "Đặng Thùy Trâm" → "dang thuy tram". Characters
// other than letters (spaces, digits, punctuation) are kept as they are.
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	// NFC first so that legacy input (e.g. TCVN3 converted to combining
	// marks) and precomposed input decompose the same way.
	for _, r := range norm.NFD.String(norm.NFC.String(s)) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		switch r {
		case 'đ', 'Đ', 'Ð', 'ð': // Ð (Eth) is a common mistyping of Đ
			r = 'd'
		default:
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return norm.NFC.String(b.String())
}

// Slug folds s and keeps only the ASCII letters and digits: the form every
// part of an address takes. "Phường Nha Trang" → "phuongnhatrang".
func Slug(s string) string {
	f := Fold(s)
	var b strings.Builder
	b.Grow(len(f))
	for i := 0; i < len(f); i++ {
		if c := f[i]; c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// fallbackPart is the personal part used when a name has no usable letters
// at all (never for real names; keeps addresses well-formed).
const fallbackPart = "canbo"

// PersonPart returns the personal part of a person's address: the given name
// (the last word) followed by the initials of the surname and middle names.
// "Nguyễn Ngọc Thành" → "thanhnn", "Lê Lợi" → "loil", "Thành" → "thanh".
func PersonPart(fullName string) string {
	var words []string
	for _, w := range strings.Fields(norm.NFC.String(fullName)) {
		if s := Slug(w); s != "" {
			words = append(words, s)
		}
	}
	if len(words) == 0 {
		return fallbackPart
	}
	var b strings.Builder
	b.WriteString(words[len(words)-1])
	for _, w := range words[:len(words)-1] {
		b.WriteByte(w[0])
	}
	return b.String()
}

// Person returns the local part of a person's address at an agency:
// Person("Nguyễn Ngọc Thành", "skhcn") == "thanhnn.skhcn". The agency
// abbreviation is slugged too; an empty one gives the personal part alone.
func Person(fullName, agency string) string {
	return join(PersonPart(fullName), Slug(agency))
}

// SubUnit returns the local part of a sub-unit's shared mailbox:
// SubUnit("vanphong", "skhcn") == "vanphong.skhcn".
func SubUnit(sub, agency string) string {
	return join(Slug(sub), Slug(agency))
}

// UnitAbbr derives a unit's address abbreviation from its official name,
// dropping the kind of unit in front: "Phường Nha Trang" → "nhatrang",
// "Xã Đại Lãnh" → "dailanh", "Đặc khu Trường Sa" → "truongsa".
func UnitAbbr(name string) string {
	// The administrative words that precede a place name in the official
	// names of communes (Luật Tổ chức chính quyền địa phương 2025), folded.
	unitPrefixes := [...]string{"dac khu ", "phuong ", "xa ", "thi tran "}
	f := strings.Join(strings.Fields(Fold(name)), " ")
	for _, p := range unitPrefixes {
		if rest, ok := strings.CutPrefix(f, p); ok && Slug(rest) != "" {
			f = rest
			break
		}
	}
	return Slug(f)
}

// Initials abbreviates an agency name the way provincial agencies usually
// are: the first letter of each word, "và" left out, words written entirely
// in capitals (acronyms) kept whole. "Sở Khoa học và Công nghệ" → "skhcn",
// "Sở Giáo dục và Đào tạo" → "sgddt", "Văn phòng UBND" → "vpubnd".
func Initials(name string) string {
	var b strings.Builder
	for _, w := range strings.Fields(norm.NFC.String(name)) {
		s := Slug(w)
		switch {
		case s == "" || s == "va":
		case len([]rune(w)) > 1 && strings.ToUpper(w) == w:
			b.WriteString(s)
		default:
			b.WriteByte(s[0])
		}
	}
	return b.String()
}

// Variant returns the n-th candidate for a personal part (or unit
// abbreviation) under the duplicate rule: n ≤ 1 gives part itself, n ≥ 2
// gives part followed by n.
func Variant(part string, n int) string {
	if n <= 1 {
		return part
	}
	return part + strconv.Itoa(n)
}

// Allocate returns the first local part, in the order of the duplicate rule,
// that taken reports as free: part.agency, part2.agency, part3.agency, …
// (just part, part2, … when agency is empty). taken is usually a directory
// lookup of local@domain.
func Allocate(part, agency string, taken func(local string) bool) string {
	for n := 1; ; n++ {
		if local := join(Variant(part, n), agency); !taken(local) {
			return local
		}
	}
}

func join(part, agency string) string {
	if agency == "" {
		return part
	}
	return part + "." + agency
}

// Allocator hands out unique local parts within one domain, remembering
// what it has handed out. It is not safe for concurrent use.
type Allocator struct {
	taken map[string]struct{}
}

// NewAllocator returns an Allocator for which the given local parts (e.g.
// "postmaster", an operator mailbox, or addresses already in the directory)
// are already taken.
func NewAllocator(reserved ...string) *Allocator {
	a := &Allocator{taken: make(map[string]struct{}, len(reserved))}
	for _, l := range reserved {
		a.Reserve(l)
	}
	return a
}

// Reserve marks a local part as taken and reports whether it was free.
func (a *Allocator) Reserve(local string) bool {
	local = strings.ToLower(local)
	if _, ok := a.taken[local]; ok {
		return false
	}
	a.taken[local] = struct{}{}
	return true
}

// Taken reports whether a local part is already taken.
func (a *Allocator) Taken(local string) bool {
	_, ok := a.taken[strings.ToLower(local)]
	return ok
}

// Unit allocates a unit's abbreviation, which is also the local part of its
// shared mailbox: abbr, or abbr2, abbr3, … when taken.
func (a *Allocator) Unit(abbr string) string {
	return a.take(Slug(abbr), "")
}

// Person allocates the local part of a person's address at an agency.
func (a *Allocator) Person(fullName, agency string) string {
	return a.take(PersonPart(fullName), Slug(agency))
}

// SubUnit allocates the local part of a sub-unit's shared mailbox.
func (a *Allocator) SubUnit(sub, agency string) string {
	part := Slug(sub)
	if part == "" {
		part = "phong"
	}
	return a.take(part, Slug(agency))
}

func (a *Allocator) take(part, agency string) string {
	if part == "" {
		part = fallbackPart
	}
	local := Allocate(part, agency, a.Taken)
	a.Reserve(local)
	return local
}
