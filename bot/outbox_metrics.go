package bot

import "github.com/prometheus/client_golang/prometheus"

// registerOutboxGauges adds the outbox's current state to /metrics: items waiting to be
// sent and items held for recipients outside the interaction window. Both are read from
// the store's indexes at scrape time, so they are right after a restart too.
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
	)
}
