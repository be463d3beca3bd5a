package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"congvu/autoconfig"
	"congvu/directory/orgdb"
	"congvu/internal/config"
	"congvu/msgauth"
	"congvu/resolve"
)

const dnsUsage = `usage:
  congvu dns --config FILE DOMAIN         print the zone-file records to publish for DOMAIN
  congvu dns check --config FILE DOMAIN   ask the configured resolver which of them are missing or wrong
`

// dnsRecord is one record an operator publishes, with how to check it.
type dnsRecord struct {
	section string // comment printed before the first record of a section
	name    string // FQDN with the final dot
	typ     string
	value   string // RDATA in zone-file syntax
	check   func(ctx context.Context, r *resolve.DNS) (ok bool, found string)
	// hidden records are checked but not printed; a record without a
	// name is a comment line printed as its value.
	hidden bool
}

// cmdDNS prints (or checks) every DNS record a domain served by congvu
// needs: the host's addresses, MX, SPF, DKIM from the keys on disk, DMARC,
// MTA-STS and TLS-RPT, the client SRV records (RFC 6186, RFC 8314, RFC
// 6764, RFC 5804) and the autoconfig/autodiscover names.
func cmdDNS(args []string, stdout, stderr io.Writer) error {
	check := len(args) > 0 && args[0] == "check"
	if check {
		args = args[1:]
	}
	fs := flag.NewFlagSet("dns", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, dnsUsage)
		return flag.ErrHelp
	}
	domain := strings.TrimSuffix(strings.ToLower(fs.Arg(0)), ".")
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	if !slices.Contains(cfg.Server.LocalDomains, domain) && aliasTarget(cfg, domain) == "" {
		return fmt.Errorf("%s is not in server.local_domains nor a domain alias / không phải tên miền của hệ thống này", domain)
	}
	signer, err := msgauth.LoadSigner(cfg.Path(cfg.DKIM.KeysPath))
	if err != nil {
		return fmt.Errorf("dkim keys: %w", err)
	}
	records := dnsRecords(cfg, domain, signer.Records(domain))
	if !check {
		printZone(stdout, domain, records)
		if len(signer.Records(domain)) == 0 {
			fmt.Fprintf(stderr, "cảnh báo / warning: no DKIM key for %s yet; make one with `congvu dkim keygen --config %s %s`\n", domain, *path, domain)
		}
		return nil
	}
	res, err := resolve.New(resolve.Config{Servers: cfg.DNS.Servers, Timeout: time.Duration(cfg.DNS.TimeoutSeconds) * time.Second})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bad := 0
	for _, rec := range records {
		if rec.check == nil {
			continue
		}
		ok, found := rec.check(ctx, res)
		status := "OK     "
		switch {
		case ok:
		case found == "":
			status, bad = "THIẾU  ", bad+1 // missing
		default:
			status, bad = "SAI    ", bad+1 // wrong
		}
		line := fmt.Sprintf("%s %s %s %s", status, rec.name, rec.typ, rec.value)
		if !ok && found != "" {
			line += "  (đang có / found: " + found + ")"
		}
		fmt.Fprintln(stdout, line)
	}
	if bad > 0 {
		return fmt.Errorf("%d bản ghi thiếu hoặc sai / %d records missing or wrong", bad, bad)
	}
	fmt.Fprintln(stdout, "Đủ mọi bản ghi / every record is in place")
	return nil
}

func printZone(w io.Writer, domain string, records []dnsRecord) {
	fmt.Fprintf(w, "; Bản ghi DNS cần công bố cho %s / records to publish for %s (congvu dns)\n", domain, domain)
	fmt.Fprintf(w, "$ORIGIN %s.\n", domain)
	for _, r := range records {
		if r.section != "" {
			fmt.Fprintf(w, "\n; %s\n", r.section)
		}
		switch {
		case r.hidden:
			continue
		case r.name == "":
			fmt.Fprintln(w, r.value)
			continue
		}
		fmt.Fprintf(w, "%-40s 3600 IN %-5s %s\n", r.name, r.typ, r.value)
	}
}

func quoteTXT(s string) string {
	var parts []string
	for len(s) > 255 {
		parts = append(parts, `"`+s[:255]+`"`)
		s = s[255:]
	}
	parts = append(parts, `"`+s+`"`)
	if len(parts) == 1 {
		return parts[0]
	}
	return "( " + strings.Join(parts, " ") + " )"
}

