package config

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"
)

// Policy configures the policy engine (package policy): account security
// rules, daily-access tracking, digests and retention. Rules has the
// defaults of the Ninh Bình regulation (QĐ 162/2025/QĐ-UBND); Domains
// overrides them per mail domain. `congvu reload` (or SIGHUP) re-reads this
// section without dropping connections.
type Policy struct {
	// DBPath is the policy database (audit log, access records, usage
	// counters, forwarding), relative to server.data_dir.
	DBPath string `toml:"db_path"`
	// TimeZone defines "a day" for access tracking, reports and digests.
	TimeZone string `toml:"time_zone"`
	// FlushSeconds is how long access records, usage counters and audit
	// entries wait in memory before one batched write.
	FlushSeconds int `toml:"flush_seconds"`
	// StateDomains are the domains of the state mail system, beside the
	// local domains: "*.gov.vn" matches every subdomain of gov.vn.
	// Forwarding is allowed only into them, and usage reports count mail
	// with them as "state agencies".
	StateDomains []string `toml:"state_domains"`
	// DigestHour is the local hour (0-23) at which each unit admin gets the
	// list of the unit's officials who did not access yesterday; -1 = off.
	DigestHour int `toml:"digest_hour"`
	// DigestFrom is the sender of digests and operator alerts; "" means
	// postmaster@ the first local domain.
	DigestFrom string `toml:"digest_from"`
	// JobIntervalMinutes is how often lifecycle jobs run (initial
	// passwords, deletion of retired mailboxes).
	JobIntervalMinutes int `toml:"job_interval_minutes"`
	// DenyNetworks refuses connections from these CIDR prefixes on every
	// protocol.
	DenyNetworks []string `toml:"deny_networks"`
	// RefuseExpiredPasswords refuses mail-client logins (IMAP, POP3, SMTP
	// AUTH, ManageSieve, CardDAV, LDAP binds) with an initial password or
	// one older than [password] max_age_days, telling the official where to
	// change it on the web (RFC 5530 EXPIRED, 535 5.7.8). The web itself
	// still signs them in, to the password form.
	RefuseExpiredPasswords bool `toml:"refuse_expired_passwords"`
	// ExpiredPasswordExemptFile lists accounts exempt from that refusal:
	// one address per line, or a CSV whose first column is the address
	// (the quickstart names its demo-accounts.csv, whose passwords are
	// printed for trying clients at once). Relative to server.data_dir;
	// "" exempts nobody.
	ExpiredPasswordExemptFile string `toml:"expired_password_exempt_file"`
	// PasswordChangeURL is the web address officials are told to change
	// their password at; "" means https://<host name>[:port]/password of
	// the HTTPS listener.
	PasswordChangeURL string `toml:"password_change_url"`
	// SessionCheckSeconds is how often open IMAP/POP3 sessions are checked
	// against the directory, so a lock, retirement or password reset made
	// by another process or node ends them within this time (changes made
	// through this server end them at once).
	SessionCheckSeconds int `toml:"session_check_seconds"`
	// Rules apply to every domain unless Domains overrides them.
	Rules Rules `toml:"rules"`
	// RetentionByTitle keeps the mailbox of a retired official for a
	// number of months by rank: the key is the start of a chức vụ
	// ("Giám đốc" matches "Giám đốc Sở", not "Phó giám đốc"; case and
	// diacritics ignored; the longest match wins); titles that match none
	// keep rules.retired_retention_months. 0 keeps the mailbox.
	RetentionByTitle map[string]int `toml:"retention_by_title"`
	// Domains overrides rules for one mail domain, for example
	//   [policy.domains."ninhbinh.gov.vn"]
	//   lockout_failures = 5
	Domains map[string]RuleOverrides `toml:"domains"`
	// Documents is the signed-document rule and SecretGuard the
	// state-secret guard (signing.go).
	Documents   Documents   `toml:"documents"`
	SecretGuard SecretGuard `toml:"secret_guard"`
}

