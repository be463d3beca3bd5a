package config

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Cluster configures a node among several: mailboxes live on the node
// their account's congvuMailHost names, nginx's mail proxy sends each
// login to that node (the auth_http endpoint on listen.admin), and mail
// for another node's mailbox is relayed to it (listen.relay).
type Cluster struct {
	// Node is this node's name as congvuMailHost values name it; "" runs
	// one node that holds every mailbox.
	Node string `toml:"node"`
	// DefaultNode holds the mailboxes whose account names no node.
	DefaultNode string `toml:"default_node"`
	// ProxyNetworks may connect to the proxy listeners (listen.imap_proxy,
	// pop3_proxy, submission_proxy): the nginx hosts. Others are refused.
	ProxyNetworks []string `toml:"proxy_networks"`
	// AuthWaitSeconds: after a refused login nginx makes the client wait
	// this long before it may try again (auth_http's Auth-Wait).
	AuthWaitSeconds int `toml:"auth_wait_seconds"`
	// SecretFile holds the secret nodes authenticate to each other with
	// on listen.relay (relative to data_dir); the same on every node.
	SecretFile string `toml:"secret_file"`
	// CAFile is a PEM bundle to trust for the other nodes' certificates
	// on the relay; "" = system roots.
	CAFile string `toml:"ca_file"`
	// Nodes lists every node (this one included) by name.
	Nodes map[string]ClusterNode `toml:"nodes"`
}

// ClusterNode is how nginx and the other nodes reach a node: IP:port of its
// listeners (nginx's auth_http answer needs an IP address).
type ClusterNode struct {
	IMAP       string `toml:"imap"`       // its listen.imap_proxy
	POP3       string `toml:"pop3"`       // its listen.pop3_proxy
	Submission string `toml:"submission"` // its listen.submission_proxy
	Relay      string `toml:"relay"`      // its listen.relay
	// Admin is its listen.admin: where a mailbox moved to it is sent.
	Admin string `toml:"admin"`
	// Web is its listen.https: the other nodes forward the webmail pages
	// of its mailboxes there (checked against RelayName, the name in
	// the node's certificate).
	Web string `toml:"web"`
	// RelayName is the name in the node's certificate, checked on the
	// relay and web listeners (default: the host of Relay, or of Web).
	RelayName string `toml:"relay_name"`
}

func defaultCluster() Cluster {
	return Cluster{ProxyNetworks: []string{"127.0.0.1/32", "::1/128"}, AuthWaitSeconds: 3,
		SecretFile: "cluster-secret", Nodes: map[string]ClusterNode{}}
}

// ProxyPrefixes parses ProxyNetworks (addresses count as /32 or /128).
func (c Cluster) ProxyPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, n := range c.ProxyNetworks {
		if p, err := netip.ParsePrefix(n); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(n)
		if err != nil {
			return nil, fmt.Errorf("cluster.proxy_networks: %q is neither a network nor an address", n)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// HomeNode is the node that stores a mailbox whose account names mailHost.
func (c Cluster) HomeNode(mailHost string) string {
	if mailHost != "" {
		return strings.ToLower(mailHost)
	}
	if c.DefaultNode != "" {
		return c.DefaultNode
	}
	return c.Node
}

// IsLocal reports whether a mailbox with this mailHost is stored here.
func (c Cluster) IsLocal(mailHost string) bool {
	return c.Node == "" || c.HomeNode(mailHost) == c.Node
}

func (c *Config) validateCluster() error {
	cl := &c.Cluster
	cl.Node = strings.ToLower(strings.TrimSpace(cl.Node))
	cl.DefaultNode = strings.ToLower(strings.TrimSpace(cl.DefaultNode))
	if _, err := cl.ProxyPrefixes(); err != nil {
		return err
	}
	if cl.AuthWaitSeconds < 0 {
		return fmt.Errorf("cluster.auth_wait_seconds must not be negative")
	}
	nodes := map[string]ClusterNode{}
	for name, n := range cl.Nodes {
		name = strings.ToLower(name)
		for field, addr := range map[string]string{"imap": n.IMAP, "pop3": n.POP3, "submission": n.Submission, "relay": n.Relay, "admin": n.Admin, "web": n.Web} {
			if addr == "" {
				continue
			}
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return fmt.Errorf("cluster.nodes.%s.%s: %w", name, field, err)
			}
			if field != "relay" && field != "admin" && field != "web" {
				if _, err := netip.ParseAddr(host); err != nil {
					return fmt.Errorf("cluster.nodes.%s.%s: %q must be IP:port (nginx connects to what auth_http answers)", name, field, addr)
				}
			}
		}
		nodes[name] = n
	}
	cl.Nodes = nodes
	if cl.Node == "" {
		return nil
	}
	if _, ok := cl.Nodes[cl.Node]; !ok {
		return fmt.Errorf("cluster.node %q is not in cluster.nodes", cl.Node)
	}
	if !c.SMTP.Outbound {
		return fmt.Errorf("cluster.node needs smtp.outbound = true: mail for other nodes waits in the outbound queue")
	}
	if c.Listen.Relay == "" {
		return fmt.Errorf("cluster.node needs listen.relay: the other nodes relay this node's mail there")
	}
	if cl.DefaultNode != "" {
		if _, ok := cl.Nodes[cl.DefaultNode]; !ok {
			return fmt.Errorf("cluster.default_node %q is not in cluster.nodes", cl.DefaultNode)
		}
	}
	return nil
}
