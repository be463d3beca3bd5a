package directory

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// CleanAccount normalises and validates an account before a Writer stores
// it, so every backend stores the same canonical form: addresses and aliases
// normalised and checked, aliases sorted without duplicates or the primary,
// default role and state, names in NFC.
func CleanAccount(a Account) (Account, error) {
	a.Address = NormalizeAddress(a.Address)
	if err := CheckAddress(a.Address); err != nil {
		return a, ErrBadAddress.With(err)
	}
	aliases := make([]string, 0, len(a.Aliases))
	for _, al := range a.Aliases {
		al = NormalizeAddress(al)
		if err := CheckAddress(al); err != nil {
			return a, ErrBadAddress.With(err)
		}
		if al != a.Address {
			aliases = append(aliases, al)
		}
	}
	slices.Sort(aliases)
	a.Aliases = slices.Compact(aliases)
	a.Role = cmp.Or(a.Role, RoleOfficial)
	a.State = cmp.Or(a.State, StateActive)
	if !ValidRole(a.Role) || !ValidState(a.State) || a.QuotaBytes < 0 {
		return a, ErrInvalid.With(fmt.Errorf("account %s: role %q, state %q, quota %d", a.Address, a.Role, a.State, a.QuotaBytes))
	}
	a.DisplayName = norm.NFC.String(strings.TrimSpace(a.DisplayName))
	a.Title = norm.NFC.String(strings.TrimSpace(a.Title))
	a.Phone = strings.TrimSpace(a.Phone)
	a.UnitCode = strings.TrimSpace(a.UnitCode)
	a.StateReason = norm.NFC.String(strings.TrimSpace(a.StateReason))
	a.MailHost = strings.ToLower(strings.TrimSpace(a.MailHost))
	if strings.ContainsAny(a.MailHost, " \t\r\n,;") {
		return a, ErrInvalid.With(fmt.Errorf("account %s: mail host %q", a.Address, a.MailHost))
	}
	if a.State == StateActive {
		a.StateReason = "" // a reason explains a lock or a retirement only
	}
	return a, nil
}

func kindRank(k UnitKind) int {
	switch k {
	case UnitProvince:
		return 0
	case UnitDepartment:
		return 1
	case UnitCommune:
		return 2
	default:
		return 3
	}
}

// SortUnits orders units as Directory.Units promises: parents before
// children, depth-first; siblings by kind (province, department, commune,
// division), then by code. Units in a cycle (possible only in a backend
// edited by hand) are listed at the end rather than lost.
func SortUnits(all []Unit) []Unit {
	slices.SortFunc(all, func(a, b Unit) int {
		return cmp.Or(cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)), cmp.Compare(a.Code, b.Code))
	})
	t := NewTree(all)
	out := make([]Unit, 0, len(all))
	seen := make(map[string]bool, len(all))
	add := func(u Unit, _ int) {
		if !seen[u.Code] {
			seen[u.Code] = true
			out = append(out, u)
		}
	}
	t.Walk("", add)
	for _, u := range all {
		if !seen[u.Code] {
			t.Walk(u.Code, add)
		}
	}
	return out
}