// Rules are the per-domain thresholds.
type Rules struct {
	// LockoutFailures: more than this many consecutive failed logins over
	// all protocols lock the account, so with 12 the 13th failure locks
	// (QĐ 162/2025: "quá 12 lần"); 0 = never.
	LockoutFailures int `toml:"lockout_failures"`
	// IPMaxFailures failed logins from one IP address within
	// IPWindowMinutes make further logins from it wait for the window to
	// pass (0 = no throttling).
	IPMaxFailures   int `toml:"ip_max_failures"`
	IPWindowMinutes int `toml:"ip_window_minutes"`
	// More than SendLimitExternal messages to outside domains within
	// SendWindowMinutes lock sending for the account and alert the
	// operators (0 = no limit): the 251st with 250. SendLimitCounts says
	// what is counted: "messages" (the regulation's wording: a message with
	// any outside recipient counts once) or "recipients" (each outside
	// recipient counts).
	SendLimitExternal int    `toml:"send_limit_external"`
	SendWindowMinutes int    `toml:"send_window_minutes"`
	SendLimitCounts   string `toml:"send_limit_counts"`
	// InitialPasswordMaxDays locks an account whose initial password is
	// still unchanged after this many days (0 = never).
	InitialPasswordMaxDays int `toml:"initial_password_max_days"`
	// RetiredRetentionMonths deletes a retired account's mailbox this many
	// months after retirement (3, 6 or 12 by regulation; 0 = keep).
	RetiredRetentionMonths int `toml:"retired_retention_months"`
	// InactiveDays: officials without access for this many days are listed
	// in access reports.
	InactiveDays int `toml:"inactive_days"`
}

// RuleOverrides is a domain's [policy.domains."…"] table: a missing key
// keeps the value of [policy.rules].
type RuleOverrides struct {
	LockoutFailures        *int    `toml:"lockout_failures"`
	IPMaxFailures          *int    `toml:"ip_max_failures"`
	IPWindowMinutes        *int    `toml:"ip_window_minutes"`
	SendLimitExternal      *int    `toml:"send_limit_external"`
	SendWindowMinutes      *int    `toml:"send_window_minutes"`
	SendLimitCounts        *string `toml:"send_limit_counts"`
	InitialPasswordMaxDays *int    `toml:"initial_password_max_days"`
	RetiredRetentionMonths *int    `toml:"retired_retention_months"`
	InactiveDays           *int    `toml:"inactive_days"`
}

// DefaultPolicy returns the defaults of the [policy] section.
func DefaultPolicy() Policy {
	return Policy{
		DBPath:                 "policy.db",
		TimeZone:               "Asia/Ho_Chi_Minh",
		FlushSeconds:           2,
		StateDomains:           []string{"*.gov.vn"},
		DigestHour:             7,
		JobIntervalMinutes:     60,
		DenyNetworks:           []string{},
		SessionCheckSeconds:    5,
		RefuseExpiredPasswords: true,
		Documents:              defaultDocuments(),
		SecretGuard:            defaultSecretGuard(),
		RetentionByTitle: map[string]int{
			"Chủ tịch": 12, "Phó chủ tịch": 12, "Bí thư": 12, "Phó bí thư": 12,
			"Giám đốc": 12, "Phó giám đốc": 12, "Chánh văn phòng": 12, "Phó chánh văn phòng": 12,
			"Trưởng": 6, "Phó trưởng": 6,
		},
		Rules: Rules{
			LockoutFailures:        12,
			IPMaxFailures:          30,
			IPWindowMinutes:        15,
			SendLimitExternal:      250,
			SendWindowMinutes:      10,
			SendLimitCounts:        SendCountMessages,
			InitialPasswordMaxDays: 30,
			RetiredRetentionMonths: 3,
			InactiveDays:           3,
		},
	}
}

