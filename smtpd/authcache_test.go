package smtpd

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"congvu/directory"
	"congvu/internal/authcache"
	"congvu/internal/frontend"
)

// countingDir counts the password checks that reach the directory.
type countingDir struct {
	directory.Directory
	n *atomic.Int32
}

func (d countingDir) Authenticate(ctx context.Context, login, password string) (*directory.Account, error) {
	d.n.Add(1)
	return d.Directory.Authenticate(ctx, login, password)
}

// A client that opens a session per message logs in without a second
// password check; a wrong password always reaches the directory, a lock
// is seen at the next AUTH, and nginx's one-use tickets are not kept.
func TestAuthCredentialCache(t *testing.T) {
	var checks atomic.Int32
	creds := authcache.New(time.Minute, 100)
	tickets := frontend.NewTickets(nil)
	e := newEnv(t, envOptions{credentials: creds, wrapDir: func(d directory.Directory) directory.Directory {
		return frontend.TicketDirectory{Directory: countingDir{d, &checks}, Tickets: tickets}
	}})
	auth := func(code int, enh, user, pass string) {
		t.Helper()
		r := dialRaw(t, e.subs, e.client)
		r.ehlo()
		r.authPlain(code, enh, user, pass)
	}
	for range 3 {
		auth(235, "2.0.0", thanh, thanhPass)
	}
	if n := checks.Load(); n != 1 {
		t.Fatalf("%d password checks for 3 logins, want 1", n)
	}
	auth(535, "5.7.8", thanh, "sai-mat-khau")
	if n := checks.Load(); n != 2 {
		t.Fatalf("a wrong password was not checked with the directory (%d checks)", n)
	}
	before := creds.Len()
	auth(235, "2.0.0", thanh, tickets.Issue(thanh))
	if creds.Len() != before {
		t.Error("a one-use ticket was remembered")
	}
	if err := e.dir.SetState(context.Background(), thanh, directory.StateLocked); err != nil {
		t.Fatal(err)
	}
	auth(535, "5.7.8", thanh, thanhPass)
}
