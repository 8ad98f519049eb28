package kafka

import (
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
)

// How flowtap's kafka-go clients connect to the brokers, in one place: the producer and the
// dead-letter writer go through a Transport, the consumer group through a Dialer. Each names
// itself by its client ID, so that a broker's logs tell them apart.

// Client IDs, as brokers see them.
const (
	clientIDProducer   = "flowtap-producer"
	clientIDSink       = "flowtap-sink"
	clientIDDeadLetter = "flowtap-deadletter"
)

const (
	transportDialTimeout = 2 * time.Second
	// dialerTimeout is longer than transportDialTimeout: a consumer group's dial also joins.
	dialerTimeout = 5 * time.Second
)

// newTransport returns a kafka-go Transport named clientID that authenticates with mech
// (nil: no SASL).
func newTransport(clientID string, mech sasl.Mechanism) *kafkago.Transport {
	return &kafkago.Transport{DialTimeout: transportDialTimeout, ClientID: clientID, SASL: mech}
}

// newDialer returns a kafka-go Dialer named clientID that authenticates with mech (nil: no
// SASL).
func newDialer(clientID string, mech sasl.Mechanism) *kafkago.Dialer {
	return &kafkago.Dialer{ClientID: clientID, Timeout: dialerTimeout, SASLMechanism: mech}
}
