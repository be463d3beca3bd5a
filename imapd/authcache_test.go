package imapd

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"congvu/directory"

	"github.com/emersion/go-imap/v2"
)

// kdfCounter counts the password checks that reach the directory.
type kdfCounter struct {
	directory.Directory
	n *atomic.Int32
}

func (d kdfCounter) Authenticate(ctx context.Context, login, password string) (*directory.Account, error) {
	d.n.Add(1)
	return d.Directory.Authenticate(ctx, login, password)
}

// A client that reconnects logs in without a second password check, and
// a password change or a lock is seen at the next LOGIN.
func TestLoginCredentialCache(t *testing.T) {
	var checks atomic.Int32
	e := newEnv(t, func(_ *Config, d *Deps) { d.Dir = kdfCounter{d.Dir, &checks} })
	login := func(pass string) error {
		c := e.dial(true, nil)
		defer c.Close()
		return c.Login(userAddr, pass).Wait()
	}
	for i := range 3 {
		if err := login(userPass); err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
	}
	if checks.Load() != 1 {
		t.Fatalf("%d password checks for 3 logins, want 1", checks.Load())
	}
	if err := login("sai mật khẩu"); imapCode(err) != imap.ResponseCodeAuthenticationFailed || checks.Load() != 2 {
		t.Fatalf("wrong password: %v (checks %d)", err, checks.Load())
	}
	time.Sleep(5 * time.Millisecond)
	const newPass = "Mật-khẩu-mới-đủ-dài-9"
	if err := e.dir.SetPassword(context.Background(), userAddr, newPass, false); err != nil {
		t.Fatal(err)
	}
	if err := login(userPass); imapCode(err) != imap.ResponseCodeAuthenticationFailed {
		t.Fatalf("old password after a change: %v", err)
	}
	if err := login(newPass); err != nil {
		t.Fatal(err)
	}
	if err := e.dir.SetState(context.Background(), userAddr, directory.StateLocked); err != nil {
		t.Fatal(err)
	}
	if err := login(newPass); imapCode(err) != imap.ResponseCodeContactAdmin {
		t.Fatalf("locked account: %v", err)
	}
}

// CredentialCacheTTL < 0 turns the cache off.
func TestLoginCredentialCacheOff(t *testing.T) {
	var checks atomic.Int32
	e := newEnv(t, func(c *Config, d *Deps) { d.Dir = kdfCounter{d.Dir, &checks}; c.CredentialCacheTTL = -1 })
	for range 2 {
		c := e.dial(true, nil)
		if err := c.Login(userAddr, userPass).Wait(); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	if checks.Load() != 2 {
		t.Fatalf("%d password checks, want 2", checks.Load())
	}
}
