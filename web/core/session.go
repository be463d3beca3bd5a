package core

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"
)

// maxSessionsPerUser bounds the sessions one account holds; logging in
// once more ends the oldest.
const maxSessionsPerUser = 20

// Session is one logged-in browser. The store hands out copies.
type Session struct {
	key       string // store key: hex SHA-256 of the cookie value
	Address   string // primary address of the account
	CSRF      string // synchroniser token of every form of this session
	Created   time.Time
	LastSeen  time.Time
	AccessDay string  // "2006-01-02" in Viet Nam of the last RecordAccess
	Flash     *Notice // shown once by the next page
}

// sessionStore keeps sessions in memory, keyed by a hash of the cookie so
// that the map (or a heap dump) never holds a usable cookie value.
type sessionStore struct {
	idle, max time.Duration
	now       func() time.Time

	mu        sync.Mutex
	byKey     map[string]*Session
	nextSweep time.Time
}

func newSessionStore(idle, max time.Duration, now func() time.Time) *sessionStore {
	return &sessionStore{idle: idle, max: max, now: now, byKey: map[string]*Session{}}
}

func hashID(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

// create starts a session for address and returns the cookie value.
func (st *sessionStore) create(address string) (id string, s Session) {
	id = rand.Text() + rand.Text() // 2×26 base32 characters: 256 bits
	now := st.now()
	ns := &Session{key: hashID(id), Address: address, CSRF: rand.Text(), Created: now, LastSeen: now}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sweepLocked(now)
	var mine []*Session
	for _, o := range st.byKey {
		if o.Address == address {
			mine = append(mine, o)
		}
	}
	for len(mine) >= maxSessionsPerUser {
		oldest := 0
		for i, o := range mine {
			if o.Created.Before(mine[oldest].Created) {
				oldest = i
			}
		}
		delete(st.byKey, mine[oldest].key)
		mine = append(mine[:oldest], mine[oldest+1:]...)
	}
	st.byKey[ns.key] = ns
	return id, *ns
}

func (st *sessionStore) expired(s *Session, now time.Time) bool {
	return now.Sub(s.LastSeen) > st.idle || now.Sub(s.Created) > st.max
}

// sweepLocked drops expired sessions at most once a minute.
func (st *sessionStore) sweepLocked(now time.Time) {
	if now.Before(st.nextSweep) {
		return
	}
	st.nextSweep = now.Add(time.Minute)
	for k, s := range st.byKey {
		if st.expired(s, now) {
			delete(st.byKey, k)
		}
	}
}

// get returns the live session of a cookie value and marks it used.
// Expired sessions are removed.
func (st *sessionStore) get(id string) (Session, bool) {
	if id == "" {
		return Session{}, false
	}
	key := hashID(id)
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.byKey[key]
	if !ok {
		return Session{}, false
	}
	if st.expired(s, now) {
		delete(st.byKey, key)
		return Session{}, false
	}
	s.LastSeen = now
	return *s, true
}

// update changes a live session in place.
func (st *sessionStore) update(key string, f func(*Session)) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if s, ok := st.byKey[key]; ok {
		f(s)
	}
}

// takeFlash returns and clears the session's one-time notice.
func (st *sessionStore) takeFlash(key string) *Notice {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.byKey[key]
	if !ok {
		return nil
	}
	n := s.Flash
	s.Flash = nil
	return n
}

func (st *sessionStore) delete(key string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.byKey, key)
}

// endUser ends every session of address except the one with key except
// (after a password change, a reset, a lock or a retirement).
func (st *sessionStore) endUser(address, except string) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := 0
	for k, s := range st.byKey {
		if s.Address == address && k != except {
			delete(st.byKey, k)
			n++
		}
	}
	return n
}

// len is the number of sessions held (for tests).
func (st *sessionStore) len() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.byKey)
}
