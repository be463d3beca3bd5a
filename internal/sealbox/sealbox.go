// Package sealbox seals the small secrets a node must keep readable in its
// databases — the TOTP secrets of officials in web.db, the initial
// passwords of approved provisioning requests in org.db — so that a copy
// of a database file alone (a stolen disk image, a database handed to a
// developer, a misplaced backup of one file) does not give them away.
//
// One mechanism for the project: AES-256-GCM (an authenticated cipher,
// crypto/cipher) under the node's seal key, 32 random bytes kept hex
// encoded in the file KeyFile of the data directory, mode 0600, created
// on first use. The key goes wherever the data directory goes (`congvu
// backup` copies the whole data directory; `congvu restore` puts it
// back), and nowhere else: it is never logged and never stored in a
// database.
//
// A sealed value records the key it was sealed under (a fingerprint), so
// a database restored without its key answers ErrOtherKey — "restore
// seal.key" — instead of a bare authentication failure. Every value is
// sealed for one purpose (the additional data), so a value sealed as one
// kind of secret cannot be passed off as another.
package sealbox

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"congvu/internal/durable"
)

// KeyFile is the seal key's file name in the data directory.
const KeyFile = "seal.key"

const (
	keyBytes    = 32 // AES-256
	fingerprint = 4  // bytes of SHA-256(key) recorded in each value
	nonceBytes  = 12 // GCM's standard nonce, random per value
	tagBytes    = 16
)

// magic starts every sealed value (format version 1).
var magic = []byte("cvs\x01")

// headerBytes is magic, key fingerprint and nonce.
const headerBytes = 4 + fingerprint + nonceBytes

// Overhead is how many bytes sealing adds to a value.
const Overhead = headerBytes + tagBytes

// textPrefix starts a sealed value kept in a TEXT column.
const textPrefix = "sealed:v1:"

// Errors of Open.
var (
	// ErrNotSealed: the value is not in the sealed format.
	ErrNotSealed = errors.New("sealbox: value is not sealed")
	// ErrOtherKey: the value was sealed under another key (the data
	// directory's seal.key was replaced or not restored with the database).
	ErrOtherKey = errors.New("sealbox: value sealed under another key; restore " + KeyFile + " from the backup the database came from")
	// ErrTampered: the value does not authenticate (altered, or sealed
	// for another purpose).
	ErrTampered = errors.New("sealbox: sealed value does not authenticate (altered or misplaced)")
)

// Box seals and opens values under one key. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
	fp   [fingerprint]byte
}

// New returns a Box over a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != keyBytes {
		return nil, fmt.Errorf("sealbox: key must be %d bytes, not %d", keyBytes, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	b := &Box{aead: aead}
	sum := sha256.Sum256(append([]byte("congvu seal key fingerprint\x00"), key...))
	copy(b.fp[:], sum[:])
	return b, nil
}

// OpenDir returns the Box of the data directory dir, creating its key
// file on first use.
func OpenDir(dir string) (*Box, error) {
	return OpenFile(filepath.Join(dir, KeyFile))
}

// OpenFile returns the Box whose key is in path, creating the file (mode
// 0600, crash-safely) when it does not exist. An existing file that is
// unreadable, malformed or open to other users is an error: a key is
// never silently replaced, since values sealed under it would be lost.
func OpenFile(path string) (*Box, error) {
	key, err := readKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createKey(path)
	}
	if err != nil {
		return nil, err
	}
	return New(key)
}

func readKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("sealbox: %s is readable by other users (mode %04o): chmod 600 it", path, fi.Mode().Perm())
	}
	buf := make([]byte, 4*keyBytes)
	n, _ := f.Read(buf)
	key, err := hex.DecodeString(strings.TrimSpace(string(buf[:n])))
	if err != nil || len(key) != keyBytes {
		return nil, fmt.Errorf("sealbox: %s is not a seal key (%d hex digits expected)", path, 2*keyBytes)
	}
	return key, nil
}

