package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"congvu/directory"
	"congvu/internal/mailerr"
	"congvu/policy"
	"congvu/sieve"
	"congvu/smtpd"
	"congvu/storage"
)

// Peer is how this node reaches another node's relay listener.
type Peer struct {
	Relay     string // host:port
	RelayName string // name in its certificate
}

// Config configures a Node.
type Config struct {
	Self        string // this node's name
	DefaultNode string // the node of accounts that name none
	Peers       map[string]Peer
	Dir         directory.Directory
	// Local is this node's mail store.
	Local storage.Store
	// Enqueue puts a message in the outbound queue; its local delivery
	// (Deliver below, through the server's queue delivery) relays it.
	Enqueue func(ctx context.Context, from string, rcpts []string, msg io.Reader) error
	Relay   *Client
	// MaxBytes bounds a message read for relaying.
	MaxBytes int64
	Logger   *slog.Logger
}

// Node routes mail and logins by each account's home node.
type Node struct {
	cfg Config
	log *slog.Logger

	// gate: deliveries into the local store hold it shared from the
	// frozen check to the commit; Freeze takes it exclusively, so once
	// Freeze returns no delivery to a frozen mailbox is in flight.
	gate sync.RWMutex

	move MoveDeps // move.go

	mu       sync.Mutex
	frozen   map[string]bool
	sessions map[string]map[*policy.Session]bool
}

// New returns a Node.
func New(cfg Config) *Node {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Node{cfg: cfg, log: cfg.Logger, frozen: map[string]bool{}, sessions: map[string]map[*policy.Session]bool{}}
}

// Home is the node that stores acct's mailbox.
func (n *Node) Home(acct *directory.Account) string {
	switch {
	case acct.MailHost != "":
		return strings.ToLower(acct.MailHost)
	case n.cfg.DefaultNode != "":
		return n.cfg.DefaultNode
	}
	return n.cfg.Self
}

// Here reports whether acct's mailbox is on this node.
func (n *Node) Here(acct *directory.Account) bool { return n.Home(acct) == n.cfg.Self }

func (n *Node) isFrozen(address string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.frozen[address]
}

// Freeze stops every change to a mailbox of this node: new deliveries
// wait in the queue, logins are deferred, its open IMAP/POP3 sessions are
// ended and deliveries in flight finish before Freeze returns. unfreeze
// lets the waiting mail through (to wherever the directory then says the
// mailbox lives).
func (n *Node) Freeze(address string) (unfreeze func()) {
	address = directory.NormalizeAddress(address)
	n.mu.Lock()
	n.frozen[address] = true
	var open []*policy.Session
	for s := range n.sessions[address] {
		open = append(open, s)
	}
	n.mu.Unlock()
	n.gate.Lock() // waits for deliveries that passed the check
	n.gate.Unlock()
	for _, s := range open {
		s.End(ErrMoving)
	}
	// Give ended sessions a moment to close their connections.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		n.mu.Lock()
		left := len(n.sessions[address])
		n.mu.Unlock()
		if left == 0 {
			break
		}
	}
	return func() {
		n.mu.Lock()
		delete(n.frozen, address)
		n.mu.Unlock()
	}
}

// HoldLocal is for deliveries into this node's store that do not go
// through Store (the queue's and the relay listener's, after Route said
// the mailbox is here): it takes the delivery gate shared and checks,
// under it, that the mailbox is not frozen. The caller commits the
// delivery, then calls release; a Freeze begun meanwhile waits for it, so
// the final copy of a move holds the message. Without the gate, a
// delivery that passed Route's check just before a freeze could land
// after the final copy and be removed with the old mailbox.
func (n *Node) HoldLocal(address string) (release func(), err error) {
	n.gate.RLock()
	if n.isFrozen(directory.NormalizeAddress(address)) {
		n.gate.RUnlock()
		return nil, ErrMoving
	}
	return n.gate.RUnlock, nil
}

// Store wraps the local store for smtpd and the web: deliveries to
// mailboxes of other nodes (and to frozen ones) go to the outbound queue
// with their envelope sender instead, which relays them.
func (n *Node) Store() storage.Store { return routedStore{n} }

