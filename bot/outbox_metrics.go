package bot

import "github.com/prometheus/client_golang/prometheus"

// registerOutboxGauges adds the store's queues to /metrics: outbox items waiting to be sent,
// items held for recipients outside the interaction window, and inbox events not yet
// processed. They are read from the store's indexes at scrape time, so they are right
// after a restart too.
func (b *Bot) registerOutboxGauges() {
	counts := func(held bool) func() float64 {
		return func() float64 {
			q, h, err := b.o.DB.OutboxCounts()
			if err != nil {
				return -1
			}
			if held {
				return float64(h)
			}
			return float64(q)
		}
	}
	b.m.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "clubbot_outbox_queued",
			Help: "Outgoing messages waiting to be sent (including those waiting for a retry)."}, counts(false)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "clubbot_outbox_held",
			Help: "Outgoing messages held until their recipient next writes (outside the 7-day window)."}, counts(true)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "clubbot_inbox_pending",
			Help: "Webhook events recorded and not yet processed (the worker's backlog)."}, func() float64 {
			n, err := b.o.DB.InboxPending()
			if err != nil {
				return -1
			}
			return float64(n)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "clubbot_inbox_dedup_keys_in_memory",
			Help: "Keys of recent webhook events held in memory for deduplication (store/dedup.go)."},
			func() float64 { return float64(b.o.DB.DedupInMemory()) }),
	)
}