// Apply returns r with the overrides set in o.
func (o RuleOverrides) Apply(r Rules) Rules {
	for _, f := range []struct {
		src *int
		dst *int
	}{
		{o.LockoutFailures, &r.LockoutFailures}, {o.IPMaxFailures, &r.IPMaxFailures},
		{o.IPWindowMinutes, &r.IPWindowMinutes}, {o.SendLimitExternal, &r.SendLimitExternal},
		{o.SendWindowMinutes, &r.SendWindowMinutes}, {o.InitialPasswordMaxDays, &r.InitialPasswordMaxDays},
		{o.RetiredRetentionMonths, &r.RetiredRetentionMonths}, {o.InactiveDays, &r.InactiveDays},
	} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	if o.SendLimitCounts != nil {
		r.SendLimitCounts = *o.SendLimitCounts
	}
	return r
}

// What send_limit_counts counts.
const (
	SendCountMessages   = "messages"
	SendCountRecipients = "recipients"
)

// Validate checks the [policy] section and normalises domain names.
func (p *Policy) Validate() error {
	if p.DBPath == "" {
		return fmt.Errorf("policy.db_path must be set")
	}
	if _, err := time.LoadLocation(p.TimeZone); err != nil {
		return fmt.Errorf("policy.time_zone: %w", err)
	}
	if p.FlushSeconds <= 0 || p.JobIntervalMinutes <= 0 || p.SessionCheckSeconds <= 0 {
		return fmt.Errorf("policy.flush_seconds, policy.job_interval_minutes and policy.session_check_seconds must be positive")
	}
	if p.DigestHour < -1 || p.DigestHour > 23 {
		return fmt.Errorf("policy.digest_hour must be -1 (off) or 0-23, not %d", p.DigestHour)
	}
	for i, d := range p.StateDomains {
		d = strings.ToLower(strings.TrimSpace(d))
		if base, _ := strings.CutPrefix(d, "*."); base == "" || strings.ContainsAny(base, " @/*") {
			return fmt.Errorf("policy.state_domains: invalid domain %q", p.StateDomains[i])
		}
		p.StateDomains[i] = d
	}
	for _, n := range p.DenyNetworks {
		if _, err := netip.ParsePrefix(n); err != nil {
			return fmt.Errorf("policy.deny_networks: %w", err)
		}
	}
	for title, months := range p.RetentionByTitle {
		if months < 0 || strings.TrimSpace(title) == "" {
			return fmt.Errorf("policy.retention_by_title: %q = %d: want a title and 0 or more months", title, months)
		}
	}
	if err := p.Rules.validate("policy.rules"); err != nil {
		return err
	}
	if err := p.Documents.validate(); err != nil {
		return err
	}
	names := make([]string, 0, len(p.Domains))
	for d := range p.Domains {
		names = append(names, d)
	}
	sort.Strings(names)
	for _, d := range names {
		if d != strings.ToLower(d) {
			return fmt.Errorf("policy.domains: write domain %q in lower case", d)
		}
		if err := p.Domains[d].Apply(p.Rules).validate(fmt.Sprintf("policy.domains.%q", d)); err != nil {
			return err
		}
	}
	return nil
}

func (r Rules) validate(where string) error {
	for name, v := range map[string]int{
		"lockout_failures": r.LockoutFailures, "ip_max_failures": r.IPMaxFailures,
		"send_limit_external": r.SendLimitExternal, "initial_password_max_days": r.InitialPasswordMaxDays,
		"retired_retention_months": r.RetiredRetentionMonths, "inactive_days": r.InactiveDays,
	} {
		if v < 0 {
			return fmt.Errorf("%s.%s must not be negative", where, name)
		}
	}
	if r.IPMaxFailures > 0 && r.IPWindowMinutes <= 0 {
		return fmt.Errorf("%s.ip_window_minutes must be positive when ip_max_failures is set", where)
	}
	switch r.SendLimitCounts {
	case SendCountMessages, SendCountRecipients:
	default:
		return fmt.Errorf("%s.send_limit_counts must be %q or %q, not %q", where, SendCountMessages, SendCountRecipients, r.SendLimitCounts)
	}
	if r.SendLimitExternal > 0 && r.SendWindowMinutes <= 0 {
		return fmt.Errorf("%s.send_window_minutes must be positive when send_limit_external is set", where)
	}
	return nil
}
