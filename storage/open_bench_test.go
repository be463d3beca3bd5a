package storage

import (
	"context"
	"testing"
)

// BenchmarkOpenUser opens an existing, closed mailbox: what the first
// RCPT TO (quota check) or LOGIN of a user costs after the index was closed
// for idleness or after a restart.
func BenchmarkOpenUser(b *testing.B) {
	s, _ := newStore(b)
	ctx := context.Background()
	mb := mailboxOf(b, s, testUser)
	appendMsg(b, mb, Inbox, testMsg("open", "x"))
	b.ReportAllocs()
	for b.Loop() {
		s.evictIdle(0)
		mb, err := s.Mailbox(ctx, testUser, 0)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := mb.Quota(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
