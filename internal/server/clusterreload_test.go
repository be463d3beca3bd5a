package server

import (
	"log/slog"
	"strings"
	"testing"

	"congvu/internal/config"
)

// A reload applies a new node table and refuses, naming the setting,
// what a running node cannot change.
func TestClusterReload(t *testing.T) {
	node := func(ip string) config.ClusterNode {
		return config.ClusterNode{IMAP: ip + ":1143", Relay: ip + ":2526", Admin: ip + ":8081"}
	}
	cur := config.Cluster{Node: "node1", DefaultNode: "node1", SecretFile: "cluster-secret",
		ProxyNetworks: []string{"10.0.0.5/32"}, Nodes: map[string]config.ClusterNode{"node1": node("10.0.0.11"), "node2": node("10.0.0.12")}}
	r := &Running{log: slog.New(slog.DiscardHandler)}
	r.clusterCfg.Store(&cur)

	next := cur
	next.Nodes = map[string]config.ClusterNode{"node1": node("10.0.0.11"), "node2": node("10.0.0.12"), "node4": node("10.0.0.14")}
	if err := r.checkClusterReload(next); err != nil {
		t.Fatalf("adding a node refused: %v", err)
	}
	r.reloadCluster(next)
	if got := r.clusterCfg.Load().Nodes["node4"].IMAP; got != "10.0.0.14:1143" {
		t.Errorf("auth_http's node table after reload: node4 imap %q", got)
	}
	for setting, change := range map[string]func(c *config.Cluster){
		"cluster.node":           func(c *config.Cluster) { c.Node = "node2" },
		"cluster.default_node":   func(c *config.Cluster) { c.DefaultNode = "node2" },
		"cluster.secret_file":    func(c *config.Cluster) { c.SecretFile = "new-secret" },
		"cluster.ca_file":        func(c *config.Cluster) { c.CAFile = "ca.pem" },
		"cluster.proxy_networks": func(c *config.Cluster) { c.ProxyNetworks = []string{"10.0.0.6/32"} },
		"no longer lists":        func(c *config.Cluster) { c.Nodes = map[string]config.ClusterNode{"node2": node("10.0.0.12")} },
	} {
		c := *r.clusterCfg.Load()
		change(&c)
		err := r.checkClusterReload(c)
		if err == nil || !strings.Contains(err.Error(), setting) {
			t.Errorf("changing %s: %v, want a refusal naming it", setting, err)
		}
	}
}
