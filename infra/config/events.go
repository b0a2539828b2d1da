package config

// Events configures the EventBridge bus, its archive and the rule targets.
type Events struct {
	// ArchiveRetentionDays is how long the bus archive keeps events for replay.
	ArchiveRetentionDays int
	// TargetRetryAttempts is every target's maximumRetryAttempts.
	TargetRetryAttempts int
	// TargetMaxEventAgeSeconds is every target's maximumEventAgeInSeconds.
	TargetMaxEventAgeSeconds int
	// QueueMaxReceiveCount is the orders queue's redrive maxReceiveCount.
	QueueMaxReceiveCount int
}

// events reads the events keys. Limits are EventBridge's (retry attempts
// 0-185, event age 60-86400 s) and SQS's (maxReceiveCount 1-1000); an
// archive retention of 0 would keep events forever, which we refuse.
func (r *reader) events(k func(string) string) Events {
	return Events{
		ArchiveRetentionDays:     r.integer(k("eventArchiveRetentionDays"), 1, 3650),
		TargetRetryAttempts:      r.integer(k("eventTargetRetryAttempts"), 0, 185),
		TargetMaxEventAgeSeconds: r.integer(k("eventTargetMaxEventAgeSeconds"), 60, 86400),
		QueueMaxReceiveCount:     r.integer(k("ordersQueueMaxReceiveCount"), 1, 1000),
	}
}
