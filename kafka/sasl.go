package kafka

import (
	"fmt"
	"os"
	"strings"

	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// SASL is how a client authenticates to the brokers: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
// with a user name and password. The zero value does not authenticate. An empty Password is
// taken from the environment variable FLOWTAP_KAFKA_PASSWORD, so that it need not appear on
// a command line.
type SASL struct {
	Mechanism string
	Username  string
	Password  string
}

// PasswordEnv names the environment variable that supplies an empty SASL.Password.
const PasswordEnv = "FLOWTAP_KAFKA_PASSWORD"

// mechanism builds kafka-go's SASL mechanism; nil when no mechanism is configured.
func (s SASL) mechanism() (sasl.Mechanism, error) {
	if s.Mechanism == "" {
		if s.Username != "" {
			return nil, fmt.Errorf("kafka: SASL user %q without a mechanism: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", s.Username)
		}
		return nil, nil
	}
	if s.Username == "" {
		return nil, fmt.Errorf("kafka: SASL %s needs a user name", s.Mechanism)
	}
	pass := s.Password
	if pass == "" {
		pass = os.Getenv(PasswordEnv)
	}
	switch strings.ToUpper(s.Mechanism) {
	case "PLAIN":
		return plain.Mechanism{Username: s.Username, Password: pass}, nil
	case "SCRAM-SHA-256":
		return scram.Mechanism(scram.SHA256, s.Username, pass)
	case "SCRAM-SHA-512":
		return scram.Mechanism(scram.SHA512, s.Username, pass)
	}
	return nil, fmt.Errorf("kafka: SASL mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", s.Mechanism)
}
