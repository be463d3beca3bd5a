package smtpd

import (
	"context"
	"strings"
	"testing"

	"congvu/directory"
)

// oldDomainDir resolves the old domain of a merged province to the new one,
// as orgdb.Resolver does.
type oldDomainDir struct{ directory.Directory }

func (oldDomainDir) IsAliasDomain(d string) bool { return d == "ninhthuan.gov.vn" }

func (o oldDomainDir) Lookup(ctx context.Context, address string) (*directory.Account, error) {
	return o.Directory.Lookup(ctx, strings.Replace(address, "@ninhthuan.gov.vn", "@"+domain, 1))
}

// ticketLike is a decorating wrapper such as frontend.TicketDirectory or
// twofactor.ProtocolDirectory: it has no IsAliasDomain of its own.
type ticketLike struct{ directory.Directory }

func (w ticketLike) Unwrap() directory.Directory { return w.Directory }

// Mail to the old domain must be accepted behind any wrapper: before
// directory.As, each wrapper needed its own pass-through, and a missing one
// refused the old domain's mail as relaying (found behind nginx's tickets).
func TestAliasDomainAcceptedThroughWrappers(t *testing.T) {
	e := newEnv(t, envOptions{wrapDir: func(d directory.Directory) directory.Directory {
		return ticketLike{ticketLike{oldDomainDir{d}}}
	}})
	r := dialRaw(t, e.mx, nil)
	r.ehlo()
	r.cmd(250, "", "MAIL FROM:<%s>", remote)
	old := strings.Replace(mai, "@"+domain, "@ninhthuan.gov.vn", 1)
	r.cmd(250, "", "RCPT TO:<%s>", old)
	r.cmd(554, "5.7.1", "RCPT TO:<someone@quangnam.gov.vn>")
	r.data(250, "", []byte("From: <"+remote+">\r\nTo: <"+old+">\r\nSubject: old domain\r\n\r\nstill delivers\r\n"))
	if got := e.inbox(mai); len(got) != 1 {
		t.Fatalf("%d messages in the inbox after mail to the old domain, want 1", len(got))
	}
}
