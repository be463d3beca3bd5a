package metrics

import "github.com/prometheus/client_golang/prometheus"

// Mail holds the metrics of mail between servers.
type Mail struct {
	// QueueMessages is the number of messages in the outbound queue, and
	// QueueRecipients the recipients still to be delivered.
	QueueMessages, QueueRecipients prometheus.Gauge
	// QueueOldestSeconds is the age of the oldest message in the queue
	// (0 when empty): an alert on it catches a stuck destination.
	QueueOldestSeconds prometheus.Gauge
	// OutboundDeliveries counts per-recipient delivery attempts by result
	// (delivered, deferred, failed, expired).
	OutboundDeliveries *prometheus.CounterVec
	// OutboundTLS counts outbound SMTP connections by transport security
	// (dane, mta-sts, verified, unverified, plaintext).
	OutboundTLS *prometheus.CounterVec
	// Notifications counts delivery status notifications sent by the
	// queue, by action (failed, delayed).
	Notifications *prometheus.CounterVec
	// InboundVerdicts counts MX messages by authentication verdict
	// (deliver, junk, reject).
	InboundVerdicts *prometheus.CounterVec
}

func newMail(reg *prometheus.Registry) Mail {
	m := Mail{
		QueueMessages: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "congvu_queue_messages", Help: "Messages in the outbound queue.",
		}),
		QueueRecipients: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "congvu_queue_recipients", Help: "Recipients in the outbound queue still to be delivered.",
		}),
		QueueOldestSeconds: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "congvu_queue_oldest_seconds", Help: "Age of the oldest message in the outbound queue (0 when empty).",
		}),
		OutboundDeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "congvu_outbound_deliveries_total", Help: "Outbound delivery attempts per recipient, by result.",
		}, []string{"result"}),
		OutboundTLS: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "congvu_outbound_connections_total", Help: "Outbound SMTP connections by transport security.",
		}, []string{"security"}),
		Notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "congvu_queue_notifications_total", Help: "Delivery status notifications sent by the queue, by action.",
		}, []string{"action"}),
		InboundVerdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "congvu_inbound_verdicts_total", Help: "Messages received on MX by authentication verdict.",
		}, []string{"action"}),
	}
	reg.MustRegister(m.QueueMessages, m.QueueRecipients, m.QueueOldestSeconds, m.OutboundDeliveries,
		m.OutboundTLS, m.Notifications, m.InboundVerdicts)
	return m
}
