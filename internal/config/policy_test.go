package config

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPolicyValidate(t *testing.T) {
	for name, mutate := range map[string]func(*Policy){
		"no db":             func(p *Policy) { p.DBPath = "" },
		"bad zone":          func(p *Policy) { p.TimeZone = "Asia/Nowhere" },
		"digest hour":       func(p *Policy) { p.DigestHour = 24 },
		"zero flush":        func(p *Policy) { p.FlushSeconds = 0 },
		"bad state domain":  func(p *Policy) { p.StateDomains = []string{"*."} },
		"bad network":       func(p *Policy) { p.DenyNetworks = []string{"10.0.0.0/33"} },
		"negative lockout":  func(p *Policy) { p.Rules.LockoutFailures = -1 },
		"window missing":    func(p *Policy) { p.Rules.IPWindowMinutes = 0 },
		"send window":       func(p *Policy) { p.Rules.SendWindowMinutes = 0 },
		"upper-case domain": func(p *Policy) { p.Domains = map[string]RuleOverrides{"KhanhHoa.gov.vn": {}} },
		"bad override": func(p *Policy) {
			n := -3
			p.Domains = map[string]RuleOverrides{"ninhbinh.gov.vn": {RetiredRetentionMonths: &n}}
		},
	} {
		p := DefaultPolicy()
		mutate(&p)
		if err := p.Validate(); err == nil {
			t.Errorf("%s: want error", name)
		}
	}
	p := DefaultPolicy()
	p.StateDomains = []string{"*.GOV.VN", "bocongan.gov.vn"}
	if err := p.Validate(); err != nil || p.StateDomains[0] != "*.gov.vn" {
		t.Errorf("valid: %v %v", err, p.StateDomains)
	}
}

// A domain table overrides only the keys it names.
func TestPolicyDomainOverrides(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(path, []byte(`[server]
local_domains = ["ninhbinh.gov.vn"]
[policy.rules]
lockout_failures = 10
[policy.domains."ninhbinh.gov.vn"]
retired_retention_months = 12
`), 0o600)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Policy.Domains["ninhbinh.gov.vn"].Apply(cfg.Policy.Rules)
	if r.RetiredRetentionMonths != 12 || r.LockoutFailures != 10 || r.SendLimitExternal != 250 {
		t.Errorf("rules for ninhbinh.gov.vn: %+v", r)
	}
}
