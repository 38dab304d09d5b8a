package bot

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
)

// Metrics are the Prometheus series clubbot exposes on /metrics. Each server has its own
// registry so tests can run several servers in one process.
type Metrics struct {
	Registry    *prometheus.Registry
	Received    *prometheus.CounterVec
	Duplicates  prometheus.Counter
	Rejected    *prometheus.CounterVec
	CommitGroup prometheus.Histogram
	Processed   *prometheus.CounterVec
	WorkerLag   prometheus.Histogram
	OutQueued   *prometheus.CounterVec
	OutSent     *prometheus.CounterVec
	OutRetried  *prometheus.CounterVec
	OutHeld     prometheus.Counter
	OutFailed   *prometheus.CounterVec
	Refreshes   *prometheus.CounterVec
	Reports     prometheus.Counter
	OutResent   prometheus.Counter
	OutFallback *prometheus.CounterVec
	Media       *prometheus.CounterVec

	// receivedBy caches Received's counter per event-name label (label → prometheus.Counter),
	// filled on first use so /metrics shows the same series as before: WithLabelValues
	// hashes and looks up the label on every call, on the webhook's hot path.
	receivedBy sync.Map
}

// received returns the Received counter of an event name (unknown names count as "other").
func (m *Metrics) received(eventName string) prometheus.Counter {
	label := metricEventName(eventName)
	if c, ok := m.receivedBy.Load(label); ok {
		return c.(prometheus.Counter)
	}
	c := m.Received.WithLabelValues(label)
	m.receivedBy.Store(label, c)
	return c
}

// NewMetrics registers clubbot's series (and the Go runtime's) in a new registry.
func NewMetrics() *Metrics {
	r := prometheus.NewRegistry()
	f := func(c prometheus.Collector) { r.MustRegister(c) }
	m := &Metrics{
		Registry: r,
		Received: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "clubbot_webhook_received_total",
			Help: "Signed webhook events accepted, by event name."}, []string{"event"}),
		Duplicates: prometheus.NewCounter(prometheus.CounterOpts{Name: "clubbot_webhook_duplicate_total",
			Help: "Webhook deliveries recognised as redeliveries."}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "clubbot_webhook_rejected_total",
			Help: "Webhook requests not recorded, by reason."}, []string{"reason"}),
		CommitGroup: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "clubbot_inbox_commit_group_size",
			Help: "Events committed per inbox transaction.", Buckets: prometheus.ExponentialBuckets(1, 2, 10)}),
		Processed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "clubbot_worker_processed_total",
			Help: "Inbox events processed by the worker, by outcome."}, []string{"outcome"}),
		WorkerLag: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "clubbot_worker_lag_seconds",
			Help: "Time from receipt to processing of an event.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}),
		OutQueued: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "clubbot_outbox_queued_total",
			Help: "Outgoing messages recorded, by kind."}, []string{"kind"}),
		OutSent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "clubbot_outbox_sent_total",
			Help: "Outgoing messages accepted by Zalo, by kind."}, []string{"kind"}),
		OutRetried: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "clubbot_outbox_retried_total",
			Help: "Send attempts to be retried, by error code."}, []string{"code"}),
		OutHeld: prometheus.NewCounter(prometheus.CounterOpts{Name: "clubbot_outbox_held_total",
			Help: "Messages held because the recipient is outside the interaction window."}),
		OutFailed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "clubbot_outbox_failed_total",
			Help: "Messages that failed for good, by error code."}, []string{"code"}),
		Refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "clubbot_token_refresh_total",
			Help: "OA token refreshes, by outcome."}, []string{"outcome"}),
		Reports: prometheus.NewCounter(prometheus.CounterOpts{Name: "clubbot_reports_stored_total",
			Help: "Confirmed meeting reports stored."}),
		OutResent: prometheus.NewCounter(prometheus.CounterOpts{Name: "clubbot_outbox_resent_after_crash_total",
			Help: "Messages in flight when the process stopped, sent again at start (possible duplicates)."}),
		OutFallback: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "clubbot_outbox_fallback_total",
			Help: "Messages sent again in a simpler form after Zalo refused them, by what was dropped."}, []string{"dropped"}),
		Media: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "clubbot_media_downloads_total",
			Help: "Photo downloads, by outcome."}, []string{"outcome"}),
	}
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, c := range []prometheus.Collector{m.Received, m.Duplicates, m.Rejected, m.CommitGroup, m.Processed,
		m.WorkerLag, m.OutQueued, m.OutSent, m.OutRetried, m.OutHeld, m.OutFailed, m.Refreshes, m.Reports,
		m.OutResent, m.OutFallback, m.Media} {
		f(c)
	}
	return m
}

// gathered returns the series of the metric family name, as /metrics shows them (for the
// benchmarks and tests that read a figure back).
func (m *Metrics) gathered(name string) []*dto.Metric {
	fams, err := m.Registry.Gather()
	if err != nil {
		return nil
	}
	for _, f := range fams {
		if f.GetName() == name {
			return f.GetMetric()
		}
	}
	return nil
}
