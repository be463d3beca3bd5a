package directory

import "congvu/internal/mailerr"

// Errors of the Writer side, shown to administrators (admin tools, web admin
// pages). Compare with errors.Is. The Directory side uses the mailerr
// sentinels (ErrUnknownUser, ErrAuthFailed, ErrAccountDisabled,
// ErrDirectoryUnavailable).
var (
	// ErrAddressTaken refuses an address or alias that already belongs to
	// another account.
	ErrAddressTaken = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 1, 0}, IMAPCode: "ALREADYEXISTS",
		Message: "Address already in use", MessageVI: "Địa chỉ thư đã được sử dụng"}
	// ErrBadAddress refuses a malformed address.
	ErrBadAddress = &mailerr.Error{SMTPCode: 553, Enhanced: [3]int{5, 1, 3}, IMAPCode: "CANNOT",
		Message: "Bad address syntax", MessageVI: "Địa chỉ thư không hợp lệ"}
	// ErrInvalid refuses a unit or account with a missing or unknown field
	// (role, state, kind, unit code).
	ErrInvalid = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 5, 4}, IMAPCode: "CANNOT",
		Message: "Invalid directory entry", MessageVI: "Thông tin danh bạ không hợp lệ"}
	// ErrWeakPassword refuses a new password that breaks the password policy
	// (see CheckPassword).
	ErrWeakPassword = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 7, 0}, IMAPCode: "CANNOT",
		Message:   "Password must have at least 9 characters with upper case, lower case, digit and special character, and must not contain the account or full name",
		MessageVI: "Mật khẩu phải có ít nhất 9 ký tự gồm chữ hoa, chữ thường, chữ số và ký tự đặc biệt, và không được chứa tên tài khoản hoặc họ tên"}
)

// ValidRole reports whether r is one of the defined roles.
func ValidRole(r Role) bool {
	switch r {
	case RoleOfficial, RoleClerk, RoleAdmin, RoleOperator, RoleUnit:
		return true
	}
	return false
}

// ValidState reports whether s is one of the defined states.
func ValidState(s State) bool {
	switch s {
	case StateActive, StateLocked, StateRetired:
		return true
	}
	return false
}

// ValidUnitKind reports whether k is one of the defined unit kinds.
func ValidUnitKind(k UnitKind) bool {
	switch k {
	case UnitProvince, UnitDepartment, UnitCommune, UnitDivision:
		return true
	}
	return false
}
