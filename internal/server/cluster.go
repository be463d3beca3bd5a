package server

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"

	"congvu/cluster"
	"congvu/internal/config"
	"congvu/policy"
	"congvu/storage"
	"congvu/web/core"
)

// startCluster makes this node one of several ([cluster]): mail for
// mailboxes of other nodes is queued and relayed to them, the relay
// listener takes theirs, logins to mailboxes elsewhere are deferred.
// Both results are nil for a single node.
func startCluster(cfg config.Config, r *Running, mp *mailParts, tlsCfg *tls.Config, log *slog.Logger) (*cluster.Node, *cluster.RelayServer, error) {
	cl := cfg.Cluster
	if cl.Node == "" {
		return nil, nil, nil
	}
	secret, trust, err := clusterTrust(cfg)
	if err != nil {
		return nil, nil, err
	}
	peers, admins := clusterPeers(cl)
	node := cluster.New(cluster.Config{Self: cl.Node, DefaultNode: cl.DefaultNode, Peers: peers, Dir: r.Dir,
		Local: r.Store, Enqueue: mp.enqueueFunc(), MaxBytes: cfg.SMTP.MaxMessageBytes,
		Relay:  &cluster.Client{Node: cl.Node, Secret: secret, TLS: trust},
		Logger: log.With("component", "cluster")})
	ld := &localDelivery{r: r, hostname: cfg.Server.Hostname}
	relay, err := cluster.NewRelayServer(cluster.RelayConfig{Node: cl.Node, Hostname: cfg.Server.Hostname, TLS: tlsCfg,
		Secret: secret, MaxBytes: cfg.SMTP.MaxMessageBytes + 1<<20, Logger: log.With("listener", "relay")},
		func(ctx context.Context, from, rcpt string, msg []byte) error {
			return ld.DeliverLocal(ctx, from, rcpt, bytes.NewReader(msg))
		})
	if err != nil {
		return nil, nil, err
	}
	node.SetMoveDeps(cluster.MoveDeps{Files: r.Store, Writer: r.Dir, Admins: admins, Secret: secret,
		RetryQueue: func(ctx context.Context) {
			if mp.queue != nil {
				mp.queue.Admin().Retry(ctx, "")
			}
		}})
	return node, relay, nil
}

// clusterTrust reads the secret the nodes share and the certificates
// they trust for each other (cluster.secret_file, cluster.ca_file).
func clusterTrust(cfg config.Config) ([]byte, *tls.Config, error) {
	cl := cfg.Cluster
	secret, err := os.ReadFile(cfg.Path(cl.SecretFile))
	if err != nil {
		return nil, nil, fmt.Errorf("cluster.secret_file: %w", err)
	}
	secret = bytes.TrimSpace(secret)
	trust := &tls.Config{MinVersion: tls.VersionTLS12}
	if cl.CAFile != "" {
		pem, err := os.ReadFile(cfg.Path(cl.CAFile))
		if err != nil {
			return nil, nil, fmt.Errorf("cluster.ca_file: %w", err)
		}
		trust.RootCAs = x509.NewCertPool()
		if !trust.RootCAs.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("cluster.ca_file %s: no certificate", cl.CAFile)
		}
	}
	return secret, trust, nil
}

// webHome forwards the webmail of mailboxes of other nodes to their web
// listener (cluster.nodes.*.web, as last reloaded); nil for one node.
func (r *Running) webHome(cfg config.Config) (*core.HomeProxy, error) {
	if r.cluster == nil {
		return nil, nil
	}
	secret, trust, err := clusterTrust(cfg)
	if err != nil {
		return nil, err
	}
	return core.NewHomeProxy(core.HomeConfig{Self: cfg.Cluster.Node, Secret: secret, TLS: trust,
		HomeOf: r.cluster.Home,
		WebAddr: func(node string) (string, string, bool) {
			n, ok := r.clusterCfg.Load().Nodes[node]
			if !ok || n.Web == "" {
				return "", "", false
			}
			host, _, _ := net.SplitHostPort(n.Web)
			return n.Web, cmp.Or(n.RelayName, host), true
		}})
}

