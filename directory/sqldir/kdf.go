package sqldir

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// Argon2id parameters for new hashes: OWASP Password Storage Cheat Sheet's
// first recommended set (m = 19 MiB, t = 1, p = 1), about 25 ms per hash on
// one core of the reference 2-core machine, so a login costs little while an
// offline guess costs as much. Stored hashes carry their own parameters
// (PHC string format), so these can be raised later; hashes with older
// parameters are upgraded at the next successful login.
const (
	argonTime    = 1
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Bounds on parameters read back from the database, so that a corrupted or
// hostile row cannot make a login allocate gigabytes or spin for minutes.
const (
	maxArgonTime    = 16
	maxArgonMemory  = 256 * 1024 // KiB
	maxArgonThreads = 16
)

// hashPassword returns the PHC-style encoding of an argon2id hash of pw with
// a fresh random salt: $argon2id$v=19$m=19456,t=1,p=1$<salt>$<hash>.
func hashPassword(pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(canonicalPassword(pw)), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// canonicalPassword applies NFC (as RFC 8265's OpaqueString profile does) so
// that a Vietnamese password typed with combining marks on one device and
// precomposed on another is the same password.
func canonicalPassword(pw string) string { return norm.NFC.String(pw) }

type argonHash struct {
	time, memory uint32
	threads      uint8
	salt, key    []byte
}

func parseHash(encoded string) (argonHash, error) {
	var h argonHash
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return h, errors.New("not an argon2id PHC string")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return h, fmt.Errorf("unsupported argon2 version %q", parts[2])
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.memory, &h.time, &threads); err != nil {
		return h, fmt.Errorf("bad argon2 parameters %q", parts[3])
	}
	if h.time < 1 || h.time > maxArgonTime || h.memory < 8*threads || h.memory > maxArgonMemory ||
		threads < 1 || threads > maxArgonThreads {
		return h, fmt.Errorf("argon2 parameters out of bounds %q", parts[3])
	}
	h.threads = uint8(threads)
	var err error
	if h.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(h.salt) < 8 {
		return h, errors.New("bad argon2 salt")
	}
	if h.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 64 {
		return h, errors.New("bad argon2 key")
	}
	return h, nil
}

// verifyPassword reports whether pw matches the encoded hash, in time that
// does not depend on where they differ, and whether the hash should be
// recomputed with the current parameters.
func verifyPassword(encoded, pw string) (ok, rehash bool, err error) {
	h, err := parseHash(encoded)
	if err != nil {
		return false, false, err
	}
	key := argon2.IDKey([]byte(canonicalPassword(pw)), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	ok = subtle.ConstantTimeCompare(key, h.key) == 1
	rehash = h.time != argonTime || h.memory != argonMemory || h.threads != argonThreads ||
		len(h.key) != argonKeyLen || len(h.salt) != argonSaltLen
	return ok, rehash, nil
}

// withKDF runs f (a password hash or verification) once one of the CPU
// slots is free; waiting ends with ctx.
func (d *DB) withKDF(ctx context.Context, f func()) error {
	select {
	case d.kdfSlots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-d.kdfSlots }()
	f()
	return nil
}
