package groups_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"congvu/directory"
	"congvu/directory/orgdb"
	"congvu/groups"
	"congvu/internal/mailerr"
	"congvu/policy"
	"congvu/web/webtest"
)

const dom = "khanhhoa.gov.vn"

type auditLog struct{ entries []policy.AuditEntry }

func (a *auditLog) AppendAudit(_ context.Context, es ...policy.AuditEntry) error {
	a.entries = append(a.entries, es...)
	return nil
}

func setup(t *testing.T) (*groups.Admin, *groups.Expander, *auditLog) {
	t.Helper()
	dir := webtest.Seed(t, 0)
	org, err := orgdb.Open(filepath.Join(t.TempDir(), "org.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { org.Close() })
	log := &auditLog{}
	ad := &groups.Admin{Dir: dir, Org: org, Audit: log, LocalDomains: []string{dom}}
	return ad, groups.New(dir, org, func(d string) bool { return strings.HasSuffix(d, ".gov.vn") }, nil), log
}

func addresses(as []*directory.Account) []string {
	var out []string
	for _, a := range as {
		out = append(out, strings.Split(a.Address, "@")[0])
	}
	slices.Sort(out)
	return out
}

func TestUnitGroupMembersFromTheDirectory(t *testing.T) {
	ad, x, _ := setup(t)
	ctx := t.Context()
	who := groups.Actor{Name: "quantri@" + dom, IP: "192.0.2.7"}
	if err := ad.Create(ctx, orgdb.Group{Address: "toanthe.skhcn@" + dom, Name: "Toàn thể Sở KH&CN", Kind: orgdb.GroupUnit,
		UnitCode: "56.skhcn", Policy: orgdb.PolicyUnit}, who); err != nil {
		t.Fatal(err)
	}
	e, ok, err := x.Expand(ctx, "TOANTHE.skhcn@"+dom, "anv.skhcn@"+dom)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	// The unit's own mailbox and the retired official are not members;
	// the locked one still receives; the sub-unit's official is not in.
	if got, want := addresses(e.Members), []string{"anv.skhcn", "thanhnn.skhcn"}; !slices.Equal(got, want) {
		t.Errorf("members %q, want %q", got, want)
	}
	// The division's official may not send (sub-units not chosen)...
	if _, _, err := x.Expand(ctx, "toanthe.skhcn@"+dom, "duclv.vanphong.skhcn@"+dom); !errors.Is(err, groups.ErrUnitOnly) {
		t.Errorf("sub-unit sender without sub-units: %v", err)
	}
	// ...until the administrator includes the sub-units.
	g, _ := ad.Org.GetGroup(ctx, "toanthe.skhcn@"+dom)
	g.SubUnits = true
	if err := ad.Update(ctx, *g, who); err != nil {
		t.Fatal(err)
	}
	e, _, err = x.Expand(ctx, "toanthe.skhcn@"+dom, "duclv.vanphong.skhcn@"+dom)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := addresses(e.Members), []string{"anv.skhcn", "duclv.vanphong.skhcn", "thanhnn.skhcn"}; !slices.Equal(got, want) {
		t.Errorf("with sub-units: members %q, want %q", got, want)
	}
	if _, _, err := x.Expand(ctx, "toanthe.skhcn@"+dom, "tramdt.nhatrang@"+dom); !errors.Is(err, groups.ErrUnitOnly) {
		t.Errorf("another unit's official: %v", err)
	}
	if _, ok, err := x.Expand(ctx, "anv.skhcn@"+dom, ""); ok || err != nil {
		t.Errorf("an account is not a group: %v %v", ok, err)
	}
}

func TestCustomGroupRulesNestingAndAudit(t *testing.T) {
	ad, x, log := setup(t)
	ctx := t.Context()
	who := groups.Actor{Name: "quantri@" + dom, IP: "192.0.2.7"}
	create := func(addr string, pol string, members ...string) error {
		return ad.Create(ctx, orgdb.Group{Address: addr + "@" + dom, Name: addr, Kind: orgdb.GroupCustom, UnitCode: "56.skhcn",
			Policy: pol, Members: members}, who)
	}
	if err := create("lanhdao.skhcn", orgdb.PolicyMembers, "anv.skhcn@"+dom); err != nil {
		t.Fatal(err)
	}
	if err := create("g2", orgdb.PolicyState, "lanhdao.skhcn@"+dom, "tramdt.nhatrang@"+dom); err != nil {
		t.Fatal(err)
	}
	if err := create("g3", orgdb.PolicyAnyone, "g2@"+dom, "anv.skhcn@"+dom); err != nil {
		t.Fatal(err)
	}
	// Refused: an account's address, an unknown member, a loop, a fourth level.
	if err := create("anv.skhcn", orgdb.PolicyAnyone); !errors.Is(err, groups.ErrAddressTaken) {
		t.Errorf("account address taken: %v", err)
	}
	if err := create("g4", orgdb.PolicyAnyone, "khongco@"+dom); err == nil {
		t.Error("unknown member accepted")
	}
	if err := ad.AddMember(ctx, "lanhdao.skhcn@"+dom, "g3@"+dom, who); err == nil || !strings.Contains(err.Error(), "loop") {
		t.Errorf("loop accepted: %v", err)
	}
	if err := create("g4", orgdb.PolicyAnyone, "g3@"+dom); err == nil || !strings.Contains(err.Error(), "deep") {
		t.Errorf("fourth level accepted: %v", err)
	}
	if err := ad.Create(ctx, orgdb.Group{Address: "g@example.com", Name: "g", Kind: orgdb.GroupCustom, Policy: orgdb.PolicyAnyone}, who); err == nil {
		t.Error("group in a foreign domain accepted")
	}

	e, _, err := x.Expand(ctx, "g3@"+dom, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := addresses(e.Members), []string{"anv.skhcn", "tramdt.nhatrang"}; !slices.Equal(got, want) {
		t.Errorf("nested: %q, want %q (each mailbox once)", got, want)
	}
	for _, tc := range []struct {
		group, sender string
		want          *mailerr.Error
	}{
		{"lanhdao.skhcn", "anv.skhcn@" + dom, nil},
		{"lanhdao.skhcn", "tramdt.nhatrang@" + dom, groups.ErrMembersOnly},
		{"lanhdao.skhcn", "", groups.ErrMembersOnly},
		{"g2", "vanthu@bocongan.gov.vn", nil},
		{"g2", "someone@gmail.com", groups.ErrStateOnly},
	} {
		_, _, err := x.Expand(ctx, tc.group+"@"+dom, tc.sender)
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s from %q: %v, want %v", tc.group, tc.sender, err, tc.want)
		}
		if me := mailerr.As(err); me != nil && (me.SMTPCode != 550 || me.Enhanced != [3]int{5, 7, 1}) {
			t.Errorf("%s from %q: %d %v", tc.group, tc.sender, me.SMTPCode, me.Enhanced)
		}
	}

	if err := ad.RemoveMember(ctx, "g2@"+dom, "tramdt.nhatrang@"+dom, who); err != nil {
		t.Fatal(err)
	}
	if err := ad.Remove(ctx, "g3@"+dom, who); err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log.entries {
		if e.Actor != who.Name || e.IP != who.IP || e.Action != policy.ActionGroup {
			t.Errorf("audit entry %+v", e)
		}
		actions = append(actions, e.Subject+": "+e.Detail)
	}
	if len(actions) != 5 || !strings.Contains(actions[3], "(2 → 1)") || !strings.Contains(actions[4], "group removed") {
		t.Errorf("audit:\n%s", strings.Join(actions, "\n"))
	}
}

// After a province merger the group keeps its old-domain address, as every
// account does: mail to lanhdao.skhcn@ninhthuan.gov.vn reaches the group
// at khanhhoa.gov.vn, under the same sending rule.
func TestGroupAtAliasDomain(t *testing.T) {
	ad, x, _ := setup(t)
	ctx := t.Context()
	if err := ad.Create(ctx, orgdb.Group{Address: "toanthe.skhcn@" + dom, Name: "Toàn thể", Kind: orgdb.GroupUnit,
		UnitCode: "56.skhcn", Policy: orgdb.PolicyUnit}, groups.Actor{Name: "test"}); err != nil {
		t.Fatal(err)
	}
	old := "toanthe.skhcn@ninhthuan.gov.vn"
	if _, ok, err := x.Expand(ctx, old, "anv.skhcn@"+dom); ok || err != nil {
		t.Fatalf("before the alias: ok=%v err=%v", ok, err)
	}
	if _, err := ad.Org.AddDomainAlias(ctx, "ninhthuan.gov.vn", dom, "test"); err != nil {
		t.Fatal(err)
	}
	e, ok, err := x.Expand(ctx, old, "anv.skhcn@"+dom)
	if err != nil || !ok || e.Group.Address != "toanthe.skhcn@"+dom || len(e.Members) == 0 {
		t.Fatalf("group at the old domain: %+v ok=%v err=%v", e, ok, err)
	}
	if _, _, err := x.Expand(ctx, old, "someone@example.com"); !errors.Is(err, groups.ErrUnitOnly) {
		t.Errorf("the group's rule at the old domain: %v", err)
	}
	if _, ok, _ := x.Expand(ctx, "khongco.skhcn@ninhthuan.gov.vn", ""); ok {
		t.Error("an unknown address at the old domain became a group")
	}
}
