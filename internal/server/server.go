// Package server assembles a running congvu from a Config: directory, mail
// store, TLS, and every listener. cmd/congvu uses it for `serve` and
// `quickstart`; tests use it to run the whole system in-process.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"congvu/addressbook"
	"congvu/cluster"
	"congvu/directory"
	"congvu/groups"
	"congvu/imapd"
	"congvu/internal/certs"
	"congvu/internal/config"
	"congvu/internal/frontend"
	"congvu/internal/metrics"
	"congvu/ldapd"
	"congvu/managesieve"
	"congvu/msgauth"
	"congvu/policy"
	"congvu/pop3d"
	"congvu/provision"
	"congvu/queue"
	"congvu/reorg"
	"congvu/sharing"
	"congvu/sieve"
	"congvu/smime"
	"congvu/smtpd"
	"congvu/storage"
	"congvu/web"
	"congvu/web/account"
	"congvu/web/admin"
	"congvu/web/core"
	"congvu/web/danhba"
	webmail "congvu/web/mail"
	"congvu/web/twofactor"
	"congvu/web/webdb"
)

// Running is a started congvu. Addrs maps listener names (as in the
// [listen] config section) to their bound addresses.
type Running struct {
	Addrs   map[string]string
	Dir     directory.Writer
	Store   *storage.FileStore
	Metrics *metrics.Metrics
	// Policy is the policy engine the daemons call; Reload swaps its rules.
	Policy  *policy.Engine
	CertPEM string       // path of the certificate clients should trust
	Queue   *queue.Queue // nil unless smtp.outbound is on
	// Sieve holds users' delivery rules and vacation settings
	// (sieve.Settings for the web).
	Sieve *sieve.Store
	// Reorg carries out reorganisations (the web's and admin commands'
	// jobs).
	Reorg *reorg.Service
	// Requests are the provisioning requests of the admin web.
	Requests *provision.Service

	dkim  *msgauth.Signer
	rules atomic.Pointer[sieve.Deliverer] // set once the policy engine exists
	certs *certs.Manager                  // the certificate listeners present
	// cluster routes mail and logins by home node; nil for one node.
	cluster *cluster.Node
	// clusterCfg is [cluster] as auth_http routes by it; Reload swaps in
	// a new node table (reloadCluster, cluster.go).
	clusterCfg atomic.Pointer[config.Cluster]
	// trust is the signature trust store, reread by Reload (nil when
	// verification is off).
	trust *smime.TrustStore
	// published are the caches of the published directory (address book
	// for LDAP and CardDAV, danh bạ), forgotten by Reload so that changes
	// made with the CLI (a published certificate…) show at once.
	published []interface{ Forget() }

	log     *slog.Logger
	closers []func() error
	errc    chan error
	wg      sync.WaitGroup
}

