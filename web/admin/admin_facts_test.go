package admin

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"congvu/directory"
)

type fakeFacts map[string]Facts

func (f fakeFacts) AccountFacts(_ context.Context, a *directory.Account) (Facts, error) {
	return f[a.Address], nil
}

// The account page shows the quota use and the last day of access, or
// that the mailbox has no mail yet and was never accessed.
func TestAccountPageFacts(t *testing.T) {
	day := time.Date(2026, 12, 4, 0, 0, 0, 0, time.FixedZone("ICT", 7*3600))
	facts := fakeFacts{anAddr: {HasMailbox: true, UsedBytes: 1932735283, LimitBytes: 2 << 30, LastAccess: day}}
	e := newWebEnv(t, func(o *testOptions) { o.Facts = facts })
	withAdmins(e)
	b := e.Browser()
	expect(t, b.Login(skhcnAdmin, secretPW), 200)
	expect(t, b.Get("/admin/account?address="+url.QueryEscape(anAddr)), 200, "1,8 GB / 2 GB (90 %)", "04/12/2026")
	r := b.Get("/admin/account?address=" + url.QueryEscape(ducAddr))
	expect(t, r, 200, "chưa có thư", "chưa truy cập")
	if strings.Contains(r.Body, "(90 %)") {
		t.Error("another account's facts shown")
	}
}
