package smtpd

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"congvu/directory"
)

// unitClerk lets thanh write as the unit mailbox unitBox, as the sharing
// service does for the unit's clerks.
type unitClerk struct{}

const unitBox = "skhcn@" + domain

func (unitClerk) MaySendAs(_ context.Context, a *directory.Account, address string) bool {
	return a.Address == thanh && address == unitBox
}

// A clerk sends as the unit's shared mailbox (MAIL FROM and From); the
// message names the clerk in Sender (RFC 5322 3.6.2). Nobody else may.
func TestSendAsUnitMailbox(t *testing.T) {
	e := newEnv(t, envOptions{sendAs: unitClerk{}})
	send := func(user, pass, from string) error {
		c, err := smtp.DialStartTLS(e.sub, e.client)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Auth(sasl.NewPlainClient("", user, pass)); err != nil {
			t.Fatal(err)
		}
		return c.SendMail(from, []string{mai}, bytes.NewReader(message(from, mai, "Công văn đi số 5", "Kính gửi")))
	}
	if err := send(thanh, thanhPass, unitBox); err != nil {
		t.Fatalf("clerk sending as the unit: %v", err)
	}
	got := e.inbox(mai)
	if len(got) != 1 || !strings.Contains(string(got[0]), "Sender: "+thanh+"\r\n") {
		t.Fatalf("delivered: %q", got)
	}
	if err := send(mai, maiPass, unitBox); err == nil || !strings.Contains(err.Error(), "553") {
		t.Fatalf("another official sending as the unit: %v", err)
	}
}
