package reorg

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"congvu/directory"
	"congvu/directory/orgdb"
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
	ops = append(ops, struct {
		kind string
		args Args
	}{KindDomainAliasAdd, Args{Old: "ninhthuan.gov.vn", New: domain}})
	for _, op := range ops {
		t.Run(op.kind, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			// An official of the old province whose local part is taken at
			// the new domain: the plan gives the next variant and says so.
			if err := e.dir.PutAccount(ctx, directory.Account{Address: "hoalt.snv@ninhthuan.gov.vn", DisplayName: "Lê Thị Hòa",
				UnitCode: "56.snv"}, "Ninh-Thuan#2025"); err != nil {
				t.Fatal(err)
			}
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
			if op.kind == KindDomainAliasAdd && (len(p.Notes) == 0 || !strings.Contains(p.Notes[0], "hoalt.snv@ninhthuan.gov.vn")) {
				t.Errorf("the preview does not say hoalt.snv@%s was taken: %q", domain, p.Notes)
			}
			for _, n := range p.Notes {
				if !slices.Contains(res.Notes, n) {
					t.Errorf("the preview's note %q is not the run's %q", n, res.Notes)
				}
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

// The plan checks everything the run would refuse, so a preview never
// shows an operation that then fails; a run confirmed against a plan that
// no longer holds is refused and writes nothing; a run confirmed against
// the current plan makes exactly its changes.
func TestPlanRefusalsAndConfirmation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.Run(ctx, KindDomainAliasAdd, "admin", Args{Old: "ninhthuan.gov.vn", New: domain}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Preview(ctx, KindDomainAliasAdd, Args{Old: domain, New: "ninhthuan.gov.vn"}); !errors.Is(err, orgdb.ErrDomainAlias) {
		t.Errorf("preview of a chain of domain aliases: %v", err)
	}
	if _, err := e.svc.Preview(ctx, KindDomainAliasRemove, Args{Old: "hue.gov.vn"}); !errors.Is(err, ErrReorg) {
		t.Errorf("preview of removing an alias that does not exist: %v", err)
	}
	if _, err := e.svc.Preview(ctx, KindDomainAliasRemove, Args{Old: "ninhthuan.gov.vn"}); err != nil {
		t.Errorf("preview of removing the alias: %v", err)
	}

	args := Args{From: "22369", Into: "22366"}
	shown, err := e.svc.Preview(ctx, KindMergeUnits, args)
	if err != nil {
		t.Fatal(err)
	}
	if shown.Plan == "" {
		t.Fatal("a preview without its plan's digest")
	}
	// Someone takes the address the plan gives Đỗ Văn Đức.
	var planned string
	for _, c := range shown.Changes {
		if c.OldAddress == "ducdv.bacnhatrang@"+domain {
			planned = c.NewAddress
		}
	}
	if err := e.dir.PutAccount(ctx, directory.Account{Address: planned, DisplayName: "Đỗ Văn Đức", UnitCode: "22366"}, "Khanh-Hoa#2025a"); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, e)
	args.Plan = shown.Plan
	if _, err := e.svc.Run(ctx, KindMergeUnits, "admin", args); !errors.Is(err, ErrPlanChanged) {
		t.Fatalf("a run confirmed against a stale plan: %v", err)
	}
	if after := snapshot(t, e); !slices.Equal(before, after) {
		t.Fatalf("the refused run changed the directory")
	}
	again, err := e.svc.Preview(ctx, KindMergeUnits, Args{From: "22369", Into: "22366"})
	if err != nil || again.Plan == shown.Plan {
		t.Fatalf("new preview: %v, digest unchanged %v", err, again != nil && again.Plan == shown.Plan)
	}
	args.Plan = again.Plan
	res, err := e.svc.Run(ctx, KindMergeUnits, "admin", args)
	if err != nil {
		t.Fatal(err)
	}
	if want, got := changes(again), changes(res); !slices.Equal(want, got) {
		t.Errorf("run %v\nplan %v", got, want)
	}
}