// createKey writes a new key: a temporary file, fsynced, then linked to
// path (link fails if another process created the key meanwhile: that
// key wins), then the directory fsynced.
func createKey(path string) ([]byte, error) {
	dir := filepath.Dir(path)
	if err := durable.MkdirAll(dir); err != nil {
		return nil, err
	}
	key := make([]byte, keyBytes)
	rand.Read(key)
	f, err := os.CreateTemp(dir, ".tmp-seal-")
	if err != nil {
		return nil, err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	err = f.Chmod(0o600)
	if err == nil {
		err = giveToOwnerOf(f, dir)
	}
	if err == nil {
		_, err = f.WriteString(hex.EncodeToString(key) + "\n")
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if err := os.Link(tmp, path); errors.Is(err, fs.ErrExist) {
		return readKey(path)
	} else if err != nil {
		return nil, err
	}
	return key, durable.SyncDir(dir)
}

// giveToOwnerOf gives f to the owner of dir when this process is root and
// dir belongs to another user (the congvu system user): an admin command
// run with sudo before the service ever started must not leave a key the
// service cannot read.
func giveToOwnerOf(f *os.File, dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return nil
	}
	return f.Chown(int(st.Uid), int(st.Gid))
}

// Seal returns plain sealed for purpose (a short constant naming the kind
// of secret, e.g. "webdb/totp").
func (b *Box) Seal(purpose string, plain []byte) []byte {
	out := make([]byte, headerBytes, headerBytes+len(plain)+tagBytes)
	copy(out, magic)
	copy(out[len(magic):], b.fp[:])
	rand.Read(out[len(magic)+fingerprint : headerBytes])
	nonce := out[len(magic)+fingerprint : headerBytes]
	return b.aead.Seal(out, nonce, plain, b.ad(out[:headerBytes], purpose))
}

// Open returns the plain value of sealed, sealed for purpose.
func (b *Box) Open(purpose string, sealed []byte) ([]byte, error) {
	if !IsSealed(sealed) {
		return nil, ErrNotSealed
	}
	if !bytes.Equal(sealed[len(magic):len(magic)+fingerprint], b.fp[:]) {
		return nil, ErrOtherKey
	}
	nonce := sealed[len(magic)+fingerprint : headerBytes]
	plain, err := b.aead.Open(nil, nonce, sealed[headerBytes:], b.ad(sealed[:headerBytes], purpose))
	if err != nil {
		return nil, ErrTampered
	}
	return plain, nil
}

// ad is the additional data: the header and the purpose.
func (b *Box) ad(header []byte, purpose string) []byte {
	return append(append(append([]byte(nil), header...), 0), purpose...)
}

// IsSealed tells whether v is in the sealed format (it may still fail to
// open). A value shorter than the format's overhead never is, so fixed-
// size plain secrets shorter than Overhead are never mistaken for sealed.
func IsSealed(v []byte) bool {
	return len(v) >= Overhead && bytes.HasPrefix(v, magic)
}

// SealString seals a text value for a TEXT column: "sealed:v1:" and the
// sealed bytes in base64url.
func (b *Box) SealString(purpose, plain string) string {
	return textPrefix + base64.RawURLEncoding.EncodeToString(b.Seal(purpose, []byte(plain)))
}

// OpenString opens what SealString made.
func (b *Box) OpenString(purpose, sealed string) (string, error) {
	if !IsSealedString(sealed) {
		return "", ErrNotSealed
	}
	raw, err := base64.RawURLEncoding.DecodeString(sealed[len(textPrefix):])
	if err != nil {
		return "", ErrTampered
	}
	plain, err := b.Open(purpose, raw)
	return string(plain), err
}

// IsSealedString tells whether s is in SealString's format.
func IsSealedString(s string) bool { return strings.HasPrefix(s, textPrefix) }

// String never shows the key.
func (b *Box) String() string { return fmt.Sprintf("sealbox(key %x)", b.fp) }
