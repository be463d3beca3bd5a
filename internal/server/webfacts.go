package server

import (
	"context"

	"congvu/directory"
	"congvu/policy"
	"congvu/storage"
	"congvu/web/admin"
)

// webFacts gives the admin account page the mailbox's quota use (from
// this node's store, never creating a mailbox) and the last day of
// access (the policy engine's access table, flushed first so that
// today's accesses show).
type webFacts struct {
	store *storage.FileStore
	e     *policy.Engine
}

func (f webFacts) AccountFacts(ctx context.Context, a *directory.Account) (admin.Facts, error) {
	out := admin.Facts{LimitBytes: a.QuotaBytes}
	if out.LimitBytes == 0 {
		out.LimitBytes = f.store.DefaultQuota()
	}
	has, err := f.store.HasMailbox(a.Address)
	if err != nil {
		return out, err
	}
	if has {
		mb, err := f.store.Mailbox(ctx, a.Address, a.QuotaBytes)
		if err != nil {
			return out, err
		}
		used, limit, err := mb.Quota(ctx)
		if err != nil {
			return out, err
		}
		out.HasMailbox, out.UsedBytes, out.LimitBytes = true, used, limit
	}
	if err := f.e.Flush(ctx); err != nil {
		return out, err
	}
	day, ok, err := f.e.DB().LastAccess(ctx, a.Address)
	if err != nil {
		return out, err
	}
	if ok {
		out.LastAccess = day.Start(f.e.Location())
	}
	return out, nil
}
