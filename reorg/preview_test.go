package reorg

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"congvu/directory"
)

// The confirmation step's preview lists exactly the changes the
// operation then makes, and writes nothing.
func TestPreviewMatchesRun(t *testing.T) {
	ops := []struct {
		kind string
		args Args
	}{
		{KindMoveAccount, Args{Address: "thanhnn.skhcn@" + domain, Unit: "22366", Reason: "x"}},
		{KindMergeUnits, Args{From: "22369", Into: "22366"}},
		{KindMoveUnit, Args{Unit: "56.skhcn", Parent: "56.snv", Kind: string(directory.UnitDivision)}},
		{KindRenameUnit, Args{Unit: "56.skhcn", Name: "Sở Khoa học, Công nghệ và Truyền thông", Abbr: "skhcntt"}},
	}
	for _, op := range ops {
		t.Run(op.kind, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			before := snapshot(t, e)
			p, err := e.svc.Preview(ctx, op.kind, op.args)
			if err != nil {
				t.Fatal(err)
			}
			if after := snapshot(t, e); !slices.Equal(before, after) {
				t.Fatalf("the preview changed the directory:\n%v\n%v", before, after)
			}
			if len(p.Changes) == 0 {
				t.Fatal("the preview lists no change")
			}
			res, err := e.svc.Run(ctx, op.kind, "admin", op.args)
			if err != nil {
				t.Fatal(err)
			}
			want, got := changes(res), changes(p)
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(want, got) {
				t.Errorf("preview %v\nrun     %v", got, want)
			}
		})
	}
	e := newEnv(t)
	if _, err := e.svc.Preview(context.Background(), KindMergeUnits, Args{From: "22369", Into: "nowhere"}); !errors.Is(err, ErrReorg) {
		t.Errorf("merge into an unknown unit: %v", err)
	}
}

func changes(r *Result) []string {
	var out []string
	for _, c := range r.Changes {
		out = append(out, fmt.Sprintf("%s→%s %s→%s", c.OldAddress, c.NewAddress, c.OldUnit, c.NewUnit))
	}
	return out
}

func snapshot(t *testing.T, e *env) []string {
	all, err := e.dir.Accounts(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range all {
		out = append(out, a.Address+" "+a.UnitCode)
	}
	slices.Sort(out)
	return out
}
