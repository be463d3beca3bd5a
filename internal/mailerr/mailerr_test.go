package mailerr

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
)

func TestIsMatchesDerivedCopies(t *testing.T) {
	err := fmt.Errorf("deliver: %w", ErrOverQuota.With(errors.New("used 3 GiB")).WithMessage("Mailbox full for x", ""))
	if !errors.Is(err, ErrOverQuota) {
		t.Fatal("derived copy does not match its sentinel")
	}
	if errors.Is(err, ErrTooBig) {
		t.Fatal("552 5.2.2 matched 552 5.3.4")
	}
	e := As(err)
	if e == nil || e.SMTPCode != 552 || e.MessageVI != ErrOverQuota.MessageVI {
		t.Fatalf("As: %+v", e)
	}
}

// Unknown errors must become temporary and must not leak their text to
// clients (Message), only to logs (Err).
func TestClassifyUnknownIsTemporary(t *testing.T) {
	e := Classify(errors.New("disk I/O error at /var/lib/congvu"))
	if !e.Temporary || e.SMTPCode/100 != 4 || e.Message != ErrInternal.Message || e.Err == nil {
		t.Fatalf("Classify: %+v", e)
	}
}

func TestClassifyStorageFull(t *testing.T) {
	full := &os.PathError{Op: "write", Path: "/var/lib/congvu/mail/x", Err: syscall.ENOSPC}
	for _, err := range []error{full, fmt.Errorf("spooling: %w", full), ErrInternal.With(full), &os.PathError{Err: syscall.EDQUOT}} {
		e := Classify(err)
		if !errors.Is(e, ErrStorageFull) || e.SMTPCode != 452 || e.Enhanced != [3]int{4, 3, 1} || e.IMAPCode != "OVERQUOTA" || !e.Temporary {
			t.Errorf("Classify(%v) = %+v", err, e)
		}
	}
	if e := Classify(ErrOverQuota.With(full)); !errors.Is(e, ErrOverQuota) {
		t.Errorf("a classified error other than internal keeps its class: %v", e)
	}
	if e := Classify(errors.New("boom")); !errors.Is(e, ErrInternal) {
		t.Errorf("other errors stay internal: %v", e)
	}
}
