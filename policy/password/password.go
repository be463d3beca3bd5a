// Package password holds the rules a new password must follow, after the
// provincial account-security regulations (Ninh Bình QĐ 162/2025/QĐ-UBND,
// which the other provinces' plans follow): at least 9 characters with upper
// case, lower case, a digit and a special character; not containing the
// account name, the holder's name or date of birth; changed at first login
// and at least every 180 days.
//
// It is a leaf package (it imports only mailerr and directory/addr), so the
// directory, the admin tools, the web and the policy engine can all use it.
//
// What "containing a name" means here. Names and passwords are compared
// folded: without diacritics (đ → d), lower case, and with everything but
// letters and digits removed, so "Nguyen-Ngoc-Thanh" and "NGUYỄN ngọc thành"
// both contain "Nguyễn Ngọc Thành". The forbidden parts are:
//
//   - the local part of the address, whole ("thanhnn.skhcn") and its
//     personal part before the first dot ("thanhnn");
//   - the full name ("nguyenngocthanh") and the surname with the given name
//     ("nguyenthanh");
//   - the given name, the last word of the name ("thanh"), when it has at
//     least 3 letters (two-letter given names like "An" occur inside too many
//     ordinary words to forbid);
//   - the date of birth, when known, as ddmmyyyy, yyyymmdd, ddmmyy and
//     yymmdd (after removing separators, so "15/08/1985" is caught too).
//
// Surnames and middle names alone are not forbidden: "Nguyễn" or "Văn" are
// shared by millions and forbidding them only teaches people to misspell.
// Any forbidden part shorter than 3 characters is ignored.
package password

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"congvu/directory/addr"
	"congvu/internal/mailerr"
)

// MaxLength bounds a password (in characters): longer input is refused
// rather than hashed, so a form cannot make the server hash megabytes.
const MaxLength = 256

// Rules are the configurable password rules.
type Rules struct {
	MinLength      int
	RequireUpper   bool
	RequireLower   bool
	RequireDigit   bool
	RequireSpecial bool
	// MaxAgeDays forces a change when the password is older; 0 disables.
	MaxAgeDays int
}

// Default returns the regulation's rules: 9 characters, all four classes,
// changed every 180 days.
func Default() Rules {
	return Rules{MinLength: 9, RequireUpper: true, RequireLower: true, RequireDigit: true, RequireSpecial: true,
		MaxAgeDays: 180}
}

// Subject is whose password it is: what it must not contain.
type Subject struct {
	Address  string // login address, "thanhnn.skhcn@khanhhoa.gov.vn"
	FullName string // "Nguyễn Ngọc Thành"
	// BirthDate is the date of birth; the zero time when unknown (the
	// directory holds none today).
	BirthDate time.Time
}

// ErrWeak is the classification of every refusal by Check. It has the same
// codes as directory.ErrWeakPassword, so errors.Is matches either.
var ErrWeak = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 7, 0}, IMAPCode: "CANNOT",
	Message: "The password does not meet the rules", MessageVI: "Mật khẩu chưa đạt yêu cầu"}

// Violation is one rule a password breaks, in both languages.
type Violation struct {
	Rule string // stable identifier: "length", "upper", "lower", "digit", "special", "control", "too-long", "account", "name", "birthdate"
	VI   string
	EN   string
}

// Violations lists what a password lacks. It is the cause (Err) of the
// *mailerr.Error that Check returns, for pages that show one line per rule.
type Violations []Violation

func (v Violations) Error() string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = x.EN
	}
	return strings.Join(parts, "; ")
}

