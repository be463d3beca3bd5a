package orgdb

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"congvu/directory"
)

func TestHeadcount(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "org.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for _, step := range []struct {
		code string
		n    int
	}{{"56.skhcn", 40}, {"22366", 12}, {"56.skhcn", 42}, {"22366", 0}} {
		if err := db.SetHeadcount(ctx, step.code, step.n, "op"); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Headcounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got["56.skhcn"] != 42 {
		t.Errorf("headcounts %v, want 56.skhcn=42 only", got)
	}
	if err := db.SetHeadcount(ctx, "56.skhcn", -1, "op"); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("negative headcount: %v", err)
	}
}
