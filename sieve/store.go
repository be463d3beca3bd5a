package sieve

import (
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"congvu/internal/durable"
	"congvu/internal/mailerr"
)

// The per-user script store: each user's scripts and which one is active
// (RFC 5804 1.4: at most one), as files written crash-safely (tmp, fsync,
// rename, fsync directory) under <dir>/<domain>/<local part>/:
//
//	scripts/<hex of name>.sieve   one per script
//	active                        the active script's name (absent: none)
//	vacation.json                 who got a vacation reply, until when
//
// ManageSieve, the web's vacation settings and delivery all go through
// one Store, so they see the same scripts.

// Errors a client can see; their IMAPCode is the ManageSieve response code
// (RFC 5804 1.3).
var (
	ErrNoSuchScript = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 2, 0}, IMAPCode: "NONEXISTENT",
		Message: "There is no script by that name", MessageVI: "Không có bộ quy tắc với tên này"}
	ErrScriptExists = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 2, 0}, IMAPCode: "ALREADYEXISTS",
		Message: "A script by that name already exists", MessageVI: "Đã có bộ quy tắc với tên này"}
	ErrActiveScript = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 2, 0}, IMAPCode: "ACTIVE",
		Message: "The active script cannot be deleted", MessageVI: "Không xoá được bộ quy tắc đang dùng"}
	ErrTooManyScripts = &mailerr.Error{SMTPCode: 552, Enhanced: [3]int{5, 2, 2}, IMAPCode: "QUOTA/MAXSCRIPTS", HTTPStatus: 413,
		Message: "Too many scripts", MessageVI: "Quá nhiều bộ quy tắc"}
	ErrScriptTooBig = &mailerr.Error{SMTPCode: 552, Enhanced: [3]int{5, 3, 4}, IMAPCode: "QUOTA/MAXSIZE", HTTPStatus: 413,
		Message: "The script is too large", MessageVI: "Bộ quy tắc quá lớn"}
	ErrBadScriptName = &mailerr.Error{SMTPCode: 501, Enhanced: [3]int{5, 5, 4}, IMAPCode: "",
		Message: "Invalid script name", MessageVI: "Tên bộ quy tắc không hợp lệ"}
	ErrBadScript = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 6, 0}, IMAPCode: "",
		Message: "The script has an error", MessageVI: "Bộ quy tắc có lỗi"}
)

// maxNameBytes bounds a script name (RFC 5804 1.6 leaves it to the server).
const maxNameBytes = 128

// Limits bound what one user may store.
type Limits struct {
	MaxScriptBytes int
	MaxScripts     int
}

// Store holds every user's scripts.
type Store struct {
	dir    string
	limits Limits
	// locks serialise changes per user (striped by a hash of the user).
	locks [64]sync.Mutex
	// settingsLocks serialise the web's read-modify-write of a script.
	settingsLocks [64]sync.Mutex

	mu    sync.Mutex
	cache map[string]cachedScript // user → compiled active script
}

type cachedScript struct {
	name   string
	script *Script
}

// OpenStore opens (creating) the store in dir.
func OpenStore(dir string, limits Limits) (*Store, error) {
	if err := durable.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("sieve: %w", err)
	}
	if limits.MaxScriptBytes <= 0 {
		limits.MaxScriptBytes = 64 << 10
	}
	if limits.MaxScripts <= 0 {
		limits.MaxScripts = 20
	}
	return &Store{dir: dir, limits: limits, cache: map[string]cachedScript{}}, nil
}

// Limits returns the store's limits (ManageSieve announces them).
func (s *Store) Limits() Limits { return s.limits }

func (s *Store) lock(user string) func() { return stripe(&s.locks, user) }

func (s *Store) lockSettings(user string) func() { return stripe(&s.settingsLocks, user) }

func stripe(locks *[64]sync.Mutex, user string) func() {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(user)))
	m := &locks[h.Sum32()%uint32(len(locks))]
	m.Lock()
	return m.Unlock
}