// Check returns nil when pw follows the rules for s, or a *mailerr.Error
// (classified as ErrWeak) whose MessageVI and Message list every problem,
// and whose cause is the Violations. The password itself never appears in
// the error.
func (r Rules) Check(pw string, s Subject) error {
	pw = norm.NFC.String(pw)
	var v Violations
	n := utf8.RuneCountInString(pw)
	var upper, lower, digit, special, control bool
	for _, c := range pw {
		switch {
		case unicode.IsUpper(c) || unicode.IsTitle(c):
			upper = true
		case unicode.IsLower(c):
			lower = true
		case unicode.IsLetter(c):
			// A letter without case (none in Vietnamese): a letter, not special.
		case unicode.IsDigit(c):
			digit = true
		case unicode.IsControl(c) || unicode.Is(unicode.Cf, c) || unicode.IsSpace(c) && c != ' ':
			control = true
		default:
			special = true // punctuation, symbols, the space
		}
	}
	switch {
	case n > MaxLength:
		v = append(v, Violation{"too-long", fmt.Sprintf("dài quá %d ký tự", MaxLength), fmt.Sprintf("longer than %d characters", MaxLength)})
	case n < r.MinLength:
		v = append(v, Violation{"length", fmt.Sprintf("cần ít nhất %d ký tự (mới có %d)", r.MinLength, n),
			fmt.Sprintf("needs at least %d characters (has %d)", r.MinLength, n)})
	}
	if control {
		v = append(v, Violation{"control", "có ký tự điều khiển hoặc xuống dòng", "contains control or line-break characters"})
	}
	if r.RequireUpper && !upper {
		v = append(v, Violation{"upper", "thiếu chữ hoa", "no upper-case letter"})
	}
	if r.RequireLower && !lower {
		v = append(v, Violation{"lower", "thiếu chữ thường", "no lower-case letter"})
	}
	if r.RequireDigit && !digit {
		v = append(v, Violation{"digit", "thiếu chữ số", "no digit"})
	}
	if r.RequireSpecial && !special {
		v = append(v, Violation{"special", "thiếu ký tự đặc biệt (ví dụ ! @ # $ % -)", "no special character (e.g. ! @ # $ % -)"})
	}
	if n <= MaxLength {
		v = append(v, personal(pw, s)...)
	}
	if len(v) == 0 {
		return nil
	}
	vi := make([]string, len(v))
	en := make([]string, len(v))
	for i, x := range v {
		vi[i], en[i] = x.VI, x.EN
	}
	return ErrWeak.WithMessage("The password does not meet the rules: "+strings.Join(en, "; "),
		"Mật khẩu chưa đạt yêu cầu: "+strings.Join(vi, "; ")).With(v)
}

// personal checks the name and birth-date rules.
func personal(pw string, s Subject) Violations {
	folded := squash(pw)
	var v Violations
	local, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(s.Address)), "@")
	personalPart, _, _ := strings.Cut(local, ".")
	if containsAny(folded, squash(local), squash(personalPart)) {
		v = append(v, Violation{"account", "không được chứa tên tài khoản", "must not contain the account name"})
	}
	words := strings.Fields(addr.Fold(s.FullName))
	var names []string
	if len(words) > 0 {
		names = append(names, squash(strings.Join(words, "")))
		if len(words) > 2 {
			names = append(names, squash(words[0]+words[len(words)-1]))
		}
		if len(words) > 1 {
			names = append(names, squash(words[len(words)-1]))
		}
	}
	if containsAny(folded, names...) {
		v = append(v, Violation{"name", "không được chứa họ tên hoặc tên", "must not contain the full or given name"})
	}
	if !s.BirthDate.IsZero() {
		d := s.BirthDate
		var forms []string
		for _, layout := range []string{"02012006", "20060102", "020106", "060102"} {
			forms = append(forms, d.Format(layout))
		}
		if containsAny(folded, forms...) {
			v = append(v, Violation{"birthdate", "không được chứa ngày sinh", "must not contain the date of birth"})
		}
	}
	return v
}

// squash folds s and keeps only its letters and digits.
func squash(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, addr.Fold(s))
}

// containsAny reports whether s contains one of parts of 3 or more characters.
func containsAny(s string, parts ...string) bool {
	for _, p := range parts {
		if utf8.RuneCountInString(p) >= 3 && strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// Expired reports whether a password last changed at changed must be
// changed at now. An unknown change time (zero) never expires: backends
// mapped onto a foreign schema (AD) may not record it, and locking everyone
// out for that would be worse.
func (r Rules) Expired(changed, now time.Time) bool {
	if r.MaxAgeDays <= 0 || changed.IsZero() {
		return false
	}
	return now.Sub(changed) > time.Duration(r.MaxAgeDays)*24*time.Hour
}

// Describe returns the rules as one sentence in each language, for forms.
func (r Rules) Describe() (vi, en string) {
	var vs, es []string
	for _, c := range []struct {
		on     bool
		vi, en string
	}{
		{r.RequireUpper, "chữ hoa", "upper case"},
		{r.RequireLower, "chữ thường", "lower case"},
		{r.RequireDigit, "chữ số", "a digit"},
		{r.RequireSpecial, "ký tự đặc biệt", "a special character"},
	} {
		if c.on {
			vs, es = append(vs, c.vi), append(es, c.en)
		}
	}
	vi = fmt.Sprintf("Ít nhất %d ký tự", r.MinLength)
	en = fmt.Sprintf("At least %d characters", r.MinLength)
	if len(vs) > 0 {
		vi += ", gồm " + strings.Join(vs, ", ")
		en += " with " + strings.Join(es, ", ")
	}
	vi += "; không chứa tên tài khoản, họ tên hoặc ngày sinh."
	en += "; not containing the account name, your name or date of birth."
	return vi, en
}
