package server

import (
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
	return provision.New(provision.Config{WorkingDays: cfg.Requests.WorkingDays, Calendar: cal, Domains: cfg.Server.LocalDomains},
		provision.Deps{Dir: dir, Org: org, Audit: audit, States: states, Reorg: reorganiser, Log: log}), nil
}
