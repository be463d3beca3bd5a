package frontend

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"congvu/directory"
	"congvu/internal/mailerr"
)

// ticketPrefix starts a login ticket where a password would be.
const ticketPrefix = "congvu-ticket:v1:"

// ticketTTL is how long a ticket may wait between auth_http and nginx's
// login to the node (milliseconds in practice).
const ticketTTL = time.Minute

// Tickets stands in for the password on nginx's login to the node: once
// auth_http has checked the password (a deliberately slow argon2id hash),
// it answers Auth-Pass with a ticket — an HMAC over the address and the
// time, with the key every node shares — so the node does not hash the
// same password a second time. A ticket is good for one login within a
// minute, for the address it names.
type Tickets struct {
	key []byte
	now func() time.Time

	mu    sync.Mutex
	used  map[string]time.Time // nonce → expiry
	swept time.Time            // when expired nonces were last dropped
}

// NewTickets uses key (the cluster secret; on a single node any random
// key, as auth_http and the daemons share the process).
func NewTickets(key []byte) *Tickets {
	if len(key) == 0 {
		key = make([]byte, 32)
		rand.Read(key)
	}
	return &Tickets{key: key, now: time.Now, used: map[string]time.Time{}}
}

func (t *Tickets) mac(address, stamp, nonce string) string {
	m := hmac.New(sha256.New, t.key)
	fmt.Fprintf(m, "%s|%s|%s", address, stamp, nonce)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Issue returns a ticket for address.
func (t *Tickets) Issue(address string) string {
	var n [12]byte
	rand.Read(n[:])
	nonce := base64.RawURLEncoding.EncodeToString(n[:])
	stamp := strconv.FormatInt(t.now().Unix(), 10)
	return ticketPrefix + stamp + ":" + nonce + ":" + t.mac(directory.NormalizeAddress(address), stamp, nonce)
}

// IsTicket reports whether pass has the form of a ticket.
func IsTicket(pass string) bool { return strings.HasPrefix(pass, ticketPrefix) }

// Check accepts a ticket for address once.
func (t *Tickets) Check(address, ticket string) bool {
	f := strings.Split(strings.TrimPrefix(ticket, ticketPrefix), ":")
	if len(f) != 3 || !IsTicket(ticket) {
		return false
	}
	stamp, nonce, mac := f[0], f[1], f[2]
	if !hmac.Equal([]byte(mac), []byte(t.mac(directory.NormalizeAddress(address), stamp, nonce))) {
		return false
	}
	sec, err := strconv.ParseInt(stamp, 10, 64)
	now := t.now()
	issued := time.Unix(sec, 0)
	if err != nil || now.Before(issued.Add(-5*time.Second)) || now.After(issued.Add(ticketTTL)) {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	// Expired nonces go at most once a second: a sweep on every login
	// would cost as many steps as logins in the last minute.
	if now.Sub(t.swept) >= time.Second {
		t.swept = now
		for n, exp := range t.used {
			if now.After(exp) {
				delete(t.used, n)
			}
		}
	}
	if _, seen := t.used[nonce]; seen {
		return false
	}
	t.used[nonce] = issued.Add(ticketTTL + 5*time.Second)
	return true
}

// TicketDirectory accepts tickets in place of passwords; everything else
// goes to the wrapped directory.
type TicketDirectory struct {
	directory.Directory
	Tickets *Tickets
}

// Authenticate checks a ticket (the account must still be active), or the
// password with the wrapped directory.
func (d TicketDirectory) Authenticate(ctx context.Context, login, password string) (*directory.Account, error) {
	if d.Tickets == nil || !IsTicket(password) {
		return d.Directory.Authenticate(ctx, login, password)
	}
	acct, err := d.Directory.Lookup(ctx, login)
	if err != nil {
		if mailerr.As(err) != nil && !mailerr.As(err).Temporary {
			return nil, mailerr.ErrAuthFailed
		}
		return nil, err
	}
	if !d.Tickets.Check(acct.Address, password) {
		return acct, mailerr.ErrAuthFailed
	}
	if acct.State != directory.StateActive {
		return acct, mailerr.ErrAccountDisabled
	}
	return acct, nil
}

// Unwrap lets the backend's optional capabilities (alias domains,
// published certificates) be found through this wrapper (directory.As).
func (d TicketDirectory) Unwrap() directory.Directory { return d.Directory }
