package policy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"congvu/directory"
	"congvu/internal/config"
	"congvu/internal/mailerr"
	"congvu/storage"
)

// Options are the engine's dependencies.
type Options struct {
	// Config is the [policy] section; LocalDomains are server.local_domains.
	Config       config.Policy
	LocalDomains []string
	// Hostname names this server in Message-IDs of digests and alerts.
	Hostname string
	// DBPath is the resolved path of the policy database.
	DBPath string
	Dir    directory.Directory
	// Writer locks accounts; nil means locks are only logged and audited.
	Writer directory.Writer
	// Store delivers digests, alerts and forwarded copies; nil disables them.
	Store  storage.Store
	Logger *slog.Logger
	// Registerer receives the engine's metrics; nil keeps them private.
	Registerer prometheus.Registerer
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
	// Outbound hands a message to the outbound queue (issue 5) for
	// forwarding to state domains elsewhere; nil while outbound mail is not
	// available, and such forwards are logged and audited as deferred.
	Outbound func(ctx context.Context, from string, rcpts []string, msg io.Reader) error
	// QuarantineDir keeps inbound messages the state-secret guard stopped.
	QuarantineDir string
	// DataDir resolves relative paths of the [policy] section
	// (expired_password_exempt_file).
	DataDir string
	// PasswordMaxAgeDays is [password] max_age_days: older passwords are
	// refused to mail clients (0 = never).
	PasswordMaxAgeDays int
	// History is the directory of past periods for reports (orgdb); nil
	// reports every period with today's units and membership.
	History History
	// Groups expands a distribution list that a forwarding rule or a
	// Sieve redirect targets (ForwardTargets); nil: no groups.
	Groups Groups
}

// Engine is the policy engine. Create it with New; it is safe for
// concurrent use. The rule set is swapped atomically by Reload, so daemons
// keep their pointer to the engine and running connections are untouched.
type Engine struct {
	opts  Options
	db    *DB
	log   *slog.Logger
	now   func() time.Time
	rules atomic.Pointer[ruleSet]
	// changeURL makes the password form's address (SetPasswordChangeURL).
	changeURL atomic.Pointer[func(string) string]
	// overdue lists overdue provisioning requests for the digest
	// (SetOverdueRequests); nil: none are known.
	overdue atomic.Pointer[func(context.Context, []string) ([]string, error)]

	decisions *prometheus.CounterVec
	reloads   prometheus.Counter

	fails    failures
	ips      ipThrottle
	sends    sendRates
	pending  pending
	sessions sessionRegistry
	flushReq chan chan error
	stop     chan struct{}
	done     chan struct{}
	jobsDone chan struct{}
	// sessionsDone closes when the session checker has stopped.
	sessionsDone chan struct{}
	closed       atomic.Bool
}

var _ Hooks = (*Engine)(nil)

// ruleSet is an immutable snapshot of the configuration.
type ruleSet struct {
	cfg      config.Policy
	loc      *time.Location
	local    map[string]bool
	localDom []string
	state    []string // lower case; "*.x" matches subdomains of x
	deny     []netip.Prefix
	// exempt are the accounts of policy.expired_password_exempt_file,
	// written when the file was: a password changed later is not the one
	// it printed.
	exempt        map[string]bool
	exemptWritten time.Time
}

func newRuleSet(cfg config.Policy, localDomains []string) (*ruleSet, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	loc, err := LoadLocation(cfg.TimeZone)
	if err != nil {
		return nil, err
	}
	rs := &ruleSet{cfg: cfg, loc: loc, local: map[string]bool{}, exempt: map[string]bool{}}
	for _, d := range localDomains {
		d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		if d != "" {
			rs.local[d] = true
			rs.localDom = append(rs.localDom, d)
		}
	}
	rs.state = append(rs.state, cfg.StateDomains...)
	for _, n := range cfg.DenyNetworks {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			return nil, err
		}
		rs.deny = append(rs.deny, p.Masked())
	}
	return rs, nil
}

// rulesFor returns the thresholds of an address's (or domain's) domain.
func (rs *ruleSet) rulesFor(address string) config.Rules {
	d := address
	if i := strings.LastIndexByte(address, '@'); i >= 0 {
		d = address[i+1:]
	}
	if o, ok := rs.cfg.Domains[strings.ToLower(d)]; ok {
		return o.Apply(rs.cfg.Rules)
	}
	return rs.cfg.Rules
}

// isStateDomain reports whether mail to or from domain stays inside the
// state mail system: a local domain or one of policy.state_domains.
func (rs *ruleSet) isStateDomain(domain string) bool {
	domain = strings.TrimSuffix(strings.ToLower(domain), ".")
	if domain == "" {
		return false
	}
	if rs.local[domain] {
		return true
	}
	for _, p := range rs.state {
		if base, ok := strings.CutPrefix(p, "*."); ok {
			if domain == base || strings.HasSuffix(domain, "."+base) {
				return true
			}
		} else if domain == p {
			return true
		}
	}
	return false
}

