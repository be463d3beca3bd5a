package sieve

import (
	"context"

	"congvu/internal/durable"
)

// RenameAddress moves a user's scripts and vacation records to the
// account's new primary address (a transfer or a reorganisation).
func (s *Store) RenameAddress(_ context.Context, old, new string) error {
	src, err := s.userDir(old)
	if err != nil {
		return err
	}
	dst, err := s.userDir(new)
	if err != nil {
		return err
	}
	// The new address has no scripts yet (MoveDir refuses otherwise);
	// locking only the old one avoids taking one stripe twice.
	defer s.lock(old)()
	return durable.MoveDir(src, dst)
}
