package carddav

import (
	"context"

	"congvu/internal/durable"
)

// RenameAddress moves an official's personal address book to the
// account's new primary address (a transfer or a reorganisation).
func (s *PersonalStore) RenameAddress(_ context.Context, old, new string) error {
	src, err := s.userDir(old)
	if err != nil {
		return err
	}
	dst, err := s.userDir(new)
	if err != nil {
		return err
	}
	return durable.MoveDir(src, dst)
}
