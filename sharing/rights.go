// Package sharing decides who may do what in the shared unit mailboxes
// (hộp thư văn thư): a unit's mailbox has no password of its own; its
// clerks, leaders and administrators open it from their own accounts.
//
// Rights are RFC 4314 letters (RIGHTS=texk). They come from the
// directory — the account's role and title in the mailbox's unit — and
// administrators may adjust them per account with SETACL, kept in a small
// SQLite database beside the store; every change is audited by the
// caller.
package sharing

import (
	"strings"

	"golang.org/x/text/unicode/norm"

	"congvu/directory"
)

// Rights letters in canonical order (RFC 4314 §2.1; c and d are the
// RFC 2086 names kept for old clients: c = k, d = x t e).
const allLetters = "lrswipkxtecda"

// Rights granted by role in the mailbox's unit.
const (
	// ClerkRights: văn thư run the mailbox.
	ClerkRights = "lrswipkxtecda"
	// LeaderRights: leaders read and keep their own \Seen.
	LeaderRights = "lrs"
	// AdminRights: unit administrators and operators see the mailbox and
	// manage its rights, without reading it.
	AdminRights = "la"
)

// leaderTitles start the chức vụ of a unit's leaders (lãnh đạo).
var leaderTitles = []string{
	"chủ tịch", "phó chủ tịch", "giám đốc", "phó giám đốc", "chánh văn phòng", "phó chánh văn phòng",
	"trưởng", "phó trưởng", "bí thư", "phó bí thư", "cục trưởng", "phó cục trưởng", "chi cục trưởng",
	"phó chi cục trưởng", "tổng giám đốc", "phó tổng giám đốc", "viện trưởng", "phó viện trưởng",
	"hiệu trưởng", "phó hiệu trưởng", "thủ trưởng",
}

// IsLeaderTitle reports whether a chức vụ is a leader's.
func IsLeaderTitle(title string) bool {
	t := strings.ToLower(norm.NFC.String(strings.TrimSpace(title)))
	for _, p := range leaderTitles {
		if t == p || strings.HasPrefix(t, p+" ") {
			return true
		}
	}
	return false
}

// Canonical returns rights in canonical order with their obsolete
// companions: c with k, d with any of x, t, e (RFC 4314 §2.1.1).
func Canonical(rights string) string {
	has := map[byte]bool{}
	for i := 0; i < len(rights); i++ {
		has[rights[i]] = true
	}
	switch {
	case has['c']:
		has['k'] = true
	case has['k']:
		has['c'] = true
	}
	if has['d'] {
		has['x'], has['t'], has['e'] = true, true, true
	} else if has['x'] || has['t'] || has['e'] {
		has['d'] = true
	}
	var b strings.Builder
	for i := 0; i < len(allLetters); i++ {
		if has[allLetters[i]] {
			b.WriteByte(allLetters[i])
		}
	}
	return b.String()
}

// ValidRights reports whether rights holds only known letters.
func ValidRights(rights string) bool {
	for i := 0; i < len(rights); i++ {
		if !strings.ContainsRune(allLetters, rune(rights[i])) {
			return false
		}
	}
	return true
}

// Has reports whether rights include every letter of want.
func Has(rights, want string) bool {
	for i := 0; i < len(want); i++ {
		if !strings.ContainsRune(rights, rune(want[i])) {
			return false
		}
	}
	return true
}

// Modify applies a SETACL mod-rights (RFC 4314 §3.1): "+r" adds, "-r"
// removes, anything else replaces.
func Modify(cur, mod string) string {
	switch {
	case strings.HasPrefix(mod, "+"):
		return Canonical(cur + mod[1:])
	case strings.HasPrefix(mod, "-"):
		drop := Canonical(mod[1:])
		if strings.ContainsRune(mod[1:], 'd') {
			drop += "xte"
		}
		if strings.ContainsRune(mod[1:], 'c') {
			drop += "k"
		}
		var b strings.Builder
		for i := 0; i < len(cur); i++ {
			if !strings.ContainsRune(drop, rune(cur[i])) {
				b.WriteByte(cur[i])
			}
		}
		// Recompute the obsolete companions of what remains.
		return Canonical(strings.Map(func(r rune) rune {
			if r == 'c' || r == 'd' {
				return -1
			}
			return r
		}, b.String()))
	}
	return Canonical(mod)
}

// baseRights are the rights the directory gives user on the mailbox of
// unit (whose ancestors are listed in parents, nearest first).
func baseRights(user *directory.Account, unit directory.Unit, parents []string) string {
	switch user.Role {
	case directory.RoleOperator:
		return AdminRights
	case directory.RoleAdmin:
		if user.UnitCode == unit.Code {
			return AdminRights
		}
		for _, p := range parents {
			if user.UnitCode == p {
				return AdminRights
			}
		}
		return ""
	}
	if user.UnitCode != unit.Code {
		return ""
	}
	switch {
	case user.Role == directory.RoleClerk:
		return ClerkRights
	case IsLeaderTitle(user.Title):
		return LeaderRights
	}
	return ""
}

// PermittedFlags keeps the flags rights allow one to set (RFC 4314 §4:
// s for \Seen, t for \Deleted, w for the others): what a copy into a
// shared mailbox keeps, for IMAP and the webmail alike.
func PermittedFlags(rights string, flags []string) []string {
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		if Has(rights, FlagRight(f)) {
			out = append(out, f)
		}
	}
	return out
}

// FlagRight is the right needed to set or clear a flag (RFC 4314 §4).
func FlagRight(f string) string {
	switch {
	case strings.EqualFold(f, `\Seen`):
		return "s"
	case strings.EqualFold(f, `\Deleted`):
		return "t"
	}
	return "w"
}