// userDir is <dir>/<domain>/<local>, refusing anything that could escape.
func (s *Store) userDir(user string) (string, error) {
	user = strings.ToLower(user)
	local, domain, ok := strings.Cut(user, "@")
	if !ok || local == "" || domain == "" || strings.ContainsAny(user, "/\\\x00") || strings.HasPrefix(local, ".") ||
		strings.HasPrefix(domain, ".") || strings.Contains(user, "..") {
		return "", fmt.Errorf("sieve: invalid user %q", user)
	}
	return filepath.Join(s.dir, domain, local), nil
}

// CheckName validates a script name (RFC 5804 1.6: UTF-8 without control
// characters).
func CheckName(name string) error {
	if name == "" || len(name) > maxNameBytes || !utf8.ValidString(name) ||
		strings.ContainsFunc(name, func(r rune) bool {
			return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029
		}) {
		return ErrBadScriptName
	}
	return nil
}

func scriptFile(dir, name string) string {
	return filepath.Join(dir, "scripts", hex.EncodeToString([]byte(name))+".sieve")
}

// ScriptInfo is one stored script.
type ScriptInfo struct {
	Name   string
	Active bool
}

// List returns the user's scripts, by name.
func (s *Store) List(user string) ([]ScriptInfo, error) {
	dir, err := s.userDir(user)
	if err != nil {
		return nil, err
	}
	active, err := readActive(dir)
	if err != nil {
		return nil, err
	}
	names, err := listNames(dir)
	if err != nil {
		return nil, err
	}
	out := make([]ScriptInfo, len(names))
	for i, n := range names {
		out[i] = ScriptInfo{Name: n, Active: n == active}
	}
	return out, nil
}

func listNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(dir, "scripts"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), ".sieve")
		if !ok {
			continue
		}
		b, err := hex.DecodeString(base)
		if err != nil {
			continue
		}
		names = append(names, string(b))
	}
	slices.Sort(names)
	return names, nil
}

func readActive(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "active"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	return strings.TrimSuffix(string(b), "\n"), err
}

// Get returns a script's text.
func (s *Store) Get(user, name string) (string, error) {
	dir, err := s.userDir(user)
	if err != nil {
		return "", err
	}
	if err := CheckName(name); err != nil {
		return "", err
	}
	b, err := os.ReadFile(scriptFile(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return "", ErrNoSuchScript
	}
	return string(b), err
}

// HaveSpace says whether a script of size bytes named name could be
// stored (RFC 5804 2.5).
func (s *Store) HaveSpace(user, name string, size int) error {
	dir, err := s.userDir(user)
	if err != nil {
		return err
	}
	if err := CheckName(name); err != nil {
		return err
	}
	if size > s.limits.MaxScriptBytes {
		return ErrScriptTooBig
	}
	names, err := listNames(dir)
	if err != nil {
		return err
	}
	if !slices.Contains(names, name) && len(names) >= s.limits.MaxScripts {
		return ErrTooManyScripts
	}
	return nil
}

// Put stores a script after checking it compiles (RFC 5804 2.6: an invalid
// script is refused, never stored). Replacing the active script takes
// effect for the next delivery.
func (s *Store) Put(user, name, content string) error {
	if err := s.HaveSpace(user, name, len(content)); err != nil {
		return err
	}
	if _, err := Compile(content); err != nil {
		return ErrBadScript.With(err)
	}
	dir, _ := s.userDir(user)
	defer s.lock(user)()
	// Checked again under the lock: two uploads may race for the last slot.
	if err := s.HaveSpace(user, name, len(content)); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, "scripts"), filepath.Base(scriptFile(dir, name)), []byte(content)); err != nil {
		return err
	}
	s.forget(user)
	return nil
}

