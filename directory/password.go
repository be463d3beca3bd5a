package directory

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"congvu/directory/addr"
)

// MinPasswordLength is the shortest password the policy accepts
// (QĐ 162/2025: at least 9 characters).
const MinPasswordLength = 9

// CheckPassword applies the provincial password policy (QĐ 162/2025/QĐ-UBND):
// at least 9 characters with upper case, lower case, a digit and a special
// character, and not containing the account name or the holder's full name
// (compared without diacritics and case). a may be nil when the account is
// not known yet. The date of birth rule cannot be checked: the directory does
// not hold it. Admin tools and the password-change paths call this; the
// directory backends store whatever they are given.
func CheckPassword(password string, a *Account) error {
	var upper, lower, digit, special bool
	for _, r := range password {
		switch {
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digit = true
		case unicode.IsControl(r) || unicode.IsSpace(r) && r != ' ':
			return ErrWeakPassword.WithMessage("Password contains control characters",
				"Mật khẩu chứa ký tự điều khiển")
		default:
			special = true
		}
	}
	if utf8.RuneCountInString(password) < MinPasswordLength || !upper || !lower || !digit || !special {
		return ErrWeakPassword
	}
	if a == nil {
		return nil
	}
	folded := strings.ReplaceAll(addr.Fold(password), " ", "")
	local, _, _ := strings.Cut(a.Address, "@")
	personal, _, _ := strings.Cut(local, ".")
	name := strings.ReplaceAll(addr.Fold(a.DisplayName), " ", "")
	for _, forbidden := range []string{local, personal, name} {
		if len(forbidden) >= 3 && strings.Contains(folded, strings.ToLower(forbidden)) {
			return ErrWeakPassword
		}
	}
	return nil
}
