package config

import (
	"fmt"
	"net/netip"
)

// Limits caps the connections every listener holds (internal/connlimit).
type Limits struct {
	// ConnectionsPerIP is the most connections one client address may hold
	// on one listener (0 = no cap). Offices behind one NAT address share
	// it: keep it well above a client's few connections times the staff.
	ConnectionsPerIP int `toml:"connections_per_ip"`
	// ConnectionsTotal is the most connections one listener holds (0 = no cap).
	ConnectionsTotal int `toml:"connections_total"`
	// ExemptNetworks are not held to connections_per_ip (a proxy in front
	// of congvu, monitoring). Loopback is not exempt unless listed.
	ExemptNetworks []string `toml:"exempt_networks"`
}

func defaultLimits() Limits {
	return Limits{ConnectionsPerIP: 100, ConnectionsTotal: 20000, ExemptNetworks: []string{}}
}

func (l Limits) validate() error {
	if l.ConnectionsPerIP < 0 || l.ConnectionsTotal < 0 {
		return fmt.Errorf("limits: connections_per_ip and connections_total must not be negative")
	}
	for _, n := range l.ExemptNetworks {
		if _, err := netip.ParsePrefix(n); err != nil {
			if _, err := netip.ParseAddr(n); err != nil {
				return fmt.Errorf("limits.exempt_networks: %q is neither a CIDR prefix nor an address", n)
			}
		}
	}
	return nil
}
