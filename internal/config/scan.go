package config

import (
	"fmt"
	"net/url"
)

// Scan configures the content scanners run on every message before the
// 250 (package scan). Both are off until an address is set.
type Scan struct {
	// Clamd is clamd's TCPSocket ("127.0.0.1:3310") or LocalSocket
	// ("/run/clamav/clamd.ctl"); "" turns virus scanning off. clamd's
	// StreamMaxLength must be at least smtp.max_message_bytes.
	Clamd string `toml:"clamd"`
	// ClamdUnavailable: "tempfail" (451 4.7.1, senders retry; nothing
	// unscanned gets in) or "accept" (deliver, marked
	// X-Congvu-Virus-Scan: unavailable).
	ClamdUnavailable string `toml:"clamd_unavailable"`
	// Rspamd is the URL of an rspamd normal worker
	// ("http://127.0.0.1:11333"); "" turns spam and phishing scoring off.
	Rspamd string `toml:"rspamd"`
	// RspamdUnavailable: "accept" (deliver, X-Spam-Status: unchecked) or
	// "tempfail".
	RspamdUnavailable string `toml:"rspamd_unavailable"`
	// TimeoutSeconds bounds each scanner's answer.
	TimeoutSeconds int `toml:"timeout_seconds"`
}

func defaultScan() Scan {
	return Scan{ClamdUnavailable: "tempfail", RspamdUnavailable: "accept", TimeoutSeconds: 60}
}

func (s Scan) validate() error {
	for name, v := range map[string]string{"clamd_unavailable": s.ClamdUnavailable, "rspamd_unavailable": s.RspamdUnavailable} {
		if v != "tempfail" && v != "accept" {
			return fmt.Errorf("scan.%s must be tempfail or accept, not %q", name, v)
		}
	}
	if s.Rspamd != "" {
		u, err := url.Parse(s.Rspamd)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("scan.rspamd must be an http(s) URL such as http://127.0.0.1:11333, not %q", s.Rspamd)
		}
	}
	if s.TimeoutSeconds <= 0 {
		return fmt.Errorf("scan.timeout_seconds must be positive")
	}
	return nil
}