// New opens the policy database and starts the background writer and the
// jobs (digests, lifecycle).
func New(opts Options) (*Engine, error) {
	rs, err := newRuleSet(opts.Config, opts.LocalDomains)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if rs.exempt, rs.exemptWritten, err = loadExempt(resolveIn(opts.DataDir, opts.Config.ExpiredPasswordExemptFile)); err != nil {
		opts.Logger.Warn("policy: expired_password_exempt_file unreadable, nobody exempt", "err", err)
	}
	db, err := OpenDB(opts.DBPath)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		opts: opts, db: db, log: opts.Logger, now: opts.Now,
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "congvu_policy_decisions_total",
			Help: "Policy decisions that refused or locked something, by rule and verdict.",
		}, []string{"rule", "verdict"}),
		reloads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "congvu_policy_reloads_total",
			Help: "Successful reloads of the [policy] configuration.",
		}),
		flushReq: make(chan chan error),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		jobsDone: make(chan struct{}),

		sessionsDone: make(chan struct{}),
	}
	e.rules.Store(rs)
	e.fails.init()
	e.ips.init()
	e.sends.init()
	e.pending.init()
	if opts.Registerer != nil {
		err := opts.Registerer.Register(e.decisions)
		if err == nil {
			err = opts.Registerer.Register(e.reloads)
		}
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("policy: metrics: %w", err)
		}
	}
	if err := e.fails.load(context.Background(), db); err != nil {
		db.Close()
		return nil, fmt.Errorf("policy: loading login failures: %w", err)
	}
	go e.writer()
	go e.jobs()
	go e.sessionChecks()
	return e, nil
}

// DB returns the policy database (for reports and admin queries).
func (e *Engine) DB() *DB { return e.db }

// Location is the time zone that defines a day.
func (e *Engine) Location() *time.Location { return e.rules.Load().loc }

// Reload swaps in a new [policy] configuration. Connections in progress
// keep running; the next hook call sees the new rules. The database path
// cannot change without a restart.
func (e *Engine) Reload(cfg config.Policy, localDomains []string) error {
	rs, err := newRuleSet(cfg, localDomains)
	if err != nil {
		return fmt.Errorf("policy: reload: %w", err)
	}
	if rs.exempt, rs.exemptWritten, err = loadExempt(e.exemptPath(cfg.ExpiredPasswordExemptFile)); err != nil {
		e.log.Warn("policy: expired_password_exempt_file unreadable, nobody exempt", "err", err)
	}
	old := e.rules.Swap(rs)
	e.reloads.Inc()
	if old.cfg.DBPath != cfg.DBPath {
		e.log.Warn("policy: db_path changes only take effect after a restart", "path", old.cfg.DBPath)
	}
	e.log.Info("policy: configuration reloaded", "lockout_failures", cfg.Rules.LockoutFailures,
		"ip_max_failures", cfg.Rules.IPMaxFailures, "send_limit_external", cfg.Rules.SendLimitExternal)
	return nil
}

// Close writes what is pending and closes the database. The daemons must
// be closed first.
func (e *Engine) Close() error {
	if e == nil || !e.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(e.stop)
	<-e.done
	<-e.jobsDone
	<-e.sessionsDone
	return e.db.Close()
}