// mountCluster serves the moves of mailboxes on the admin listener:
// POST /cluster/move (congvu mailbox move) and /cluster/mailbox/ (a
// mailbox arriving from another node); both need the cluster secret.
func mountCluster(node *cluster.Node, adminMux *http.ServeMux) {
	if node == nil {
		return
	}
	adminMux.Handle("POST /cluster/move", node.MoveHandler())
	adminMux.Handle("POST /cluster/mailbox/", node.ReceiveHandler())
}

// clusterParts are what Start hands the daemons, cluster or not.
type clusterParts struct {
	hooks    policy.Hooks  // for the daemons' logins
	store    storage.Store // for smtpd and the web
	relay    func(net.Listener) error
	closeRly func() error
}

func (r *Running) clusterParts(node *cluster.Node, relay *cluster.RelayServer) clusterParts {
	if node == nil {
		return clusterParts{hooks: r.Policy, store: r.Store}
	}
	return clusterParts{hooks: node.Hooks(r.Policy), store: node.Store(), relay: relay.ServeTLS, closeRly: relay.Close}
}

// clusterPeers are the nodes' relay and admin addresses.
func clusterPeers(cl config.Cluster) (map[string]cluster.Peer, map[string]string) {
	peers, admins := map[string]cluster.Peer{}, map[string]string{}
	for name, n := range cl.Nodes {
		host, _, _ := net.SplitHostPort(n.Relay)
		peers[name] = cluster.Peer{Relay: n.Relay, RelayName: cmp.Or(n.RelayName, host)}
		admins[name] = n.Admin
	}
	return peers, admins
}

// checkClusterReload refuses a reload that changes what a running node
// cannot change: its own name and default node (they decide which
// mailboxes are stored here: a change means mailboxes to move first), the
// shared secret and CA file (every node must switch at the same moment,
// or relays, moves and nginx's login tickets between them fail), and the
// proxy networks (fixed in the listeners). The node table itself —
// adding a node, a node's new addresses — is applied by reloadCluster.
func (r *Running) checkClusterReload(next config.Cluster) error {
	cur := r.clusterCfg.Load()
	var changed []string
	for name, differs := range map[string]bool{
		"cluster.node":           cur.Node != next.Node,
		"cluster.default_node":   cur.DefaultNode != next.DefaultNode,
		"cluster.secret_file":    cur.SecretFile != next.SecretFile,
		"cluster.ca_file":        cur.CAFile != next.CAFile,
		"cluster.proxy_networks": strings.Join(cur.ProxyNetworks, " ") != strings.Join(next.ProxyNetworks, " "),
	} {
		if differs {
			changed = append(changed, name)
		}
	}
	_, listed := cur.Nodes[cur.Node]
	if _, still := next.Nodes[next.Node]; listed && !still {
		return fmt.Errorf("cluster.nodes no longer lists this node (%s)", next.Node)
	}
	if len(changed) > 0 {
		slices.Sort(changed)
		return fmt.Errorf("%s changed: that needs a restart (docs/operations.md §6)", strings.Join(changed, ", "))
	}
	return nil
}

// reloadCluster applies a re-read [cluster] table: auth_http answers
// with the new nodes' addresses, relays and mailbox moves go to them.
func (r *Running) reloadCluster(next config.Cluster) {
	cur := r.clusterCfg.Load()
	merged := *cur
	merged.Nodes = next.Nodes
	r.clusterCfg.Store(&merged)
	if r.cluster != nil {
		peers, admins := clusterPeers(merged)
		r.cluster.SetNodes(peers, admins)
	}
	if len(next.Nodes) != len(cur.Nodes) {
		r.log.Info("cluster: node table reloaded", "nodes", len(next.Nodes), "before", len(cur.Nodes))
	}
}
