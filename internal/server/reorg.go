package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"congvu/carddav"
	"congvu/directory"
	"congvu/internal/config"
	"congvu/policy"
	"congvu/reorg"
	"congvu/sieve"
	"congvu/storage"
	"congvu/web/admin"
	"congvu/web/webdb"
)

// ReorgStores are the per-account stores a reorganisation renames beside
// the directory and the mail store.
type ReorgStores struct {
	Policy *policy.DB
	Sieve  *sieve.Store
	Web    *webdb.DB
}

// NewReorg assembles the reorganisation service over an opened directory
// (OpenDirectory) and mail store. sessions may be nil (no server in this
// process).
func NewReorg(cfg config.Config, dir directory.Writer, mail *storage.FileStore, st ReorgStores,
	sessions reorg.SessionEnder, log *slog.Logger) (*reorg.Service, error) {
	org := OrgDB(dir)
	if org == nil {
		return nil, fmt.Errorf("reorganisation: the directory has no organisation store")
	}
	stores := []reorg.AddressStore{st.Policy}
	if st.Sieve != nil {
		stores = append(stores, st.Sieve)
	}
	if st.Web != nil {
		stores = append(stores, st.Web)
	}
	personal, err := carddav.OpenPersonal(cfg.Path(cfg.AddressBook.PersonalPath), cfg.AddressBook.MaxPersonalContacts)
	if err != nil {
		return nil, err
	}
	stores = append(stores, personal)
	deps := reorg.Deps{Dir: dir, Org: org, Stores: stores, Audit: st.Policy, Sessions: sessions, Log: log}
	if mail != nil {
		deps.Mail = mail
	}
	return reorg.New(reorg.Config{TransitionalMonths: cfg.Directory.TransitionalMonths}, deps), nil
}

// startReorg runs the reorganisation worker: jobs handed over by admin
// commands, and the expiry of transitional addresses.
func startReorg(cfg config.Config, r *Running, web *webdb.DB, log *slog.Logger) error {
	svc, err := NewReorg(cfg, r.Dir, r.Store, ReorgStores{Policy: r.Policy.DB(), Sieve: r.Sieve, Web: web}, r.Policy, log)
	if err != nil {
		return err
	}
	r.Reorg = svc
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.Worker(ctx, time.Second)
	}()
	r.closers = append(r.closers, func() error { cancel(); <-done; return nil })
	return nil
}

// orgRecords is the organisation store for the admin web, nil (hiding
// what needs it) when the directory has none.
func orgRecords(dir directory.Writer) admin.OrgRecords {
	if org := OrgDB(dir); org != nil {
		return org
	}
	return nil
}
