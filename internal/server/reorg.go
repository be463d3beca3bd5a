package server

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"congvu/carddav"
	"congvu/directory"
	"congvu/directory/orgdb"
	"congvu/internal/config"
	"congvu/msgauth"
	"congvu/policy"
	"congvu/reorg"
	"congvu/sieve"
	"congvu/storage"
	"congvu/web/admin"
	"congvu/web/danhba"
	"congvu/web/webdb"
)

// ReorgStores are the per-account stores a reorganisation renames beside
// the directory and the mail store.
type ReorgStores struct {
	Policy *policy.DB
	Sieve  *sieve.Store
	Web    *webdb.DB
	// DKIM is the running server's signer, reloaded when a domain alias
	// gets its keys; nil in admin commands (the keys are read from disk).
	DKIM *msgauth.Signer
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
	deps := reorg.Deps{Dir: dir, Org: org, Stores: stores, Audit: st.Policy, Sessions: sessions, Log: log,
		Keys: aliasKeys{dir: cfg.Path(cfg.DKIM.KeysPath), signer: st.DKIM}}
	if mail != nil {
		deps.Mail = mail
	}
	return reorg.New(reorg.Config{TransitionalMonths: cfg.Directory.TransitionalMonths}, deps), nil
}

// startReorg runs the reorganisation worker: jobs handed over by admin
// commands, and the expiry of transitional addresses.
func startReorg(cfg config.Config, r *Running, web *webdb.DB, log *slog.Logger) error {
	svc, err := NewReorg(cfg, r.Dir, r.Store, ReorgStores{Policy: r.Policy.DB(), Sieve: r.Sieve, Web: web, DKIM: r.dkim}, r.Policy, log)
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

// aliasKeys makes an alias domain's DKIM keys: one per key of the domain
// it delivers to, same selector and algorithm, in dkim.keys_path.
type aliasKeys struct {
	dir    string
	signer *msgauth.Signer // the server's; nil: read from disk
}

func (k aliasKeys) AliasKeys(_ context.Context, old, new string) ([]string, error) {
	s := k.signer
	if s == nil {
		var err error
		if s, err = msgauth.LoadSigner(k.dir); err != nil {
			return nil, err
		}
	}
	if len(s.Records(old)) > 0 {
		return nil, nil // keys made earlier (or by hand) stay
	}
	var lines []string
	for _, rec := range s.Records(new) {
		alg := msgauth.AlgRSA
		if strings.Contains(rec.Record, "k=ed25519") {
			alg = msgauth.AlgEd25519
		}
		_, record, err := msgauth.Keygen(k.dir, old, rec.Selector, alg)
		if err != nil {
			return lines, err
		}
		lines = append(lines, msgauth.ZoneLine(old, rec.Selector, record))
	}
	if k.signer != nil && len(lines) > 0 {
		return lines, k.signer.Reload()
	}
	return lines, nil
}

// renames tells client discovery (autoconfig.Renames) about alias domains
// and old addresses, from the organisation store and the directory.
type renames struct {
	dir directory.Directory
	org *orgdb.DB
}

func (n renames) AliasDomain(ctx context.Context, domain string) (string, bool) {
	t, ok, err := n.org.AliasDomainTarget(ctx, domain)
	return t, ok && err == nil
}

func (n renames) CurrentAddress(ctx context.Context, address string) string {
	address = directory.NormalizeAddress(address)
	a, err := n.dir.Lookup(ctx, address)
	if err != nil || a.Address == address || a.State == directory.StateRetired {
		return ""
	}
	if tr, ok, err := n.org.TransitionalAddress(ctx, address); err == nil && ok && tr.Account == a.Address {
		return a.Address
	}
	if _, ok := n.AliasDomain(ctx, directory.Domain(address)); ok {
		return a.Address
	}
	return ""
}

// danhbaAliases lists the domain aliases for the danh bạ; nil without an
// organisation store.
func danhbaAliases(dir directory.Directory) func(ctx context.Context) ([]danhba.AliasDomain, error) {
	org := OrgDB(dir)
	if org == nil {
		return nil
	}
	return func(ctx context.Context) ([]danhba.AliasDomain, error) {
		list, err := org.DomainAliases(ctx)
		out := make([]danhba.AliasDomain, 0, len(list))
		for _, a := range list {
			out = append(out, danhba.AliasDomain{Old: a.Old, New: a.New})
		}
		return out, err
	}
}

// orgRecords is the organisation store for the admin web, nil (hiding
// what needs it) when the directory has none.
func orgRecords(dir directory.Writer) admin.OrgRecords {
	if org := OrgDB(dir); org != nil {
		return org
	}
	return nil
}
