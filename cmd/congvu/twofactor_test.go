package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"congvu/internal/config"
	"congvu/internal/sealbox"
	"congvu/web/twofactor"
	"congvu/web/webdb"
)

// An official who lost both the authenticator and the recovery codes gets
// back in through an operator: `congvu account twofactor-off` needs a
// reason, turns two-step sign-in and the app passwords off, and is
// audited; a second run says it is already off.
func TestAccountTwoFactorOff(t *testing.T) {
	cfgPath := policyConfig(t)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	const who = "thanhnn.skhcn@khanhhoa.gov.vn"
	ctx := context.Background()
	enrol := func() {
		box, err := sealbox.OpenFile(cfg.Path(sealbox.KeyFile))
		if err != nil {
			t.Fatal(err)
		}
		db, err := webdb.Open(cfg.Path(cfg.Web.DBPath))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		tf, err := twofactor.New(db, box, nil)
		if err != nil {
			t.Fatal(err)
		}
		secret, err := tf.Start(ctx, who)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tf.Confirm(ctx, who, twofactor.Code(secret, time.Now())); err != nil {
			t.Fatal(err)
		}
		if _, err := tf.NewAppPassword(ctx, who, "Thunderbird"); err != nil {
			t.Fatal(err)
		}
	}
	enrol()
	var out, errb bytes.Buffer
	if err := run([]string{"account", "twofactor-off", "--config", cfgPath, who}, &out, &errb); err == nil || !strings.Contains(err.Error(), "--reason") {
		t.Errorf("without a reason: %v", err)
	}
	runOK(t, "account", "twofactor-off", "--config", cfgPath, "--reason", "mất điện thoại, đã xác minh qua CCCD", who)
	db, err := webdb.Open(filepath.Join(cfg.Server.DataDir, cfg.Web.DBPath))
	if err != nil {
		t.Fatal(err)
	}
	box, _ := sealbox.OpenFile(cfg.Path(sealbox.KeyFile))
	tf, _ := twofactor.New(db, box, nil)
	if on, err := tf.Enabled(ctx, who); on || err != nil {
		t.Errorf("two-step sign-in still on: %v %v", on, err)
	}
	if apps, err := tf.AppPasswords(ctx, who); len(apps) != 0 || err != nil {
		t.Errorf("app passwords left: %v %v", apps, err)
	}
	db.Close()
	audit := runOK(t, "audit", "--config", cfgPath, "--subject", who, "--action", "twofactor-off")
	if !strings.Contains(audit, "mất điện thoại") || !strings.Contains(audit, "cli:") {
		t.Errorf("audit log:\n%s", audit)
	}
	out.Reset()
	if err := run([]string{"account", "twofactor-off", "--config", cfgPath, "--reason", "x", who}, &out, &errb); !errorsIs(err, twofactor.ErrNotEnabled) {
		t.Errorf("second run: %v", err)
	}
}
