//go:build linux

package storage

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// createAnonymous creates an unnamed file in dir (open(2) O_TMPFILE): it
// has no directory entry until linkAnonymous gives it one, so a crash
// before that leaves nothing to clean up, and creating it takes no lock on
// dir (issue 16: with a hundred SMTP sessions, creating and removing named
// files in the one spool directory was a tenth of the server's CPU, most
// of it the kernel waiting on that directory's lock).
func createAnonymous(dir string) (*os.File, error) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, &os.PathError{Op: "open O_TMPFILE", Path: dir, Err: err}
	}
	return os.NewFile(uintptr(fd), dir), nil
}

// linkAnonymous gives f (from createAnonymous, or already linked by this
// call) the name dst, never replacing an existing file; it can be called
// once for every folder the message goes to. linkat(2) with AT_EMPTY_PATH
// links the descriptor itself; it needs CAP_DAC_READ_SEARCH (a root
// process, as in the tests) on kernels before 6.10, so an unprivileged
// congvu on those falls back to the path through /proc/self/fd that
// open(2) documents for O_TMPFILE files. The first is about 10 µs
// cheaper per message (procfs resolves that path on every call).
func linkAnonymous(f *os.File, dst string) error {
	err := unix.Linkat(int(f.Fd()), "", unix.AT_FDCWD, dst, unix.AT_EMPTY_PATH)
	if err == unix.ENOENT || err == unix.EPERM {
		return linkThroughProc(f, dst)
	}
	if err != nil {
		return &os.LinkError{Op: "link", Old: f.Name(), New: dst, Err: err}
	}
	return nil
}

// linkThroughProc is linkAnonymous for a process without the capability.
func linkThroughProc(f *os.File, dst string) error {
	src := "/proc/self/fd/" + strconv.FormatUint(uint64(f.Fd()), 10)
	if err := unix.Linkat(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.AT_SYMLINK_FOLLOW); err != nil {
		return &os.LinkError{Op: "link", Old: f.Name(), New: dst, Err: err}
	}
	return nil
}

// setFileTimes sets f's access and modification times through its
// descriptor (the file may have no name).
func setFileTimes(f *os.File, nsec int64) error {
	tv := unix.NsecToTimeval(nsec)
	if err := unix.Futimes(int(f.Fd()), []unix.Timeval{tv, tv}); err != nil {
		return &os.PathError{Op: "futimes", Path: f.Name(), Err: err}
	}
	return nil
}