type routedStore struct{ n *Node }

func (s routedStore) Close() error { return nil }

func (s routedStore) Mailbox(ctx context.Context, user string, quota int64) (storage.Mailbox, error) {
	if err := s.n.localCheck(ctx, user); err != nil {
		return nil, err
	}
	return s.n.cfg.Local.Mailbox(ctx, user, quota)
}

// SharedMailbox opens owner's mailbox for reader (a clerk on the unit's
// shared mailbox) under the same rule: the owner's mailbox must be here
// and not moving.
func (s routedStore) SharedMailbox(ctx context.Context, owner, reader string, quota int64) (storage.Mailbox, error) {
	if err := s.n.localCheck(ctx, owner); err != nil {
		return nil, err
	}
	return s.n.cfg.Local.SharedMailbox(ctx, owner, reader, quota)
}

// localCheck refuses a mailbox that is frozen or lives elsewhere.
func (n *Node) localCheck(ctx context.Context, user string) error {
	if n.isFrozen(directory.NormalizeAddress(user)) {
		return ErrMoving
	}
	acct, err := n.cfg.Dir.Lookup(ctx, user)
	if err == nil && !n.Here(acct) {
		return ErrElsewhere.With(fmt.Errorf("%s lives on %s", user, n.Home(acct)))
	}
	return nil
}

func (s routedStore) Deliver(ctx context.Context, msg io.Reader, rcpts []storage.Recipient) ([]storage.DeliveryResult, error) {
	n := s.n
	n.gate.RLock()
	defer n.gate.RUnlock()
	var here, away []int
	for i, r := range rcpts {
		if n.isFrozen(directory.NormalizeAddress(r.User)) {
			away = append(away, i)
			continue
		}
		acct, err := n.cfg.Dir.Lookup(ctx, r.User)
		if err == nil && !n.Here(acct) {
			away = append(away, i)
			continue
		}
		here = append(here, i) // unknown here or directory trouble: the store decides
	}
	if len(away) == 0 {
		return n.cfg.Local.Deliver(ctx, msg, rcpts)
	}
	body, err := io.ReadAll(io.LimitReader(msg, n.cfg.MaxBytes+1<<20))
	if err != nil {
		return nil, err
	}
	results := make([]storage.DeliveryResult, len(rcpts))
	if len(here) > 0 {
		sub := make([]storage.Recipient, len(here))
		for j, i := range here {
			sub[j] = rcpts[i]
		}
		res, err := n.cfg.Local.Deliver(ctx, bytes.NewReader(body), sub)
		if err != nil {
			return nil, err
		}
		for j, i := range here {
			results[i] = res[j]
		}
	}
	// The final delivery adds Return-Path (RFC 5321 4.4): take the
	// envelope sender from the one smtpd put in front, and drop it.
	from, rest := splitReturnPath(body)
	users := map[string][]int{}
	var order []string
	for _, i := range away {
		u := directory.NormalizeAddress(rcpts[i].User)
		if _, ok := users[u]; !ok {
			order = append(order, u)
		}
		users[u] = append(users[u], i)
	}
	if n.cfg.Enqueue == nil {
		for _, i := range away {
			results[i].Err = ErrNodeUnavailable.With(errors.New("cluster: no outbound queue to relay through (smtp.outbound)"))
		}
		return results, nil
	}
	// One copy per mailbox, even when rules asked for several folders:
	// the home node runs the rules itself.
	if err := n.cfg.Enqueue(ctx, from, order, bytes.NewReader(rest)); err != nil {
		for _, i := range away {
			results[i].Err = mailerr.Classify(err)
		}
		return results, nil
	}
	n.log.Info("cluster: queued for the home node", "rcpts", order)
	return results, nil
}

// splitReturnPath takes a leading "Return-Path: <x>" field off msg.
func splitReturnPath(msg []byte) (from string, rest []byte) {
	const name = "return-path:"
	end := bytes.Index(msg, []byte("\r\n"))
	if end < 0 || len(msg) < len(name) || !strings.EqualFold(string(msg[:len(name)]), name) {
		return "", msg
	}
	v := strings.TrimSpace(string(msg[len(name):end]))
	v = strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">")
	return v, msg[end+2:]
}

