package server

import (
	"context"

	"congvu/directory"
	"congvu/policy"
)

// coverageOf adds to access reports the accounts issued against the
// units' headcounts recorded in the organisation store (`congvu unit
// set-headcount`, the import's bien_che column); nil without a store.
func coverageOf(dir directory.Writer) func(context.Context, *policy.AccessReport) error {
	org := OrgDB(dir)
	if org == nil {
		return nil
	}
	return func(ctx context.Context, r *policy.AccessReport) error {
		hc, err := org.Headcounts(ctx)
		if err != nil {
			return err
		}
		return policy.AddCoverage(ctx, r, dir, hc)
	}
}
