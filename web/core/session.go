package core

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"congvu/web/webdb"
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

// touchEvery is how stale a session's stored LastSeen may get: a restart
// may shorten an idle session by at most this much.
const touchEvery = time.Minute

// sessionStore keeps sessions in memory, keyed by a hash of the cookie so
// that the map (or a heap dump, or the database) never holds a usable
// cookie value. With a database every session is also stored there and
// read back at start, so a restart signs nobody out; the one-time notice
// (Flash) lives in memory only.
type sessionStore struct {
	idle, max time.Duration
	now       func() time.Time
	db        *webdb.DB // nil: memory only
	log       *slog.Logger

	mu        sync.Mutex
	byKey     map[string]*Session
	touched   map[string]time.Time // LastSeen as last stored
	nextSweep time.Time
}

func newSessionStore(idle, max time.Duration, now func() time.Time, db *webdb.DB, log *slog.Logger) *sessionStore {
	st := &sessionStore{idle: idle, max: max, now: now, db: db, log: log, byKey: map[string]*Session{},
		touched: map[string]time.Time{}}
	st.load()
	return st
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
		st.dropLocked(mine[oldest].key)
		mine = append(mine[:oldest], mine[oldest+1:]...)
	}
	st.byKey[ns.key] = ns
	st.insert(ns)
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
			st.dropLocked(k)
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
		st.dropLocked(key)
		return Session{}, false
	}
	s.LastSeen = now
	if now.Sub(st.touched[key]) >= touchEvery {
		st.touch(s)
	}
	return *s, true
}

// update changes a live session in place; stored fields are written
// through.
func (st *sessionStore) update(key string, f func(*Session)) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if s, ok := st.byKey[key]; ok {
		before := *s
		f(s)
		if s.AccessDay != before.AccessDay {
			st.touch(s)
		}
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
	st.dropLocked(key)
}

// dropLocked forgets a session here and in the database.
func (st *sessionStore) dropLocked(key string) {
	delete(st.byKey, key)
	delete(st.touched, key)
	if st.db != nil {
		if _, err := st.db.Exec(`DELETE FROM sessions WHERE key = ?`, key); err != nil {
			st.log.Warn("web: deleting a stored session failed", "err", err)
		}
	}
}

// endUser ends every session of address except the one with key except
// (after a password change, a reset, a lock or a retirement).
func (st *sessionStore) endUser(address, except string) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := 0
	for k, s := range st.byKey {
		if s.Address == address && k != except {
			st.dropLocked(k)
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

// insert stores a new session. A failure leaves it in memory only: it
// works until the next restart.
func (st *sessionStore) insert(s *Session) {
	st.touched[s.key] = s.LastSeen
	if st.db == nil {
		return
	}
	_, err := st.db.Exec(`INSERT OR REPLACE INTO sessions (key, address, csrf, created, last_seen, access_day) VALUES (?, ?, ?, ?, ?, ?)`,
		s.key, s.Address, s.CSRF, s.Created.UnixMilli(), s.LastSeen.UnixMilli(), s.AccessDay)
	if err != nil {
		st.log.Warn("web: storing a session failed; it will not survive a restart", "address", s.Address, "err", err)
	}
}

// touch stores LastSeen and AccessDay.
func (st *sessionStore) touch(s *Session) {
	st.touched[s.key] = s.LastSeen
	if st.db == nil {
		return
	}
	if _, err := st.db.Exec(`UPDATE sessions SET last_seen = ?, access_day = ? WHERE key = ?`,
		s.LastSeen.UnixMilli(), s.AccessDay, s.key); err != nil {
		st.log.Warn("web: updating a stored session failed", "address", s.Address, "err", err)
	}
}

// load reads back the stored sessions that have not expired, and deletes
// the others.
func (st *sessionStore) load() {
	if st.db == nil {
		return
	}
	now := st.now()
	rows, err := st.db.Query(`SELECT key, address, csrf, created, last_seen, access_day FROM sessions`)
	if err != nil {
		st.log.Warn("web: reading stored sessions failed", "err", err)
		return
	}
	defer rows.Close()
	var stale []string
	for rows.Next() {
		var s Session
		var created, seen int64
		if err := rows.Scan(&s.key, &s.Address, &s.CSRF, &created, &seen, &s.AccessDay); err != nil {
			st.log.Warn("web: reading stored sessions failed", "err", err)
			return
		}
		s.Created, s.LastSeen = time.UnixMilli(created), time.UnixMilli(seen)
		if st.expired(&s, now) {
			stale = append(stale, s.key)
			continue
		}
		st.byKey[s.key] = &s
		st.touched[s.key] = s.LastSeen
	}
	rows.Close()
	for _, k := range stale {
		st.db.Exec(`DELETE FROM sessions WHERE key = ?`, k)
	}
	if len(st.byKey) > 0 {
		st.log.Info("web: sessions restored", "sessions", len(st.byKey))
	}
}