// listenPort is the port of a [listen] address, 0 when off.
func listenPort(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

func fqdn(name string) string { return strings.TrimSuffix(strings.ToLower(name), ".") + "." }

func dnsRecords(cfg config.Config, domain string, keys []msgauth.KeyRecord) []dnsRecord {
	host := cfg.Server.ClientHostname(domain)
	hostFQDN := fqdn(host)
	pub := cfg.Publish
	report := pub.ReportAddress
	if report == "" {
		report = "postmaster@" + domain
	}
	var out []dnsRecord
	add := func(section, name, typ, value string, check func(context.Context, *resolve.DNS) (bool, string)) {
		out = append(out, dnsRecord{section: section, name: name, typ: typ, value: value, check: check})
	}

	section := "Máy chủ thư / the mail host (" + host + ")"
	if len(pub.IPv4)+len(pub.IPv6) == 0 {
		// Unknown public address: a line to fill in, checked as "resolves".
		out = append(out, dnsRecord{section: section, typ: "A", value: "; " + hostFQDN +
			" 3600 IN A <địa chỉ IPv4 công khai / public IPv4 address> (publish.ipv4)"})
		out = append(out, dnsRecord{name: hostFQDN, typ: "A", value: "(địa chỉ bất kỳ / any address)", hidden: true,
			check: checkAddresses(hostFQDN, nil)})
	}
	for i, ip := range pub.IPv4 {
		add(ifFirst(i == 0, section), hostFQDN, "A", ip, checkAddresses(hostFQDN, []string{ip}))
	}
	for i, ip := range pub.IPv6 {
		add(ifFirst(i == 0 && len(pub.IPv4) == 0, section), hostFQDN, "AAAA", ip, checkAddresses(hostFQDN, []string{ip}))
	}

	add("Nhận thư / mail exchanger (RFC 5321 5.1)", fqdn(domain), "MX", "10 "+hostFQDN, func(ctx context.Context, r *resolve.DNS) (bool, string) {
		mxs, err := r.LookupMX(ctx, domain)
		if err != nil {
			return false, lookupProblem(err)
		}
		var found []string
		for _, mx := range mxs {
			if fqdn(mx.Host) == hostFQDN {
				return true, ""
			}
			found = append(found, fmt.Sprintf("%d %s", mx.Pref, mx.Host))
		}
		return false, strings.Join(found, ", ")
	})
	spf := "v=spf1 mx -all"
	add("SPF (RFC 7208): chỉ máy chủ thư được gửi / only the MX host sends", fqdn(domain), "TXT", quoteTXT(spf),
		checkTXT(domain, "v=spf1", func(got string) bool { return got != "" }))
	for i, k := range keys {
		name := fqdn(k.Selector + "._domainkey." + domain)
		want := dkimKey(k.Record)
		add(ifFirst(i == 0, "DKIM (RFC 6376), khoá trong / keys in "+cfg.DKIM.KeysPath+"/"+domain), name, "TXT", quoteTXT(k.Record),
			checkTXT(name, "v=DKIM1", func(got string) bool { return dkimKey(got) == want }))
	}
	dmarc := "v=DMARC1; p=" + pub.DMARCPolicy + "; rua=mailto:" + report
	add("DMARC (RFC 7489)", fqdn("_dmarc."+domain), "TXT", quoteTXT(dmarc),
		checkTXT("_dmarc."+domain, "v=DMARC1", func(got string) bool { return got != "" }))

	if pub.MTASTSMode != "none" {
		policy := autoconfig.MTASTSPolicy(pub.MTASTSMode, host, pub.MTASTSMaxAgeDays*86400)
		sum := sha256.Sum256([]byte(policy))
		id := hex.EncodeToString(sum[:8])
		add("MTA-STS (RFC 8461): congvu phục vụ chính sách tại / congvu serves the policy at https://mta-sts."+domain+"/.well-known/mta-sts.txt",
			fqdn("_mta-sts."+domain), "TXT", quoteTXT("v=STSv1; id="+id),
			checkTXT("_mta-sts."+domain, "v=STSv1", func(got string) bool { return strings.Contains(got, "id="+id) }))
		add("", fqdn("mta-sts."+domain), "CNAME", hostFQDN, checkAlias("mta-sts."+domain, hostFQDN))
	}
	add("TLS-RPT (RFC 8460)", fqdn("_smtp._tls."+domain), "TXT", quoteTXT("v=TLSRPTv1; rua=mailto:"+report),
		checkTXT("_smtp._tls."+domain, "v=TLSRPTv1", func(got string) bool { return got != "" }))

	l := cfg.Listen
	first := true
	srv := func(service string, prio, port int) {
		if port == 0 {
			return
		}
		name := fqdn(service + "._tcp." + domain)
		add(ifFirst(first, "Tự tìm máy chủ / client service discovery (RFC 6186, RFC 8314 5.1, RFC 6764, RFC 5804 1.8)"),
			name, "SRV", fmt.Sprintf("%d 1 %d %s", prio, port, hostFQDN), checkSRV(name, hostFQDN, port))
		first = false
	}
	// Implicit TLS is preferred (RFC 8314 5.1: lower priority number).
	srv("_imaps", 0, listenPort(l.IMAPS))
	srv("_imap", 10, listenPort(l.IMAP))
	srv("_pop3s", 0, listenPort(l.POP3S))
	srv("_pop3", 10, listenPort(l.POP3))
	srv("_submissions", 0, listenPort(l.Submissions))
	srv("_submission", 10, listenPort(l.Submission))
	https := listenPort(l.HTTPS)
	srv("_autodiscover", 0, https)
	if cfg.AddressBook.CardDAV {
		srv("_carddavs", 0, https)
		if https != 0 {
			add("", fqdn("_carddavs._tcp."+domain), "TXT", quoteTXT("path=/.well-known/carddav"), nil)
		}
	}
	srv("_ldap", 0, listenPort(l.LDAP))
	srv("_sieve", 0, listenPort(l.ManageSieve))

	add("Thunderbird autoconfig, Outlook Autodiscover", fqdn("autoconfig."+domain), "CNAME", hostFQDN, checkAlias("autoconfig."+domain, hostFQDN))
	add("", fqdn("autodiscover."+domain), "CNAME", hostFQDN, checkAlias("autodiscover."+domain, hostFQDN))
	return out
}

func ifFirst(first bool, s string) string {
	if first {
		return s
	}
	return ""
}

// dkimKey is the p= tag of a DKIM record, without spaces.
func dkimKey(record string) string {
	for _, tag := range strings.Split(record, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(tag), "=")
		if strings.TrimSpace(k) == "p" {
			return strings.Join(strings.Fields(v), "")
		}
	}
	return ""
}

