package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// kafkaReachable is the health check of a component that consumes from or produces to
// brokers: degraded while none of them accepts a TCP connection. The consumer retries by
// itself while Kafka is away, so its Run does not fail; this is what /healthz shows
// meanwhile. The answer is kept for a second so that health checks do not dial each time.
func kafkaReachable(brokers []string) func() error {
	var mu sync.Mutex
	var last error
	var at time.Time
	return func() error {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(at) < time.Second {
			return last
		}
		last, at = dialAny(brokers, 500*time.Millisecond), time.Now()
		return last
	}
}

func dialAny(brokers []string, timeout time.Duration) error {
	if len(brokers) == 0 {
		return errors.New("no Kafka brokers configured")
	}
	var errs []error
	for _, b := range brokers {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", b)
		cancel()
		if err == nil {
			c.Close()
			return nil
		}
		errs = append(errs, err)
	}
	return fmt.Errorf("Kafka unreachable: %w", errors.Join(errs...))
}
