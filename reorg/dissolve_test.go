package reorg

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"congvu/directory"
	"congvu/directory/orgdb"
	"congvu/internal/mailerr"
	"congvu/policy"
)

// sessionsEnded records the accounts whose open sessions were ended.
type sessionsEnded []string

func (s *sessionsEnded) EndSessions(address string, _ *mailerr.Error) int {
	*s = append(*s, address)
	return 1
}

// Dissolving a unit retires every account of it at once (the unit mailbox
// too), ends their sessions, audits each, keeps the mail for retention,
// and hides the unit from the danh bạ; a unit with sub-units is refused.
func TestDissolveUnit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var ended sessionsEnded
	e.svc.deps.Sessions = &ended
	e.deliver("hoalt.snv@"+domain, "ho so")

	if _, err := e.svc.DissolveUnit(ctx, "admin", "56", ""); !errors.Is(err, ErrHasSubUnits) {
		t.Fatalf("dissolving the province with its departments: %v, want ErrHasSubUnits", err)
	}
	if _, err := e.svc.Run(ctx, KindDissolveUnit, "admin", Args{Unit: "56.khongco"}); err == nil {
		t.Fatal("an unknown unit was dissolved")
	}
	res, err := e.svc.Run(ctx, KindDissolveUnit, "admin", Args{Unit: "56.snv", Reason: "Quyết định 99/QĐ-UBND"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("dissolve:\n%s", res)
	for _, address := range []string{"hoalt.snv@" + domain, "snv@" + domain} {
		a := e.lookup(address)
		if a.State != directory.StateRetired || !strings.Contains(a.StateReason, "Quyết định 99/QĐ-UBND") {
			t.Errorf("%s after the dissolution: %s %q", address, a.State, a.StateReason)
		}
	}
	if len(ended) != 2 {
		t.Errorf("sessions ended for %v, want both accounts", ended)
	}
	if n := e.inbox("hoalt.snv@" + domain); n != 1 {
		t.Errorf("mailbox kept for retention: %d messages, want 1", n)
	}
	if a := e.lookup("thanhnn.skhcn@" + domain); a.State != directory.StateActive {
		t.Errorf("another unit's official: %s", a.State)
	}
	if list, _ := e.audit.Audit(ctx, policy.AuditQuery{Action: policy.ActionRetire}); len(list) != 2 {
		t.Errorf("retire audit entries: %+v", list)
	}
	if list, _ := e.audit.Audit(ctx, policy.AuditQuery{Action: policy.ActionDissolve}); len(list) != 1 || list[0].Subject != "56.snv" {
		t.Errorf("dissolve audit entries: %+v", list)
	}
	withheld, err := e.org.WithheldAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hidden := false
	for _, w := range withheld {
		hidden = hidden || (w.Scope == orgdb.ScopeUnit && w.Key == "56.snv" && w.Attribute == orgdb.AttrEntry)
	}
	if !hidden {
		t.Errorf("the dissolved unit is still published: %+v", withheld)
	}
	// Again: nothing left to retire, nothing breaks.
	e.now = e.now.Add(time.Hour)
	if _, err := e.svc.DissolveUnit(ctx, "admin", "56.snv", ""); err != nil {
		t.Fatalf("dissolving again: %v", err)
	}
	if len(ended) != 2 {
		t.Errorf("sessions ended again: %v", ended)
	}
}