func lookupProblem(err error) string {
	if resolve.IsNotFound(err) {
		return ""
	}
	return "lỗi tra cứu / lookup failed: " + err.Error()
}

// checkTXT finds the TXT record of name starting with prefix and judges it.
func checkTXT(name, prefix string, good func(string) bool) func(context.Context, *resolve.DNS) (bool, string) {
	return func(ctx context.Context, r *resolve.DNS) (bool, string) {
		txts, err := r.LookupTXT(ctx, name)
		if err != nil {
			return false, lookupProblem(err)
		}
		var matching []string
		for _, t := range txts {
			if strings.HasPrefix(strings.ToLower(t), strings.ToLower(prefix)) {
				matching = append(matching, t)
			}
		}
		switch {
		case len(matching) == 0:
			return false, ""
		case len(matching) > 1:
			// SPF and DMARC: more than one record is an error (RFC 7208
			// 4.5, RFC 7489 6.6.3).
			return false, fmt.Sprintf("%d records: %s", len(matching), strings.Join(matching, " | "))
		}
		return good(matching[0]), matching[0]
	}
}

func checkAddresses(host string, want []string) func(context.Context, *resolve.DNS) (bool, string) {
	return func(ctx context.Context, r *resolve.DNS) (bool, string) {
		addrs, err := r.LookupIPAddr(ctx, host)
		if err != nil {
			return false, lookupProblem(err)
		}
		var found []string
		for _, a := range addrs {
			found = append(found, a.IP.String())
		}
		for _, w := range want {
			if !slices.Contains(found, net.ParseIP(w).String()) {
				return false, strings.Join(found, ", ")
			}
		}
		return true, ""
	}
}

// checkAlias accepts a name that resolves to the host's addresses (a
// CNAME or the same A/AAAA records).
func checkAlias(name, host string) func(context.Context, *resolve.DNS) (bool, string) {
	return func(ctx context.Context, r *resolve.DNS) (bool, string) {
		got, err := r.LookupIPAddr(ctx, name)
		if err != nil {
			return false, lookupProblem(err)
		}
		want, err := r.LookupIPAddr(ctx, host)
		if err != nil {
			return false, "máy chủ không có địa chỉ / the host has no address"
		}
		var found []string
		for _, g := range got {
			found = append(found, g.IP.String())
			for _, w := range want {
				if g.IP.Equal(w.IP) {
					return true, ""
				}
			}
		}
		return false, strings.Join(found, ", ")
	}
}

func checkSRV(name, target string, port int) func(context.Context, *resolve.DNS) (bool, string) {
	return func(ctx context.Context, r *resolve.DNS) (bool, string) {
		srvs, err := r.LookupSRV(ctx, name)
		if err != nil {
			return false, lookupProblem(err)
		}
		var found []string
		for _, s := range srvs {
			if fqdn(s.Target) == target && int(s.Port) == port {
				return true, ""
			}
			found = append(found, fmt.Sprintf("%d %d %d %s", s.Priority, s.Weight, s.Port, s.Target))
		}
		return false, strings.Join(found, ", ")
	}
}

// aliasTarget is the local domain a merged province's old domain delivers
// to (congvu domain alias add), "" when domain is no alias: such a domain
// needs its own records (MX, SPF, DKIM, DMARC) as long as mail uses it.
func aliasTarget(cfg config.Config, domain string) string {
	org, err := orgdb.Open(cfg.Path(cfg.Directory.OrgDBPath))
	if err != nil {
		return ""
	}
	defer org.Close()
	t, _, _ := org.AliasDomainTarget(context.Background(), domain)
	return t
}
