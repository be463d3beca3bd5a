package reorg

import (
	"context"
	"encoding/json"
	"time"

	"congvu/directory/orgdb"
	"congvu/internal/mailerr"
)

// Job kinds: the operations admin commands hand to the running server.
const (
	KindMoveAccount       = "account-move"
	KindMergeUnits        = "unit-merge"
	KindRenameUnit        = "unit-rename"
	KindMoveUnit          = "unit-move"
	KindDissolveUnit      = "unit-dissolve"
	KindDomainAliasAdd    = "domain-alias-add"
	KindDomainAliasRemove = "domain-alias-remove"
)

// Args are a job's arguments (each kind uses some).
type Args struct {
	Address string `json:"address,omitempty"`
	Unit    string `json:"unit,omitempty"`
	Reason  string `json:"reason,omitempty"`
	From    string `json:"from,omitempty"`
	Into    string `json:"into,omitempty"`
	Name    string `json:"name,omitempty"`
	Abbr    string `json:"abbr,omitempty"`
	Parent  string `json:"parent,omitempty"`
	Kind    string `json:"kind,omitempty"`
	Old     string `json:"old,omitempty"`
	New     string `json:"new,omitempty"`
	// Plan is the digest of the plan the administrator confirmed
	// (Result.Plan of the preview); "" runs whatever the plan is now.
	Plan string `json:"plan,omitempty"`
}

// Run carries out one operation: it computes the operation's plan (Plan,
// what Preview shows) and executes exactly its steps.
func (s *Service) Run(ctx context.Context, kind, actor string, a Args) (*Result, error) {
	if kind == KindDissolveUnit {
		return s.DissolveUnit(ctx, actor, a.Unit, a.Reason)
	}
	p, err := s.Plan(ctx, kind, a)
	if err != nil {
		return nil, err
	}
	if a.Plan != "" && a.Plan != p.Digest() {
		s.deps.Log.Info("reorg: confirmed plan changed, refused", "kind", kind, "confirmed", a.Plan, "now", p.Digest())
		return nil, ErrPlanChanged
	}
	return s.execute(ctx, actor, p)
}

// Worker runs the jobs admin commands enqueue (orgdb.EnqueueJob) every
// `every`, and the expiry of transitional addresses once an hour, until
// ctx ends. Jobs left running by a crash are run again at start.
func (s *Service) Worker(ctx context.Context, every time.Duration) {
	recoverRunning := true
	var lastExpiry time.Time
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for {
			j, err := s.deps.Org.ClaimJob(ctx, recoverRunning)
			if err != nil {
				s.deps.Log.Error("reorg: reading jobs", "err", err)
				break
			}
			if j == nil {
				break
			}
			s.runJob(ctx, j)
		}
		recoverRunning = false
		if now := s.deps.Now(); now.Sub(lastExpiry) >= time.Hour {
			lastExpiry = now
			if n, err := s.ExpireTransitional(ctx); err != nil {
				s.deps.Log.Error("reorg: expiring transitional addresses", "err", err)
			} else if n > 0 {
				s.deps.Log.Info("reorg: transitional addresses expired", "count", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Service) runJob(ctx context.Context, j *orgdb.Job) {
	var a Args
	res, err := &Result{}, json.Unmarshal(j.Args, &a)
	if err == nil {
		res, err = s.Run(ctx, j.Kind, j.Actor, a)
	}
	out, failed := "", err != nil
	if res != nil {
		out = res.String()
	}
	if failed {
		out += describe(err)
		s.deps.Log.Warn("reorg: job failed", "id", j.ID, "kind", j.Kind, "err", err)
	} else {
		s.deps.Log.Info("reorg: job done", "id", j.ID, "kind", j.Kind, "actor", j.Actor)
	}
	if err := s.deps.Org.FinishJob(context.WithoutCancel(ctx), j.ID, out, failed); err != nil {
		s.deps.Log.Error("reorg: recording a job's result", "id", j.ID, "err", err)
	}
}

// describe tells an error in words for the operator (no SMTP codes).
func describe(err error) string {
	me := mailerr.As(err)
	if me == nil {
		return err.Error()
	}
	s := me.MessageVI + " / " + me.Message
	if me.Err != nil {
		s += ": " + me.Err.Error()
	}
	return s
}
