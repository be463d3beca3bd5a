package pop3d

import (
	"context"
	"strings"
	"testing"

	"congvu/directory"
)

// A unit's shared mailbox has no login of its own: POP3 refuses it with
// [AUTH] as IMAP does, while officials still log in.
func TestUnitMailboxLoginRefused(t *testing.T) {
	const unit = "skhcn@sokhcn.gov.vn"
	e := newEnv(t, func(_ *Config, d *Deps) { d.NoUnitLogin = true })
	if err := e.dir.PutAccount(context.Background(), directory.Account{Address: unit, UnitCode: "56.skhcn",
		Role: directory.RoleUnit, State: directory.StateActive}, userPass); err != nil {
		t.Fatal(err)
	}
	c := e.dialTLS()
	c.cmd("USER " + unit)
	if l := c.cmd("PASS " + userPass); !strings.HasPrefix(l, "-ERR [AUTH]") || !strings.Contains(l, "Shared/") {
		t.Fatalf("unit login: %q", l)
	}
	c.cmd("USER " + userAddr)
	if l := c.cmd("PASS " + userPass); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("official after a refused unit login: %q", l)
	}
}
