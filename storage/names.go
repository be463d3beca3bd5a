package storage

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"congvu/internal/mailerr"
)

// maxNameComponent bounds one path component (file systems allow 255 bytes).
const maxNameComponent = 200

// maxFolderName bounds a full folder name; IMAP clients never need more.
const maxFolderName = 1000

// userPath splits a primary address into the two directory components of
// users/<domain>/<localpart>. Addresses are lower-cased (directory.Account
// documents them as lower case already). Anything that could escape the
// users directory or produce a hidden or special name is refused, so the
// result is always a plain two-level path below users/.
func userPath(user string) (key, domain, local string, err error) {
	key = strings.ToLower(user)
	at := strings.LastIndexByte(key, '@')
	if at <= 0 || at == len(key)-1 {
		return "", "", "", invalidUser(user, "not of the form localpart@domain")
	}
	local, domain = key[:at], key[at+1:]
	for _, c := range []string{local, domain} {
		if err := checkPathComponent(c); err != nil {
			return "", "", "", invalidUser(user, err.Error())
		}
	}
	return key, domain, local, nil
}

func invalidUser(user, why string) error {
	return mailerr.ErrUnknownUser.With(fmt.Errorf("storage: invalid mailbox name %q: %s", user, why))
}

// checkPathComponent accepts a string as one directory name.
func checkPathComponent(c string) error {
	switch {
	case c == "":
		return errors.New("empty component")
	case len(c) > maxNameComponent:
		return errors.New("component too long")
	case !utf8.ValidString(c):
		return errors.New("invalid UTF-8")
	case c[0] == '.':
		// Covers "." and ".." and keeps hidden names out of the tree.
		return errors.New("component starts with a dot")
	}
	for _, r := range c {
		if r == '/' || r == '\\' || r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return fmt.Errorf("forbidden character %q", r)
		}
	}
	return nil
}

// normalizeFolder returns the canonical form of an IMAP folder name: NFC,
// "/" as hierarchy separator, and "INBOX" in upper case whatever case the
// client used for it (RFC 9051 5.1: INBOX is case-insensitive, including as
// the first component of a hierarchical name). A trailing separator is
// dropped (RFC 9051 6.3.4 lets CREATE "foo/" mean "foo").
func normalizeFolder(name string) (string, error) {
	if name == "" {
		name = Inbox
	}
	if !utf8.ValidString(name) {
		return "", badFolderName("invalid UTF-8")
	}
	name = norm.NFC.String(strings.TrimSuffix(name, "/"))
	if name == "" || len(name) > maxFolderName {
		return "", badFolderName("empty or too long")
	}
	if first, rest, _ := strings.Cut(name, "/"); strings.EqualFold(first, Inbox) {
		if rest == "" {
			name = Inbox
		} else {
			name = Inbox + "/" + rest
		}
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" {
			return "", badFolderName("empty hierarchy level")
		}
		if strings.TrimSpace(part) != part {
			return "", badFolderName("leading or trailing space in a hierarchy level")
		}
		if part == "." || part == ".." {
			// Clients that keep folders as files turn these into paths.
			return "", badFolderName(`"." and ".." are not folder names`)
		}
	}
	for _, r := range name {
		// "*" and "%" are LIST wildcards (RFC 9051 6.3.9), so a folder with
		// them in its name could never be listed precisely.
		if r == '*' || r == '%' || unicode.IsControl(r) {
			return "", badFolderName(fmt.Sprintf("forbidden character %q", r))
		}
	}
	return name, nil
}

func badFolderName(why string) error {
	return mailerr.ErrCannotDo.WithMessage("Invalid folder name: "+why, "Tên thư mục không hợp lệ")
}

// parentNames returns the superior names of a folder, outermost first:
// "a/b/c" gives ["a", "a/b"].
func parentNames(name string) []string {
	var out []string
	for i := 0; i < len(name); i++ {
		if name[i] == '/' {
			out = append(out, name[:i])
		}
	}
	return out
}

// System flags a client may set (RFC 9051 2.3.2). \Recent no longer exists
// in IMAP4rev2 and is silently dropped.
var systemFlags = map[string]string{
	`\seen`:     `\Seen`,
	`\answered`: `\Answered`,
	`\flagged`:  `\Flagged`,
	`\deleted`:  `\Deleted`,
	`\draft`:    `\Draft`,
}

const (
	flagSeen    = `\Seen`
	flagDeleted = `\Deleted`
)

// normalizeFlags validates flags, canonicalises the case of system flags,
// removes duplicates (keywords compare case-insensitively, RFC 9051 2.3.2)
// and sorts the result.
func normalizeFlags(flags []string) ([]string, error) {
	out := make([]string, 0, len(flags))
	seen := make(map[string]bool, len(flags))
	for _, f := range flags {
		lf := strings.ToLower(f)
		if strings.HasPrefix(f, `\`) {
			if lf == `\recent` {
				continue
			}
			canon, ok := systemFlags[lf]
			if !ok {
				return nil, badFlag(f)
			}
			f = canon
		} else if !validKeyword(f) {
			return nil, badFlag(f)
		}
		if !seen[lf] {
			seen[lf] = true
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out, nil
}

// validKeyword reports whether s is an IMAP atom usable as a keyword
// (RFC 9051 9: flag-keyword = "$MDNSent" / ... / atom).
func validKeyword(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return true
}

func badFlag(f string) error {
	return mailerr.ErrCannotDo.WithMessage(fmt.Sprintf("Invalid flag %q", f), "Cờ đánh dấu không hợp lệ")
}

// applyFlags computes the flags after op, keeping cur's spelling of
// keywords already present. Both inputs are normalized.
func applyFlags(cur []string, op FlagOp, flags []string) []string {
	switch op {
	case FlagsSet:
		return flags
	case FlagsAdd:
		out := slices.Clone(cur)
		for _, f := range flags {
			if !containsFold(cur, f) {
				out = append(out, f)
			}
		}
		slices.Sort(out)
		return out
	default: // FlagsRemove
		out := make([]string, 0, len(cur))
		for _, f := range cur {
			if !containsFold(flags, f) {
				out = append(out, f)
			}
		}
		return out
	}
}

func containsFold(list []string, f string) bool {
	for _, g := range list {
		if strings.EqualFold(f, g) {
			return true
		}
	}
	return false
}

// sameFlags compares two normalized flag lists.
func sameFlags(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(a[i], b[i]) {
			return false
		}
	}
	return true
}

// splitFlags and joinFlags convert between the slice form and the index
// column (flags are atoms, so a space never occurs inside one).
func splitFlags(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

func joinFlags(flags []string) string { return strings.Join(flags, " ") }
