package sieve

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Match types (RFC 5228 2.7.1, RFC 5231) and comparators (RFC 4790:
// i;octet, i;ascii-casemap, i;ascii-numeric).

type matcher struct {
	comparator string // "i;octet", "i;ascii-casemap", "i;ascii-numeric"
	typ        string // "is", "contains", "matches", "value", "count"
	rel        string // relational operator for value/count
}

// match reports whether any of values matches any of keys (RFC 5228
// 2.7.1); :count compares the number of values (RFC 5231 4.2).
func (m matcher) match(values, keys []string) bool {
	if m.typ == "count" {
		n := strconv.Itoa(len(values))
		for _, k := range keys {
			if m.relational(n, k) {
				return true
			}
		}
		return false
	}
	for _, v := range values {
		for _, k := range keys {
			if m.one(v, k) {
				return true
			}
		}
	}
	return false
}

func (m matcher) one(v, k string) bool {
	switch m.typ {
	case "is":
		return m.compare(v, k) == 0
	case "contains":
		if m.comparator == "i;octet" {
			return strings.Contains(v, k)
		}
		return strings.Contains(asciiLower(v), asciiLower(k))
	case "matches":
		return glob(v, k, m.comparator != "i;octet")
	case "value":
		return m.relational(v, k)
	}
	return false
}

func (m matcher) relational(v, k string) bool {
	c := m.compare(v, k)
	switch m.rel {
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	}
	return false
}

// compare orders v against k with the comparator.
func (m matcher) compare(v, k string) int {
	switch m.comparator {
	case "i;octet":
		return strings.Compare(v, k)
	case "i;ascii-numeric":
		return compareNumeric(v, k)
	}
	return strings.Compare(asciiLower(v), asciiLower(k))
}

// asciiLower folds only A–Z (i;ascii-casemap, RFC 4790 9.2): Vietnamese
// letters are compared as they are.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// compareNumeric is i;ascii-numeric (RFC 4790 9.1): the leading digits as
// an unsigned number; a string without one is positive infinity.
func compareNumeric(a, b string) int {
	da, db := leadingDigits(a), leadingDigits(b)
	switch {
	case da == "" && db == "":
		return 0
	case da == "":
		return 1
	case db == "":
		return -1
	}
	da, db = strings.TrimLeft(da, "0"), strings.TrimLeft(db, "0")
	if len(da) != len(db) {
		if len(da) < len(db) {
			return -1
		}
		return 1
	}
	return strings.Compare(da, db)
}

func leadingDigits(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

// glob matches s against a :matches pattern: "*" any sequence, "?" one
// character, "\" makes the next character literal (RFC 5228 2.7.1). With
// i;octet a character is an octet, otherwise a UTF-8 character compared
// with ASCII case folded. Backtracking is bounded: each "*" restarts at
// most once per position of s.
func glob(s, pattern string, fold bool) bool {
	type elem struct {
		star, any bool
		lit       rune
	}
	var pat []elem
	for i := 0; i < len(pattern); {
		c, size := decodeUnit(pattern[i:], fold)
		i += size
		switch {
		case c == '*':
			pat = append(pat, elem{star: true})
		case c == '?':
			pat = append(pat, elem{any: true})
		case c == '\\' && i < len(pattern):
			c, size = decodeUnit(pattern[i:], fold)
			i += size
			pat = append(pat, elem{lit: c})
		default:
			pat = append(pat, elem{lit: c})
		}
	}
	var str []rune
	for i := 0; i < len(s); {
		c, size := decodeUnit(s[i:], fold)
		str = append(str, c)
		i += size
	}
	eq := func(a, b rune) bool {
		if fold {
			return foldRune(a) == foldRune(b)
		}
		return a == b
	}
	// Classic two-pointer wildcard match with a single backtrack point.
	si, pi := 0, 0
	starP, starS := -1, 0
	for si < len(str) {
		switch {
		case pi < len(pat) && !pat[pi].star && (pat[pi].any || eq(pat[pi].lit, str[si])):
			si++
			pi++
		case pi < len(pat) && pat[pi].star:
			starP, starS = pi, si
			pi++
		case starP >= 0:
			starS++
			si = starS
			pi = starP + 1
		default:
			return false
		}
	}
	for pi < len(pat) && pat[pi].star {
		pi++
	}
	return pi == len(pat)
}

// decodeUnit reads one matching unit: a UTF-8 character (an invalid byte
// stands for itself) or, for i;octet, one octet.
func decodeUnit(s string, utf bool) (rune, int) {
	if !utf {
		return rune(s[0]), 1
	}
	r, size := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && size == 1 {
		return rune(s[0]) | 0x110000, 1 // cannot collide with a real rune
	}
	return r, size
}

func foldRune(r rune) rune {
	if r >= 'A' && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

// parseZone reads "+hhmm" / "-hhmm" (RFC 5260 4.1).
func parseZone(z string) (*time.Location, bool) {
	if len(z) != 5 || (z[0] != '+' && z[0] != '-') {
		return nil, false
	}
	h, err1 := strconv.Atoi(z[1:3])
	m, err2 := strconv.Atoi(z[3:5])
	if err1 != nil || err2 != nil || h > 23 || m > 59 {
		return nil, false
	}
	off := (h*60 + m) * 60
	if z[0] == '-' {
		off = -off
	}
	return time.FixedZone(z, off), true
}

// datePart extracts a date part (RFC 5260 4.2).
func datePart(t time.Time, part string) string {
	switch part {
	case "year":
		return fmt.Sprintf("%04d", t.Year())
	case "month":
		return fmt.Sprintf("%02d", int(t.Month()))
	case "day":
		return fmt.Sprintf("%02d", t.Day())
	case "date":
		return t.Format("2006-01-02")
	case "julian":
		// Modified Julian Day: days since 1858-11-17.
		base := time.Date(1858, 11, 17, 0, 0, 0, 0, time.UTC)
		day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		return strconv.Itoa(int(day.Sub(base).Hours() / 24))
	case "hour":
		return fmt.Sprintf("%02d", t.Hour())
	case "minute":
		return fmt.Sprintf("%02d", t.Minute())
	case "second":
		return fmt.Sprintf("%02d", t.Second())
	case "time":
		return t.Format("15:04:05")
	case "iso8601":
		return t.Format("2006-01-02T15:04:05-07:00")
	case "std11":
		return t.Format("Mon, 02 Jan 2006 15:04:05 -0700")
	case "zone":
		return t.Format("-0700")
	case "weekday":
		return strconv.Itoa(int(t.Weekday()))
	}
	return ""
}
