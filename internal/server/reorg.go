package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"congvu/carddav"
	"congvu/directory"
	"congvu/directory/orgdb"
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

// oldAddressHooks are the policy hooks smtpd calls, with the follower of
// mail to old addresses after the engine's own delivery hook.
type oldAddressHooks struct {
	policy.Hooks
	old *reorg.OldAddresses
}

func (h oldAddressHooks) Delivered(ctx context.Context, m *policy.Message) {
	h.Hooks.Delivered(ctx, m)
	h.old.Delivered(ctx, m)
}

// followOldAddresses starts the follower of mail to old addresses (counts
// per sender for the traffic report, the optional notice) and returns
// the hooks smtpd calls; hooks unchanged without an organisation store.
func followOldAddresses(cfg config.Config, r *Running, mp *mailParts, hooks policy.Hooks, log *slog.Logger) policy.Hooks {
	org := OrgDB(r.Dir)
	if org == nil {
		return hooks
	}
	old := reorg.NewOldAddresses(reorg.NoticeConfig{Notify: cfg.Directory.OldAddressNotice,
		Period: time.Duration(cfg.Directory.OldAddressNoticeDays) * 24 * time.Hour, Hostname: cfg.Server.Hostname},
		org, systemSender(cfg, r, mp), log, nil)
	r.closers = append(r.closers, old.Close)
	return oldAddressHooks{Hooks: hooks, old: old}
}

// webOldAddresses adapts the organisation store to the admin web's report
// of mail to old addresses.
type webOldAddresses struct{ org *orgdb.DB }

// newWebOldAddresses is nil (no page) without an organisation store.
func newWebOldAddresses(dir directory.Directory) admin.OldAddressTraffic {
	if org := OrgDB(dir); org != nil {
		return webOldAddresses{org: org}
	}
	return nil
}

func (w webOldAddresses) TrafficByDomain(ctx context.Context, from, to time.Time, step int) ([]admin.DomainTraffic, error) {
	list, err := w.org.TrafficByDomain(ctx, from, to, step)
	if err != nil {
		return nil, err
	}
	out := make([]admin.DomainTraffic, len(list))
	for i, d := range list {
		out[i] = admin.DomainTraffic{Domain: d.Domain, Alias: d.Alias, Messages: d.Messages, Senders: d.Senders, Addresses: d.Addresses}
		for _, p := range d.Periods {
			out[i].Periods = append(out[i].Periods, admin.TrafficPeriod{From: p.From, Messages: p.Messages, Senders: p.Senders})
		}
	}
	return out, nil
}
