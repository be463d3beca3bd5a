package directory

import "congvu/policy/password"

// MinPasswordLength is the shortest password the default rules accept
// (QĐ 162/2025: at least 9 characters).
const MinPasswordLength = 9

// CheckPassword applies the default provincial password rules
// (policy/password.Default) for account a: at least 9 characters with upper
// case, lower case, a digit and a special character, and not containing the
// account name or the holder's name (compared without diacritics and case).
// a may be nil when the account is not known yet. Errors match
// ErrWeakPassword. Generators of initial passwords (demo, import) use it;
// the web checks the configured rules (config [password]) instead.
func CheckPassword(pw string, a *Account) error {
	var s password.Subject
	if a != nil {
		s = password.Subject{Address: a.Address, FullName: a.DisplayName}
	}
	return password.Default().Check(pw, s)
}
