package sqldir

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"congvu/internal/mailerr"
)

// TestLoginBurstHashesAFewAtATime: logins wait for one of the per-CPU
// hashing slots (each argon2id needs 19 MiB), a burst larger than the
// slots still gets every answer right, and a login whose client gave up
// while every slot stayed busy is answered "directory unavailable" instead
// of being hashed.
func TestLoginBurstHashesAFewAtATime(t *testing.T) {
	d, _ := open(t, Options{})
	ctx := context.Background()
	const pw = "Khanh-Hoa#2025a"
	if err := d.PutAccount(ctx, account("thanhnn.skhcn@khanhhoa.gov.vn"), pw); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := range 3 * cap(d.kdfSlots) {
		wg.Go(func() {
			p := pw
			if i%2 == 1 {
				p = "wrong"
			}
			_, err := d.Authenticate(ctx, "thanhnn.skhcn@khanhhoa.gov.vn", p)
			if (err == nil) != (i%2 == 0) {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d logins got the wrong answer", failed.Load())
	}

	for range cap(d.kdfSlots) {
		d.kdfSlots <- struct{}{} // every CPU busy
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err := d.Authenticate(short, "thanhnn.skhcn@khanhhoa.gov.vn", pw)
	if !errors.Is(err, mailerr.ErrDirectoryUnavailable) {
		t.Errorf("login while all slots stay busy: %v, want directory unavailable", err)
	}
}
