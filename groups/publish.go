package groups

import (
	"context"
	"fmt"
	"time"

	"congvu/directory/orgdb"
	"congvu/policy"
)

// Withhold changes a danh bạ publishing control (on: withhold the
// attribute; off: publish it again), after checking that the account or
// unit exists, and records it in the audit log. It lives beside the
// group changes because both are the same kind of administration of the
// orgdb store, made by the CLI and the admin web alike; the published
// snapshot (package addressbook) sees the change on its next request.
func (ad *Admin) Withhold(ctx context.Context, w orgdb.Withheld, on bool, who Actor) error {
	subject := w.Key
	switch w.Scope {
	case orgdb.ScopeAccount:
		a, err := ad.Dir.Lookup(ctx, w.Key)
		if err != nil {
			return fmt.Errorf("%s: %w", w.Key, err)
		}
		w.Key, subject = a.Address, a.Address
	case orgdb.ScopeUnit:
		if err := ad.checkUnit(ctx, w.Key); err != nil {
			return err
		}
		subject = "unit:" + w.Key
	}
	w.Actor = who.Name
	changed, err := ad.Org.SetWithheld(ctx, w, on)
	if err != nil || !changed || ad.Audit == nil {
		return err
	}
	before, after := "công bố / published", "không công bố / withheld"
	if !on {
		before, after = after, before
	}
	return ad.Audit.AppendAudit(ctx, policy.AuditEntry{At: time.Now(), Actor: who.Name, Subject: subject,
		Action: policy.ActionPublication, IP: who.IP,
		Detail: fmt.Sprintf("%s %s: %s → %s", w.Scope, w.Attribute, before, after)})
}

// WithheldLabel names an attribute in words.
func WithheldLabel(attr string) string {
	switch attr {
	case orgdb.AttrPhone:
		return "điện thoại / phone"
	case orgdb.AttrTitle:
		return "chức vụ / title"
	case orgdb.AttrEntry:
		return "ẩn khỏi danh bạ / hidden"
	}
	return attr
}
