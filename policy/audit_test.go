package policy

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// A unit administrator's audit view asks for the entries of the unit's
// accounts: a department may have more accounts than SQLite takes as
// parameters, an empty unit must see nothing, and no list means no limit.
func TestAuditSubjects(t *testing.T) {
	db, err := OpenDB(filepath.Join(t.TempDir(), "policy.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	if err := db.AppendAudit(ctx,
		AuditEntry{At: at, Actor: ActorPolicy, Subject: thanh, Action: ActionLock, Rule: RuleLockout},
		AuditEntry{At: at.Add(time.Minute), Actor: ActorPolicy, Subject: duc, Action: ActionLock, Rule: RuleLockout},
		AuditEntry{At: at.Add(2 * time.Minute), Actor: ActorPolicy, Subject: "203.0.113.9", Action: ActionDefer, Rule: RuleIPThrottle},
	); err != nil {
		t.Fatal(err)
	}
	many := []string{"THANHNN.SKHCN@" + domain} // matched without regard to case
	for i := range 40000 {
		many = append(many, fmt.Sprintf("cv%05d.skhcn@%s", i, domain))
	}
	for _, tc := range []struct {
		name string
		q    AuditQuery
		want []string
	}{
		{"no list", AuditQuery{}, []string{"203.0.113.9", duc, thanh}},
		{"empty list", AuditQuery{Subjects: []string{}}, nil},
		{"unit accounts", AuditQuery{Subjects: many}, []string{thanh}},
		{"with a subject outside", AuditQuery{Subjects: many, Subject: duc}, nil},
		{"with a subject inside", AuditQuery{Subjects: many, Subject: thanh, Action: ActionLock}, []string{thanh}},
	} {
		list, err := db.Audit(ctx, tc.q)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []string
		for _, e := range list {
			got = append(got, e.Subject)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: subjects %v, want %v", tc.name, got, tc.want)
		}
	}
}
