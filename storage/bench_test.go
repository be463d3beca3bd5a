package storage

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// msg10KB is a realistic 10 KB message.
func msg10KB() []byte {
	body := strings.Repeat("Lịch họp giao ban tuần 10 sẽ diễn ra vào 8h00 thứ Hai tại phòng họp số 2.\r\n", 128)
	return []byte(testMsg("bench", body[:10<<10-200]))
}

// BenchmarkDeliver10KB delivers one 10 KB message at a time to one user:
// the latency of a single durable delivery (file fsync, directory fsync,
// index commit).
func BenchmarkDeliver10KB(b *testing.B) {
	s, _ := newStore(b)
	msg := msg10KB()
	rcpts := []Recipient{{User: testUser}}
	mailboxOf(b, s, testUser)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := s.Deliver(context.Background(), bytes.NewReader(msg), rcpts)
		if err != nil || res[0].Err != nil {
			b.Fatal(err, res)
		}
	}
}

// BenchmarkDeliver10KBParallel delivers concurrently to one user (all
// deliveries share a group-commit queue) and to 16 users.
func BenchmarkDeliver10KBParallel(b *testing.B) {
	for _, users := range []int{1, 16} {
		b.Run(fmt.Sprintf("users=%d", users), func(b *testing.B) {
			s, _ := newStore(b)
			msg := msg10KB()
			for i := range users {
				mailboxOf(b, s, fmt.Sprintf("u%d@angiang.gov.vn", i))
			}
			var next atomic.Int64
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					user := fmt.Sprintf("u%d@angiang.gov.vn", next.Add(1)%int64(users))
					res, err := s.Deliver(context.Background(), bytes.NewReader(msg), []Recipient{{User: user}})
					if err != nil || res[0].Err != nil {
						b.Error(err, res)
						return
					}
				}
			})
		})
	}
}

// fillInbox delivers n messages concurrently (group commit keeps it fast).
func fillInbox(b *testing.B, s *FileStore, n int, msg []byte) {
	b.Helper()
	var wg sync.WaitGroup
	work := make(chan struct{})
	for range 32 {
		wg.Go(func() {
			for range work {
				res, err := s.Deliver(context.Background(), bytes.NewReader(msg), []Recipient{{User: testUser}})
				if err != nil || res[0].Err != nil {
					b.Error(err, res)
				}
			}
		})
	}
	for range n {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
}

// BenchmarkMessagesList lists a 10,000-message INBOX (what SELECT and a
// POP3 login cost).
func BenchmarkMessagesList(b *testing.B) {
	s, _ := newStore(b)
	mb := mailboxOf(b, s, testUser)
	fillInbox(b, s, 10000, []byte(testMsg("list", "short body")))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		msgs, err := mb.Messages(ctx, Inbox)
		if err != nil || len(msgs) != 10000 {
			b.Fatal(err, len(msgs))
		}
	}
}

// BenchmarkCached fetches the cached envelope and body structure of a
// multipart message with an attachment (FETCH ENVELOPE BODYSTRUCTURE).
func BenchmarkCached(b *testing.B) {
	s, _ := newStore(b)
	mb := mailboxOf(b, s, testUser)
	raw := readTestMessages(b)["vietnamese.eml"]
	res, err := mb.Append(context.Background(), Inbox, bytes.NewReader(raw), nil, time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c, err := mb.Cached(ctx, Inbox, res.UID)
		if err != nil || c.BodyStructure == nil {
			b.Fatal(err)
		}
	}
}
