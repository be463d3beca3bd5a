// Package metrics defines congvu's Prometheus metrics. One *Metrics is created
// per process (or per test) and passed to every daemon; nothing is global.
package metrics

import "github.com/prometheus/client_golang/prometheus"

// Metrics holds the counters shared by the protocol daemons.
type Metrics struct {
	Registry *prometheus.Registry
	// Connections counts accepted connections by protocol
	// (smtp, submission, imap, pop3, http).
	Connections *prometheus.CounterVec
	// Logins counts authentication attempts by protocol and result (ok, failed, locked, unavailable).
	Logins *prometheus.CounterVec
	// MessagesAccepted counts messages answered 250 by listener (mx, submission).
	MessagesAccepted *prometheus.CounterVec
	// MessagesRejected counts refused transactions by listener and SMTP code.
	MessagesRejected *prometheus.CounterVec
	// Deliveries counts per-recipient local deliveries by result (ok, overquota, error).
	Deliveries *prometheus.CounterVec
	// Appends counts IMAP APPENDs by result.
	Appends *prometheus.CounterVec
	// SMTPDataSeconds is how long the end of DATA takes until the reply
	// (spooling, checks, scanning, fsynced delivery), by listener and
	// result (accepted, refused).
	SMTPDataSeconds *prometheus.HistogramVec
	// IMAPCommandSeconds is how long IMAP commands take, by command.
	IMAPCommandSeconds *prometheus.HistogramVec
	// BuildInfo is 1, labelled with the version, VCS revision and Go version.
	BuildInfo *prometheus.GaugeVec
	// ScanVerdicts counts content-scanner verdicts by listener and action
	// (deliver, junk, reject, defer).
	ScanVerdicts *prometheus.CounterVec
	// ConnectionsRefused counts connections refused by the [limits] caps,
	// by listener and reason (per_ip, total).
	ConnectionsRefused *prometheus.CounterVec
	// Mail between servers: outbound queue, delivery and inbound
	// authentication (see mail.go).
	Mail
}

// New creates the metrics on a fresh registry that also carries the Go and
// process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		Connections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "congvu_connections_total", Help: "Accepted connections by protocol.",
		}, []string{"proto"}),
		Logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "congvu_logins_total", Help: "Authentication attempts by protocol and result.",
		}, []string{"proto", "result"}),
		MessagesAccepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "congvu_smtp_messages_accepted_total", Help: "Messages accepted with 250, by listener.",
		}, []string{"listener"}),
		MessagesRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "congvu_smtp_rejections_total", Help: "Refused SMTP commands by listener and reply code.",
		}, []string{"listener", "code"}),
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "congvu_deliveries_total", Help: "Local deliveries per recipient, by result.",
		}, []string{"result"}),
		Appends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "congvu_imap_appends_total", Help: "IMAP APPEND commands by result.",
		}, []string{"result"}),
		SMTPDataSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "congvu_smtp_data_seconds", Help: "Time from the start of DATA to its reply, by listener and result.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"listener", "result"}),
		IMAPCommandSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "congvu_imap_command_seconds", Help: "IMAP command duration by command.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
		}, []string{"command"}),
		BuildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "congvu_build_info", Help: "Always 1; the labels say which build is running.",
		}, []string{"version", "revision", "goversion"}),
		ScanVerdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "congvu_scan_verdicts_total", Help: "Content scanner (clamd, rspamd) verdicts by listener and action.",
		}, []string{"listener", "action"}),
		ConnectionsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "congvu_connections_refused_total", Help: "Connections refused by the [limits] caps, by listener and reason.",
		}, []string{"listener", "reason"}),
	}
	m.Mail = newMail(reg)
	reg.MustRegister(m.SMTPDataSeconds, m.IMAPCommandSeconds, m.BuildInfo, m.ScanVerdicts, m.ConnectionsRefused, m.Connections, m.Logins, m.MessagesAccepted, m.MessagesRejected, m.Deliveries, m.Appends,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}