// Delete removes a script that is not active (RFC 5804 2.10).
func (s *Store) Delete(user, name string) error {
	dir, err := s.userDir(user)
	if err != nil {
		return err
	}
	if err := CheckName(name); err != nil {
		return err
	}
	defer s.lock(user)()
	active, err := readActive(dir)
	if err != nil {
		return err
	}
	if active == name {
		return ErrActiveScript
	}
	if err := os.Remove(scriptFile(dir, name)); errors.Is(err, fs.ErrNotExist) {
		return ErrNoSuchScript
	} else if err != nil {
		return err
	}
	return durable.SyncDir(filepath.Join(dir, "scripts"))
}

// Rename renames a script, keeping it active if it was (RFC 5804 2.11.1).
func (s *Store) Rename(user, from, to string) error {
	dir, err := s.userDir(user)
	if err != nil {
		return err
	}
	if err := CheckName(from); err != nil {
		return err
	}
	if err := CheckName(to); err != nil {
		return err
	}
	defer s.lock(user)()
	if _, err := os.Stat(scriptFile(dir, from)); errors.Is(err, fs.ErrNotExist) {
		return ErrNoSuchScript
	}
	if _, err := os.Stat(scriptFile(dir, to)); err == nil {
		return ErrScriptExists
	}
	active, err := readActive(dir)
	if err != nil {
		return err
	}
	// The active name is rewritten first: a crash between the two steps
	// leaves no active script (mail goes to INBOX) rather than a dangling
	// name for a script that exists under the other.
	if active == from {
		if err := writeFile(dir, "active", []byte(to+"\n")); err != nil {
			return err
		}
	}
	if err := os.Rename(scriptFile(dir, from), scriptFile(dir, to)); err != nil {
		return err
	}
	s.forget(user)
	return durable.SyncDir(filepath.Join(dir, "scripts"))
}

// SetActive makes name the active script; "" deactivates (RFC 5804 2.8).
func (s *Store) SetActive(user, name string) error {
	dir, err := s.userDir(user)
	if err != nil {
		return err
	}
	defer s.lock(user)()
	defer s.forget(user)
	if name == "" {
		if err := os.Remove(filepath.Join(dir, "active")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return durable.SyncDir(dir)
	}
	if err := CheckName(name); err != nil {
		return err
	}
	if _, err := os.Stat(scriptFile(dir, name)); errors.Is(err, fs.ErrNotExist) {
		return ErrNoSuchScript
	}
	return writeFile(dir, "active", []byte(name+"\n"))
}

// Active returns the user's compiled active script, nil when none. A
// stored script that no longer compiles (an older version's extension)
// is an error: delivery then keeps the message (RFC 5228 2.10.6).
func (s *Store) Active(user string) (string, *Script, error) {
	user = strings.ToLower(user)
	s.mu.Lock()
	c, ok := s.cache[user]
	s.mu.Unlock()
	if ok {
		return c.name, c.script, nil
	}
	dir, err := s.userDir(user)
	if err != nil {
		return "", nil, err
	}
	name, err := readActive(dir)
	if err != nil || name == "" {
		if err == nil {
			s.remember(user, cachedScript{})
		}
		return "", nil, err
	}
	src, err := os.ReadFile(scriptFile(dir, name))
	if err != nil {
		return name, nil, err
	}
	script, err := Compile(string(src))
	if err != nil {
		return name, nil, err
	}
	s.remember(user, cachedScript{name: name, script: script})
	return name, script, nil
}

// maxCached bounds the compiled scripts kept in memory.
const maxCached = 10000

func (s *Store) remember(user string, c cachedScript) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cache) >= maxCached {
		clear(s.cache)
	}
	s.cache[user] = c
}

func (s *Store) forget(user string) {
	s.mu.Lock()
	delete(s.cache, strings.ToLower(user))
	s.mu.Unlock()
}

// writeFile writes dir/name crash-safely (internal/durable).
func writeFile(dir, name string, data []byte) error { return durable.WriteFile(dir, name, data) }
