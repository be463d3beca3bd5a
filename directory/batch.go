package directory

import (
	"context"
	"fmt"
	"runtime"
	"sync"
)

// AccountWrite is one PutAccount call of a batch.
type AccountWrite struct {
	Account  Account
	Password string // "" keeps the stored password
}

// PutAccounts writes accounts with one worker per CPU, because backends hash
// passwords with a KDF and that dominates seeding or importing a province.
// It stops at the first error and returns it.
func PutAccounts(ctx context.Context, w Writer, writes []AccountWrite) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for i := range jobs {
				if ctx.Err() != nil {
					continue // drain: another worker failed
				}
				if err := w.PutAccount(ctx, writes[i].Account, writes[i].Password); err != nil {
					cancel(fmt.Errorf("account %s: %w", writes[i].Account.Address, err))
				}
			}
		})
	}
feed:
	for i := range writes {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	return context.Cause(ctx)
}
