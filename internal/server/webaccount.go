package server

import (
	"context"

	"congvu/directory"
	"congvu/policy"
	"congvu/web/account"
)

// webForwarding gives the settings page the policy engine's forwarding,
// which checks targets (state domains only) and audits every change.
type webForwarding struct{ e *policy.Engine }

var _ account.Forwarding = webForwarding{}

func (f webForwarding) Forward(ctx context.Context, address string) (string, error) {
	return f.e.Forwarding().Get(ctx, address)
}

func (f webForwarding) SetForward(ctx context.Context, actor string, a *directory.Account, target string) error {
	return f.e.Forwarding().Set(ctx, actor, a, target)
}

func (f webForwarding) ClearForward(ctx context.Context, actor, address string) error {
	return f.e.Forwarding().Clear(ctx, actor, address)
}