// Rules wraps the delivery rules for smtpd: mailboxes of other nodes get
// the plain default delivery here; their own node runs their rules.
func (n *Node) Rules(inner smtpd.Rules) smtpd.Rules {
	if inner == nil {
		return nil
	}
	return routedRules{n, inner}
}

type routedRules struct {
	n     *Node
	inner smtpd.Rules
}

func (r routedRules) Plan(ctx context.Context, d sieve.Delivery) *sieve.Plan {
	if d.Account != nil && (!r.n.Here(d.Account) || r.n.isFrozen(d.Account.Address)) {
		d.Account = nil // the default target, no script, no vacation
	}
	return r.inner.Plan(ctx, d)
}

func (r routedRules) Finish(ctx context.Context, p *sieve.Plan) { r.inner.Finish(ctx, p) }

// SetNodes replaces the other nodes' addresses ([cluster.nodes] re-read
// by `congvu reload`): relays and moves started after it use them. The
// node's own name, its default node and the shared secret stay as
// started.
func (n *Node) SetNodes(peers map[string]Peer, admins map[string]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cfg.Peers = peers
	n.move.Admins = admins
}

func (n *Node) peer(name string) (Peer, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, ok := n.cfg.Peers[name]
	return p, ok
}

// Route is the queue's local delivery for a mailbox of another node (or a
// frozen one): it relays msg to the home node. handled is false for
// mailboxes stored here.
func (n *Node) Route(ctx context.Context, acct *directory.Account, from, rcpt string, msg io.Reader) (handled bool, err error) {
	if n.isFrozen(acct.Address) {
		return true, ErrMoving // the queue retries once the move is done
	}
	home := n.Home(acct)
	if home == n.cfg.Self {
		return false, nil
	}
	peer, ok := n.peer(home)
	if !ok || peer.Relay == "" {
		return true, ErrNodeUnavailable.With(fmt.Errorf("cluster: node %q of %s has no relay address in cluster.nodes", home, acct.Address))
	}
	if err := n.cfg.Relay.Send(ctx, peer.Relay, peer.RelayName, from, rcpt, msg); err != nil {
		return true, err
	}
	n.log.Info("cluster: relayed", "rcpt", rcpt, "node", home)
	return true, nil
}

// Hooks wraps the policy hooks the daemons call: a login to a mailbox
// that is frozen or lives on another node is deferred, and sessions are
// remembered so Freeze can end them.
func (n *Node) Hooks(inner policy.Hooks) policy.Hooks { return routedHooks{Hooks: inner, n: n} }

type routedHooks struct {
	policy.Hooks
	n *Node
}

func (h routedHooks) AfterAuth(ctx context.Context, o policy.AuthOutcome) policy.Decision {
	d := h.Hooks.AfterAuth(ctx, o)
	if d.Refused() || o.Result != policy.AuthOK || o.Account == nil {
		return d
	}
	switch {
	case h.n.isFrozen(o.Account.Address):
		return policy.Decision{Verdict: policy.Defer, Rule: "cluster-move", Reason: ErrMoving}
	case !h.n.Here(o.Account):
		return policy.Decision{Verdict: policy.Defer, Rule: "cluster-home", Reason: ErrElsewhere}
	}
	return d
}

func (h routedHooks) TrackSession(s policy.Session) func() {
	untrack := h.Hooks.TrackSession(s)
	if s.Account == nil {
		return untrack
	}
	addr := s.Account.Address
	ps := &s
	h.n.mu.Lock()
	if h.n.sessions[addr] == nil {
		h.n.sessions[addr] = map[*policy.Session]bool{}
	}
	h.n.sessions[addr][ps] = true
	h.n.mu.Unlock()
	return func() {
		h.n.mu.Lock()
		delete(h.n.sessions[addr], ps)
		if len(h.n.sessions[addr]) == 0 {
			delete(h.n.sessions, addr)
		}
		h.n.mu.Unlock()
		untrack()
	}
}