// NewLogger builds the slog logger described by cfg.Log.
func NewLogger(cfg config.Log, w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Start opens the directory and the store and starts every configured
// listener. On error everything already started is closed.
func Start(cfg config.Config, log *slog.Logger) (r *Running, err error) {
	started := &Running{Addrs: map[string]string{}, log: log, errc: make(chan error, 16)}
	r = started
	started.clusterCfg.Store(&cfg.Cluster)
	defer func() {
		// Every error return sets r to nil; close what was opened through
		// the Running made here, not through the named result.
		if err != nil {
			started.Close()
		}
	}()
	if err := os.MkdirAll(cfg.Server.DataDir, 0o700); err != nil {
		return nil, err
	}

	// One tls.Config for every listener; its certificate can change
	// while serving (certs.go).
	tlsCfg, err := startCertificates(cfg, r, log)
	if err != nil {
		return nil, err
	}

	r.Dir, err = OpenDirectory(cfg, log)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	r.closers = append(r.closers, r.Dir.Close)
	r.Store, err = storage.Open(cfg.Path(cfg.Storage.Path), storage.Options{
		DefaultQuotaBytes: cfg.Storage.DefaultQuotaBytes, MaxMessages: cfg.Storage.MaxMessages, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	r.closers = append(r.closers, r.Store.Close)
	r.Metrics = metrics.New()
	r.Metrics.BuildInfo.WithLabelValues(buildInfo()).Set(1)
	if err := r.certs.Register(r.Metrics.Registry); err != nil {
		return nil, err
	}

	// Mail between servers: queue, DKIM, inbound authentication (mail.go).
	mail, err := startMail(cfg, r, log)
	if err != nil {
		return nil, fmt.Errorf("outbound: %w", err)
	}
	r.closers = append(r.closers, mail.close)
	r.Queue = mail.queue
	r.dkim = mail.signer

	// Distribution lists (package groups), kept in the orgdb store: one
	// expansion for RCPT (smtpd) and for forwarded copies (the engine's
	// forwarding rules and Sieve redirects).
	var groupExpander *groups.Expander
	var policyGroups policy.Groups
	if org := OrgDB(r.Dir); org != nil {
		groupExpander = groups.New(r.Dir, org, func(d string) bool { return r.Policy.IsStateDomain(d) }, log.With("component", "groups"))
		policyGroups = groupExpander
	}
	r.Policy, err = policy.New(policy.Options{
		Groups: policyGroups,
		Config: cfg.Policy, LocalDomains: cfg.Server.LocalDomains, Hostname: cfg.Server.Hostname,
		DBPath: cfg.Path(cfg.Policy.DBPath), Dir: r.Dir, Writer: r.Dir, Store: r.Store,
		Logger: log.With("component", "policy"), Registerer: r.Metrics.Registry,
		Outbound:           mail.enqueueFunc(),
		QuarantineDir:      cfg.Path(cfg.Policy.SecretGuard.QuarantineDir),
		DataDir:            cfg.Server.DataDir,
		PasswordMaxAgeDays: cfg.Password.MaxAgeDays,
		History:            History(r.Dir),
	})
	if err != nil {
		return nil, err
	}
	// Closed after the daemons, which call it, and before the queue it
	// forwards into and the store.
	r.closers = append(r.closers, r.Policy.Close)
	// The web's database: sessions, settings, and the second factors the
	// mail protocols also consult (app passwords).
	webDB, err := webdb.Open(cfg.Path(cfg.Web.DBPath))
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, webDB.Close)
	if err := startReorg(cfg, r, webDB, log.With("component", "reorg")); err != nil {
		return nil, err
	}
	if r.Requests, err = NewRequests(cfg, r.Dir, r.Policy.DB(), r.Policy, r.Reorg, log.With("component", "requests")); err != nil {
		return nil, err
	}
	r.Policy.SetOverdueRequests(r.Requests.OverdueLines)
	seal, err := OpenSealBox(cfg)
	if err != nil {
		return nil, err
	}
	secondFactor, err := twofactor.New(webDB, seal, nil)
	if err != nil {
		return nil, err
	}
	if n, err := secondFactor.Unreadable(context.Background()); err == nil && n > 0 {
		log.Error("two-factor secrets in web.db do not open with this node's seal.key: restore seal.key from the backup web.db came from; until then these officials sign in with recovery codes only",
			"secrets", n)
	}
	// nginx logs in to this node with auth_http's ticket (frontend.go).
	tickets := loginTickets(cfg)
	protoDir := func(proto string) directory.Directory {
		return frontend.TicketDirectory{Tickets: tickets,
			Directory: twofactor.ProtocolDirectory{Directory: r.Dir, Store: secondFactor, Proto: proto}}
	}
	smtpDeps := mail.deps
	// Several nodes (cluster.go): mail and logins by home node.
	node, relaySrv, err := startCluster(cfg, r, mail, tlsCfg, log)
	if err != nil {
		return nil, err
	}
	r.cluster = node
	cp := r.clusterParts(node, relaySrv)
	// The webmail of mailboxes of other nodes: forwarded there (cluster.go).
	home, err := r.webHome(cfg)
	if err != nil {
		return nil, err
	}
	if home != nil {
		r.closers = append(r.closers, func() error { home.Close(); return nil })
	}
	smtpDeps.Store, smtpDeps.Dir, smtpDeps.Logger, smtpDeps.Metrics = cp.store, protoDir("smtp"), log.With("proto", "smtp"), r.Metrics
	smtpDeps.Credentials = credentialCache(cfg, secondFactor.Enabled)
	smtpDeps.Policy = cp.hooks
	// Delivery rules (rules.go): smtpd and the queue's local delivery.
	rules, err := startRules(cfg, r, mail)
	if err != nil {
		return nil, fmt.Errorf("sieve: %w", err)
	}
	r.rules.Store(rules)
	r.Sieve = rules.Store()
	smtpDeps.Rules = rules
	if node != nil {
		smtpDeps.Rules = node.Rules(rules)
	}
	// Digital signatures, the state-secret guard and central signing
	// (signing.go).
	signing, err := startSigning(cfg, r.Policy, log)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	r.closers = append(r.closers, signing.close)
	r.trust = signing.trust
	smtpDeps.Documents = signing.checker

	// The units' shared mailboxes: rights from the directory and SETACL.
	shares, err := sharing.Open(cfg.Path(cfg.IMAP.SharedACLPath), r.Dir, log.With("component", "sharing"))
	if err != nil {
		return nil, fmt.Errorf("sharing: %w", err)
	}
	r.closers = append(r.closers, shares.Close)
	smtpDeps.SendAs = shares
	// Distribution lists (package groups), kept in the orgdb store; the
	// admin web changes them and the publishing controls.
	var groupsAdmin admin.Groups
	if org := OrgDB(r.Dir); org != nil {
		smtpDeps.Groups = groupExpander
		groupsAdmin = &groups.Admin{Dir: r.Dir, Org: org, Audit: r.Policy.DB(), LocalDomains: cfg.Server.LocalDomains}
	}
	// Mail to old addresses: counted per sender, optionally answered
	// with the new address (closed after smtpd, before the queue).
	smtpDeps.Policy = followOldAddresses(cfg, r, mail, smtpDeps.Policy, log.With("component", "reorg"))
	smtpSrv := smtpd.New(smtpd.Config{
		Hostname:           cfg.Server.Hostname,
		LocalDomains:       cfg.Server.LocalDomains,
		MaxMessageBytes:    cfg.SMTP.MaxMessageBytes,
		MaxAttachmentBytes: cfg.SMTP.MaxAttachmentBytes,
		MaxRecipients:      cfg.SMTP.MaxRecipients,
		TLS:                tlsCfg,
	}, smtpDeps)
	// An LDAP directory changes passwords and states behind congvu's back
	// (and caches lookups itself): no IMAP credential cache there.
	var credTTL time.Duration
	if cfg.Directory.Backend == "ldap" {
		credTTL = -1
	}
	imapSrv := imapd.New(imapd.Config{
		TLS:                tlsCfg,
		Hostname:           cfg.Server.Hostname,
		AuthservID:         cmpOr(cfg.Inbound.AuthservID, cfg.Server.Hostname),
		MaxLiteralSize:     cfg.SMTP.MaxMessageBytes,
		IdleTimeout:        time.Duration(cfg.IMAP.IdleTimeoutSeconds) * time.Second,
		CredentialCacheTTL: credTTL,
	}, imapd.Deps{Store: r.Store, Dir: protoDir("imap"), Logger: log.With("proto", "imap"), Metrics: r.Metrics,
		Policy: cp.hooks, Sharing: shares,
		// With two-factor sign-in on, app passwords decide (and can be
		// revoked at any time): nothing is remembered for those accounts.
		CredentialCacheable: func(ctx context.Context, address string) (bool, error) {
			on, err := secondFactor.Enabled(ctx, address)
			return !on, err
		},
		Audit: func(ctx context.Context, e policy.AuditEntry) error {
			if e.At.IsZero() {
				e.At = time.Now()
			}
			return r.Policy.DB().AppendAudit(ctx, e)
		}})
	popSrv := pop3d.New(pop3d.Config{TLS: tlsCfg, Hostname: cfg.Server.Hostname},
		pop3d.Deps{Store: r.Store, Dir: protoDir("pop3"), Logger: log.With("proto", "pop3"), Metrics: r.Metrics, Policy: cp.hooks,
			NoUnitLogin: true})
	sieveSrv := managesieve.New(managesieve.Config{TLS: tlsCfg, Hostname: cfg.Server.Hostname, MaxRedirects: cfg.Sieve.MaxRedirects},
		managesieve.Deps{Store: r.Sieve, Dir: r.Dir, Policy: cp.hooks, Logger: log.With("proto", "managesieve")})
	// The danh bạ for mail clients: LDAP here, CardDAV on the HTTPS mux.
	// One snapshot serves LDAP, CardDAV, the public danh bạ and the
	// webmail's completion, with the publishing controls applied.
	bookOpts := addressbook.Options{Logger: log.With("component", "addressbook")}
	if org := OrgDB(r.Dir); org != nil {
		bookOpts.Controls = org
	}
	book := addressbook.New(r.Dir, bookOpts)
	r.published = append(r.published, book)
	ldapSrv := ldapd.New(ldapd.Config{TLS: tlsCfg, BaseDN: cfg.AddressBook.BaseDN(cfg.Server.LocalDomains[0]),
		Anonymous: cfg.AddressBook.LDAPAnonymous, SizeLimit: cfg.AddressBook.SizeLimit},
		ldapd.Deps{Book: book, Dir: r.Dir, Policy: r.Policy, Logger: log.With("proto", "ldap")})
	// Servers close before the store and directory they use.
	r.closers = append(r.closers, smtpSrv.Close, imapSrv.Close, popSrv.Close, sieveSrv.Close, ldapSrv.Close)
	if cp.closeRly != nil {
		r.closers = append(r.closers, cp.closeRly)
	}

	healthz := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	}
	// Operators' listener: metrics (which name accounts and reveal load)
	// are not for the public HTTP listener (issue 15).
	adminMux := http.NewServeMux()
	adminMux.Handle("GET /metrics", promhttp.HandlerFor(r.Metrics.Registry, promhttp.HandlerOpts{}))
	adminMux.HandleFunc("GET /healthz", healthz)
	adminSrv := &http.Server{Handler: adminMux, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: time.Minute,
		ErrorLog: slog.NewLogLogger(log.With("listener", "admin").Handler(), slog.LevelDebug)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	runACME, err := startACME(cfg, r, mux, log)
	if err != nil {
		return nil, err
	}
	// The published danh bạ: public, no login, only public attributes.
	publicDir := danhba.New(book, danhba.Options{Logger: log.With("component", "danhba"), AliasDomains: danhbaAliases(r.Dir)})
	for _, p := range []string{"GET /danhba", "GET /danhba.csv", "GET /danhba.vcf", "GET /danhba.ldif", "GET /danhba.cer"} {
		mux.Handle(p, publicDir)
	}
	// The plain listener is public (danh bạ, set-up page): every timeout
	// set, so idle keep-alive connections do not pile up (issue 15 §11).
	httpSrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: time.Minute,
		ErrorLog: slog.NewLogLogger(log.With("listener", "http").Handler(), slog.LevelDebug)}
	// The authenticated web, over TLS only; the public danh bạ is there too.
	httpsMux := http.NewServeMux()
	for _, p := range []string{"GET /danhba", "GET /danhba.csv", "GET /danhba.vcf", "GET /danhba.ldif", "GET /danhba.cer"} {
		httpsMux.Handle(p, publicDir)
	}
	httpsSrv := &http.Server{Handler: httpsMux, TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.With("listener", "https").Handler(), slog.LevelDebug)}
	r.closers = append(r.closers, httpSrv.Close, httpsSrv.Close, adminSrv.Close)

	listeners := []listenerSpec{
		{name: "smtp", addr: cfg.Listen.SMTP, serve: smtpSrv.ServeMX},
		{name: "submission", addr: cfg.Listen.Submission, serve: smtpSrv.ServeSubmission},
		{name: "submissions", addr: cfg.Listen.Submissions, serve: smtpSrv.ServeSubmissions},
		{name: "imap", addr: cfg.Listen.IMAP, serve: imapSrv.Serve},
		{name: "imaps", addr: cfg.Listen.IMAPS, serve: imapSrv.ServeTLS},
		{name: "pop3", addr: cfg.Listen.POP3, serve: popSrv.Serve},
		{name: "pop3s", addr: cfg.Listen.POP3S, serve: popSrv.ServeTLS},
		{name: "http", addr: cfg.Listen.HTTP, serve: httpSrv.Serve},
		// ServeTLS clones TLSConfig and adds HTTP/2 to its protocols.
		{name: "https", addr: cfg.Listen.HTTPS, serve: func(l net.Listener) error { return httpsSrv.ServeTLS(l, "", "") }},
		{name: "admin", addr: cfg.Listen.Admin, serve: adminSrv.Serve},
		{name: "managesieve", addr: cfg.Listen.ManageSieve, serve: sieveSrv.Serve},
		{name: "ldap", addr: cfg.Listen.LDAP, serve: ldapSrv.Serve},
		{name: "ldaps", addr: cfg.Listen.LDAPS, serve: ldapSrv.ServeTLS},
	}
	// nginx's mail proxy in front (frontend.go).
	proxies, err := proxyListeners(cfg, imapSrv.ServeProxied, popSrv.ServeProxied, smtpSrv.ServeSubmissionsProxied, log)
	if err != nil {
		return nil, err
	}
	listeners = append(listeners, proxies...)
	if cp.relay != nil {
		listeners = append(listeners, listenerSpec{name: "relay", addr: cfg.Listen.Relay, serve: cp.relay})
	}
	// auth_http checks passwords as the protocols do (app passwords), not
	// tickets: nginx never sends one there.
	mountAuthHTTP(cfg, r, adminMux, func(proto string) directory.Directory {
		return twofactor.ProtocolDirectory{Directory: r.Dir, Store: secondFactor, Proto: proto}
	}, tickets, credentialCache(cfg, secondFactor.Enabled), log)
	mountCluster(node, adminMux) // cluster.go
	// Bind everything first so a port conflict fails start-up cleanly
	// before any client was served.
	limits, err := listenerLimits(cfg.Limits)
	if err != nil {
		return nil, err
	}
	bound := make([]net.Listener, len(listeners))
	for i, l := range listeners {
		if l.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			for _, b := range bound[:i] {
				if b != nil {
					b.Close()
				}
			}
			return nil, fmt.Errorf("listen %s on %s: %w", l.name, l.addr, err)
		}
		r.Addrs[l.name] = ln.Addr().String()
		if l.wrap != nil {
			ln = l.wrap(ln)
		}
		bound[i] = limits.wrap(ln, l.name, cfg.Server.Hostname, r.Metrics.ConnectionsRefused)
	}
	publicAssets := core.Assets()
	for _, p := range []string{"GET /static/{file}", "GET /favicon.ico", "GET /robots.txt"} {
		mux.Handle(p, publicAssets)
	}
	mux.Handle("GET /", account.SetupPage(cfg.Server.Hostname, cfg.Server.LocalDomains, clientListeners(cfg, r.Addrs)))
	// Client discovery (clients.go): autoconfig, Autodiscover, set-up pages.
	httpSrv.Handler, httpsSrv.Handler = mountDiscovery(cfg, r.Addrs, mux, httpsMux, r)
	if err := mountCardDAV(cfg, mux, httpsMux, r, book); err != nil {
		for _, b := range bound {
			if b != nil {
				b.Close()
			}
		}
		return nil, err
	}
	var httpsPort string
	if a := r.Addrs["https"]; a != "" {
		_, httpsPort, _ = net.SplitHostPort(a)
	}
	r.Policy.SetPasswordChangeURL(passwordChangeURL(cfg.Server, httpsPort))
	for _, p := range web.PrivatePaths() {
		// GET and POST only: a method-less pattern would conflict with "GET /".
		mux.Handle("GET "+p, web.HTTPSRedirect(httpsPort))
		mux.Handle("POST "+p, web.HTTPSRedirect(httpsPort))
	}
	site := web.New(web.Options{
		Home:         home,
		DB:           webDB,
		SecondFactor: secondFactor,
		Dir:          r.Dir,
		Policy:       webPolicy{e: r.Policy, logins: r.Metrics.Logins},
		Rules:        cfg.Password.Rules(),
		SessionIdle:  cfg.Web.SessionIdle(),
		SessionMax:   cfg.Web.SessionMax(),
		Logger:       log.With("component", "web"),
		Account: account.Options{Listeners: clientListeners(cfg, r.Addrs), Hostname: cfg.Server.Hostname,
			Domains: cfg.Server.LocalDomains, Forwarding: webForwarding{r.Policy}, TwoFactor: secondFactor,
			Vacation: r.Sieve},
		Mail: webmail.Options{Mail: cp.store, Send: webSender{smtpSrv, cfg.Signing.Central.Header}, IsStateDomain: r.Policy.IsStateDomain,
			CentralKey: signing.hasCentralKey, Sharing: shares, SharedMail: cp.store,
			MaxMessageBytes: cfg.SMTP.MaxMessageBytes, Contacts: webContacts{publicDir},
			AuthservID: cmpOr(cfg.Inbound.AuthservID, cfg.Server.Hostname),
			Signatures: func(h []byte) []smime.Result {
				return smime.FromHeader(h, cmpOr(cfg.Inbound.AuthservID, cfg.Server.Hostname))
			}},
		Admin: admin.Options{
			Reports:   webPolicy{e: r.Policy, coverage: coverageOf(r.Dir)},
			Audit:     webPolicy{e: r.Policy},
			AuditLog:  webPolicy{e: r.Policy},
			SendLocks: webPolicy{e: r.Policy},
			Queue:     newWebQueue(r.Queue),
			States:    r.Policy,
			Domains:   cfg.Server.LocalDomains,
			Shared:    shares,
			Requests:  r.Requests,
			Facts:     webFacts{store: r.Store, e: r.Policy},
			Groups:    groupsAdmin,
			// Mail still arriving at old domains and addresses.
			OldAddresses: newWebOldAddresses(r.Dir),
			Reorg:        r.Reorg,
			Org:          orgRecords(r.Dir),
			// The same months as the reorg service's default.
			TransitionalMonths: cfg.Directory.TransitionalMonths,
		},
	})
	mountExport(site, cp.store, r.Policy) // export.go
	httpsMux.Handle("/", site)
	for i, l := range listeners {
		if bound[i] == nil {
			continue
		}
		ln, serve, name := bound[i], l.serve, l.name
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			if err := serve(ln); err != nil && !isClosed(err) {
				log.Error("listener stopped", "listener", name, "err", err)
				r.errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
		log.Info("listening", "listener", name, "addr", r.Addrs[name])
	}
	// The LDAP library runs behind a relay on a loopback port of its own
	// (ldapd/relay.go): wait until it answers.
	ldapListeners := 0
	for _, n := range []string{"ldap", "ldaps"} {
		if r.Addrs[n] != "" {
			ldapListeners++
		}
	}
	if err := ldapSrv.WaitBound(ldapListeners, 10*time.Second); err != nil {
		return nil, err
	}
	if runACME != nil { // needs the HTTP listener up for its challenges
		ctx, cancel := context.WithCancel(context.Background())
		r.wg.Add(1)
		go func() { defer r.wg.Done(); runACME(ctx) }()
		r.closers = append(r.closers, func() error { cancel(); return nil })
	}
	return r, nil
}

