// Package authcache remembers, for a few minutes, that a login name and
// password were verified, so a client that reconnects every minute does
// not pay the password KDF (argon2id) or an LDAP bind each time.
//
// What is kept is never the password: entries are keyed by an HMAC of
// login and password under a random key that lives only in this process.
// An entry is used only while the account is still active and its
// password unchanged since it was verified (one directory lookup, no
// KDF); a wrong password never matches an entry, so failures always go to
// the directory (and to the lockout count). Accounts whose directory does
// not record when their password changed (PasswordChanged zero, as in
// Active Directory) are never cached: a change could not be seen.
package authcache

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"strings"
	"sync"
	"time"

	"congvu/directory"
)

// Cache is safe for concurrent use.
type Cache struct {
	key [32]byte
	ttl time.Duration
	max int

	// Allow, when set, tells whether an account's verified password may
	// be remembered and used, asked at both times: false when something
	// besides the directory decides (two-factor sign-in, whose app
	// passwords can be revoked without the directory knowing).
	Allow func(ctx context.Context, address string) (bool, error)

	mu      sync.Mutex
	entries map[[32]byte]entry
}

type entry struct {
	address   string    // the account's primary address
	pwChanged time.Time // PasswordChanged when verified
	verified  time.Time
}

// New makes a cache whose entries live ttl and which holds at most max.
func New(ttl time.Duration, max int) *Cache {
	c := &Cache{ttl: ttl, max: max, entries: map[[32]byte]entry{}}
	rand.Read(c.key[:])
	return c
}

func (c *Cache) id(login, password string) [32]byte {
	m := hmac.New(sha256.New, c.key[:])
	m.Write([]byte(strings.ToLower(login)))
	m.Write([]byte{0})
	m.Write([]byte(password))
	var k [32]byte
	copy(k[:], m.Sum(nil))
	return k
}

// Authenticate is dir.Authenticate, answered from the cache when login
// and password were verified less than ttl ago and the account has not
// changed since. cached tells which. A nil Cache only asks dir.
func (c *Cache) Authenticate(ctx context.Context, dir directory.Directory, login, password string) (acct *directory.Account, cached bool, err error) {
	if c == nil {
		acct, err = dir.Authenticate(ctx, login, password)
		return acct, false, err
	}
	k := c.id(login, password)
	c.mu.Lock()
	e, ok := c.entries[k]
	if ok && time.Since(e.verified) > c.ttl {
		delete(c.entries, k)
		ok = false
	}
	c.mu.Unlock()
	if ok {
		a, err := dir.Lookup(ctx, e.address)
		if err == nil && a != nil && a.State == directory.StateActive && a.PasswordChanged.Equal(e.pwChanged) &&
			c.allowed(ctx, a.Address) {
			return a, true, nil
		}
		c.Forget(login, password)
	}
	acct, err = dir.Authenticate(ctx, login, password)
	if err == nil && acct != nil && acct.State == directory.StateActive && !acct.PasswordChanged.IsZero() &&
		c.allowed(ctx, acct.Address) {
		c.mu.Lock()
		if len(c.entries) >= c.max {
			c.evict()
		}
		c.entries[k] = entry{address: acct.Address, pwChanged: acct.PasswordChanged, verified: time.Now()}
		c.mu.Unlock()
	}
	return acct, false, err
}

func (c *Cache) allowed(ctx context.Context, address string) bool {
	if c.Allow == nil {
		return true
	}
	ok, err := c.Allow(ctx, address)
	return err == nil && ok
}

// Len is how many verified logins are remembered.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Forget drops the entry of login and password.
func (c *Cache) Forget(login, password string) {
	k := c.id(login, password)
	c.mu.Lock()
	delete(c.entries, k)
	c.mu.Unlock()
}

// evict drops expired entries, and if none, an arbitrary quarter. c.mu
// is held.
func (c *Cache) evict() {
	now := time.Now()
	for k, e := range c.entries {
		if now.Sub(e.verified) > c.ttl {
			delete(c.entries, k)
		}
	}
	n := len(c.entries) / 4
	for k := range c.entries {
		if len(c.entries) < c.max || n <= 0 {
			return
		}
		delete(c.entries, k)
		n--
	}
}
