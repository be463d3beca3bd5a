//go:build !linux

package storage

import (
	"errors"
	"os"
	"time"
)

var errNoAnonymous = errors.New("unnamed files (O_TMPFILE) are not available on this system")

// createAnonymous is Linux only; elsewhere the spool uses named files.
func createAnonymous(string) (*os.File, error) { return nil, errNoAnonymous }

func linkAnonymous(*os.File, string) error { return errNoAnonymous }

func setFileTimes(f *os.File, nsec int64) error {
	t := time.Unix(0, nsec)
	return os.Chtimes(f.Name(), t, t)
}