// Flush writes pending access records, usage counters and audit entries
// now (reports call it so that they include the last minutes).
func (e *Engine) Flush(ctx context.Context) error {
	if e.closed.Load() {
		return errors.New("policy: engine closed")
	}
	reply := make(chan error, 1)
	select {
	case e.flushReq <- reply:
	case <-e.done:
		return errors.New("policy: engine closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writer is the one goroutine that writes batches.
func (e *Engine) writer() {
	defer close(e.done)
	cache := map[string]int64{}
	interval := time.Duration(e.rules.Load().cfg.FlushSeconds) * time.Second
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			if err := e.flush(cache); err != nil {
				e.log.Error("policy: final write failed", "err", err)
			}
			return
		case reply := <-e.flushReq:
			reply <- e.flush(cache)
		case <-t.C:
			if err := e.flush(cache); err != nil {
				e.log.Error("policy: batch write failed, will retry", "err", err)
			}
			e.ips.prune(e.now())
			e.sends.prune(e.now())
			if d := time.Duration(e.rules.Load().cfg.FlushSeconds) * time.Second; d != interval {
				interval = d
				t.Reset(d)
			}
		}
	}
}

// flush writes one batch in one transaction; on failure the batch goes
// back into pending so nothing is lost while the disk recovers.
func (e *Engine) flush(cache map[string]int64) error {
	b := e.pending.take()
	b.failures = e.fails.takeDirty()
	if b.empty() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := e.db.write(ctx, func(tx *sql.Tx) error {
		if err := writeAccess(ctx, tx, cache, b.access); err != nil {
			return err
		}
		if err := writeUsage(ctx, tx, b.usage); err != nil {
			return err
		}
		if err := writeDocumentCounts(ctx, tx, b.docs); err != nil {
			return err
		}
		if err := writeFailures(ctx, tx, b.failures); err != nil {
			return err
		}
		return insertAudit(ctx, tx, b.audit)
	})
	if err != nil {
		// Ids assigned in the failed transaction were rolled back.
		clear(cache)
		e.pending.putBack(b)
		e.fails.markDirty(b.failures)
	}
	return err
}

// pending holds what the next batch writes.
type pending struct {
	mu     sync.Mutex
	access map[accessKey]accessSlot
	usage  map[usageKey]int64
	docs   map[docKey]docCounts
	audit  []AuditEntry
}

// maxPendingAudit bounds memory under an attack that makes every request
// a refusal; beyond it entries are counted in the log instead of kept.
const maxPendingAudit = 200_000

type batch struct {
	access   map[accessKey]accessSlot
	usage    map[usageKey]int64
	docs     map[docKey]docCounts
	audit    []AuditEntry
	failures map[string]failState
}

func (b *batch) empty() bool {
	return len(b.access) == 0 && len(b.usage) == 0 && len(b.docs) == 0 && len(b.audit) == 0 && len(b.failures) == 0
}

func (p *pending) init() {
	p.access = map[accessKey]accessSlot{}
	p.usage = map[usageKey]int64{}
	p.docs = map[docKey]docCounts{}
}

func (p *pending) take() *batch {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := &batch{access: p.access, usage: p.usage, docs: p.docs, audit: p.audit}
	p.init()
	p.audit = nil
	return b
}

func (p *pending) putBack(b *batch) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, s := range b.access {
		cur := p.access[k]
		cur.merge(s)
		p.access[k] = cur
	}
	for k, n := range b.usage {
		p.usage[k] += n
	}
	for k, c := range b.docs {
		p.docs[k] = p.docs[k].plus(c)
	}
	if len(p.audit)+len(b.audit) <= maxPendingAudit {
		p.audit = append(b.audit, p.audit...)
	}
}

func (p *pending) addAccess(k accessKey, s accessSlot) {
	p.mu.Lock()
	cur := p.access[k]
	cur.merge(s)
	p.access[k] = cur
	p.mu.Unlock()
}

func (p *pending) addAudit(a AuditEntry) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.audit) >= maxPendingAudit {
		return false
	}
	p.audit = append(p.audit, a)
	return true
}

// RecordAccess records a successful access by an official (the web calls
// it once per session and day; the mail daemons through AfterAuth). It
// never waits for the disk.
func (e *Engine) RecordAccess(address string, p Protocol, at time.Time) {
	if e == nil || address == "" {
		return
	}
	day, slot := newSlot(at, e.rules.Load().loc, p)
	e.pending.addAccess(accessKey{directory.NormalizeAddress(address), day}, slot)
}

// audit queues an audit entry and counts the decision.
func (e *Engine) audit(a AuditEntry) {
	if a.At.IsZero() {
		a.At = e.now()
	}
	if a.Actor == "" {
		a.Actor = ActorPolicy
	}
	if a.Rule != "" && (a.Action == ActionReject || a.Action == ActionDefer || a.Action == ActionLock || a.Action == ActionSendLock) {
		e.decisions.WithLabelValues(a.Rule, a.Action).Inc()
	}
	switch a.Action {
	case ActionLock, ActionUnlock, ActionRetire, ActionSendLock, ActionDeleteData:
		// Rare and important: written at once, so an admin looking
		// right after a lock finds it.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := e.db.AppendAudit(ctx, a)
		cancel()
		if err == nil {
			return
		}
		e.log.Warn("policy: audit write failed, queued for the next batch", "err", err)
	}
	if !e.pending.addAudit(a) {
		e.log.Warn("policy: audit backlog full, entry dropped", "subject", a.Subject, "action", a.Action, "rule", a.Rule)
	}
}

// refuse builds a refusal decision and audits it.
// Audit implements Hooks: a daemon's own decision, audited like the
// engine's (and counted in congvu_policy_decisions_total).
func (e *Engine) Audit(_ context.Context, a AuditEntry) {
	if e != nil {
		e.audit(a)
	}
}

func (e *Engine) refuse(v Verdict, rule string, reason *mailerr.Error, a AuditEntry) Decision {
	a.Rule = rule
	if a.Action == "" {
		a.Action = v.String()
	}
	e.audit(a)
	return Decision{Verdict: v, Rule: rule, Reason: reason}
}

func ipString(ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	return ip.String()
}