// buildInfo returns the module version, VCS revision and Go version the
// toolchain recorded in the binary.
func buildInfo() (version, revision, goVersion string) {
	version, revision, goVersion = "unknown", "unknown", runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	return version, revision, goVersion
}

func isClosed(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, http.ErrServerClosed)
}

// Wait blocks until ctx ends or a listener fails.
func (r *Running) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-r.errc:
		return err
	}
}

// Reload applies a re-read configuration while serving: the [policy]
// section, the [cluster.nodes] table, the DKIM keys, the TLS certificate
// and trust anchors on disk take effect at once (connections stay open);
// other sections need a restart (ReloadApplies says so in the log). A
// change to [cluster] that cannot be applied live refuses the whole
// reload before anything is applied.
func (r *Running) Reload(cfg config.Config) error {
	if err := r.checkClusterReload(cfg.Cluster); err != nil {
		return err
	}
	// DKIM keys made by `congvu dkim keygen` since start; the keys_path
	// itself is fixed until restart.
	if err := r.dkim.Reload(); err != nil {
		return fmt.Errorf("dkim keys: %w", err)
	}
	// Certificate files renewed by another tool (certbot…), or ACME's.
	if err := r.certs.Reload(); err != nil {
		return fmt.Errorf("tls certificate: %w", err)
	}
	// Trust anchors dropped into signing.trust_dir since start.
	if r.trust != nil {
		if err := r.trust.Reload(); err != nil {
			return fmt.Errorf("signing trust store: %w", err)
		}
	}
	for _, p := range r.published {
		p.Forget()
	}
	if err := r.Policy.Reload(cfg.Policy, cfg.Server.LocalDomains); err != nil {
		return err
	}
	r.reloadCluster(cfg.Cluster)
	return nil
}

// ReloadApplies is what Reload applies, for the log line after it.
const ReloadApplies = "policy, [cluster.nodes], TLS certificate, DKIM keys, signature trust anchors, address-book caches; " +
	"other sections (listeners, storage, directory, limits…) need a restart"

// Close stops listeners first, then the store and directory.
func (r *Running) Close() error {
	var errs []error
	for i := len(r.closers) - 1; i >= 0; i-- {
		if err := r.closers[i](); err != nil && !isClosed(err) {
			errs = append(errs, err)
		}
	}
	r.closers = nil
	r.wg.Wait()
	return errors.Join(errs...)
}
