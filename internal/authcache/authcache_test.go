package authcache

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"congvu/directory"
	"congvu/directory/sqldir"
	"congvu/internal/mailerr"
)

// countingDir counts the password checks that reach the directory.
type countingDir struct {
	directory.Directory
	auths int
}

func (d *countingDir) Authenticate(ctx context.Context, login, password string) (*directory.Account, error) {
	d.auths++
	return d.Directory.Authenticate(ctx, login, password)
}

// noStamp hides PasswordChanged, as Active Directory's mapping does.
type noStamp struct{ directory.Directory }

func (d noStamp) Authenticate(ctx context.Context, login, password string) (*directory.Account, error) {
	a, err := d.Directory.Authenticate(ctx, login, password)
	if a != nil {
		a.PasswordChanged = time.Time{}
	}
	return a, err
}

func (d noStamp) Lookup(ctx context.Context, address string) (*directory.Account, error) {
	a, err := d.Directory.Lookup(ctx, address)
	if a != nil {
		a.PasswordChanged = time.Time{}
	}
	return a, err
}

func TestCacheSkipsKDFAndForgetsChanges(t *testing.T) {
	db, err := sqldir.Open(filepath.Join(t.TempDir(), "d.db"), sqldir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	const addr, pass = "an@x.vn", "Mật-khẩu-đủ-dài-1"
	if err := db.PutAccount(ctx, directory.Account{Address: addr, State: directory.StateActive}, pass); err != nil {
		t.Fatal(err)
	}
	d := &countingDir{Directory: db}
	c := New(time.Minute, 100)
	for i := range 3 {
		a, cached, err := c.Authenticate(ctx, d, "AN@x.vn", pass)
		if err != nil || a.Address != addr || cached != (i > 0) {
			t.Fatalf("login %d: %v cached=%v %v", i, a, cached, err)
		}
	}
	if d.auths != 1 {
		t.Fatalf("%d password checks, want 1", d.auths)
	}
	// A wrong password is never answered from the cache.
	if _, cached, err := c.Authenticate(ctx, d, addr, "sai"); cached || !errors.Is(err, mailerr.ErrAuthFailed) {
		t.Fatalf("wrong password: cached=%v %v", cached, err)
	}
	// A password change or a lock makes the old entry useless.
	time.Sleep(10 * time.Millisecond) // password_changed has its own timestamp
	if err := db.SetPassword(ctx, addr, "Mật-khẩu-mới-2!", false); err != nil {
		t.Fatal(err)
	}
	if _, cached, err := c.Authenticate(ctx, d, addr, pass); cached || err == nil {
		t.Fatalf("old password after a change: cached=%v %v", cached, err)
	}
	c.Authenticate(ctx, d, addr, "Mật-khẩu-mới-2!")
	if err := db.SetState(ctx, addr, directory.StateLocked); err != nil {
		t.Fatal(err)
	}
	if _, cached, err := c.Authenticate(ctx, d, addr, "Mật-khẩu-mới-2!"); cached || !errors.Is(err, mailerr.ErrAccountDisabled) {
		t.Fatalf("after a lock: cached=%v %v", cached, err)
	}
	// A directory that does not record password changes is never cached.
	blind := &countingDir{Directory: noStamp{db}}
	db.SetState(ctx, addr, directory.StateActive)
	for range 2 {
		if _, cached, err := c.Authenticate(ctx, blind, addr, "Mật-khẩu-mới-2!"); cached || err != nil {
			t.Fatalf("account without PasswordChanged: cached=%v %v", cached, err)
		}
	}
	if blind.auths != 2 {
		t.Fatalf("%d password checks without PasswordChanged, want 2", blind.auths)
	}
	// Allow is asked before an entry is made and before it is used.
	allow := true
	gated := New(time.Minute, 100)
	gated.Allow = func(context.Context, string) (bool, error) { return allow, nil }
	gd := &countingDir{Directory: db}
	gated.Authenticate(ctx, gd, addr, "Mật-khẩu-mới-2!")
	allow = false
	if _, cached, _ := gated.Authenticate(ctx, gd, addr, "Mật-khẩu-mới-2!"); cached {
		t.Fatal("entry used after Allow turned false")
	}
	if _, cached, _ := gated.Authenticate(ctx, gd, addr, "Mật-khẩu-mới-2!"); cached || gd.auths != 3 {
		t.Fatalf("entry made while Allow is false (cached=%v, %d checks)", cached, gd.auths)
	}
	// Entries expire.
	short := New(time.Millisecond, 100)
	short.Authenticate(ctx, d, addr, pass)
	time.Sleep(5 * time.Millisecond)
	if _, cached, _ := short.Authenticate(ctx, d, addr, pass); cached {
		t.Fatal("expired entry used")
	}
}
