package server

import (
	"context"
	"fmt"
	"log/slog"

	"congvu/directory"
	"congvu/internal/config"
	"congvu/provision"
)

// NewRequests assembles the provisioning-request service over an opened
// directory (OpenDirectory): the server's for the admin web, an admin
// command's for `congvu request`. reorganiser may be nil (transfers are
// then refused at approval).
func NewRequests(cfg config.Config, dir directory.Writer, audit provision.Auditor, states provision.StateChanger,
	reorganiser provision.Reorganiser, log *slog.Logger) (*provision.Service, error) {
	org := OrgDB(dir)
	if org == nil {
		return nil, fmt.Errorf("provisioning requests: the directory has no organisation store")
	}
	cal, err := provision.NewCalendar(cfg.Requests.Holidays)
	if err != nil {
		return nil, fmt.Errorf("requests.holidays: %w", err)
	}
	seal, err := OpenSealBox(cfg)
	if err != nil {
		return nil, err
	}
	svc := provision.New(provision.Config{WorkingDays: cfg.Requests.WorkingDays, Calendar: cal, Domains: cfg.Server.LocalDomains},
		provision.Deps{Dir: dir, Org: org, Audit: audit, States: states, Reorg: reorganiser, Seal: seal, Log: log})
	// Initial passwords an older congvu kept in clear are sealed now.
	if n, err := svc.SealStoredPasswords(context.Background()); err != nil {
		return nil, fmt.Errorf("provisioning requests: sealing stored initial passwords: %w", err)
	} else if n > 0 {
		log.Info("provisioning requests: initial passwords kept in clear are now sealed", "requests", n)
	}
	return svc, nil
}
