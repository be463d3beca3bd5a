package storage

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// HasMailbox tells whether user's mailbox exists in this store, without
// creating it (Mailbox would): an admin page looking at an account of
// another node, or one that never received mail, must not make one.
func (s *FileStore) HasMailbox(user string) (bool, error) {
	_, domain, local, err := userPath(user)
	if err != nil {
		return false, err
	}
	_, err = os.Stat(filepath.Join(s.userDir(domain, local), indexFile))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// DefaultQuota is the quota of an account whose directory entry sets
// none (Options.DefaultQuotaBytes).
func (s *FileStore) DefaultQuota() int64 { return s.limit(0) }
