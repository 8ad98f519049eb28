// Package broker runs the embedded Kafka broker: kfake (github.com/twmb/franz-go/pkg/kfake),
// which speaks the real Kafka protocol, on one listen address, with its on-disk DataDir and
// SyncWrites so that produced batches and committed offsets survive a restart. It creates the
// flowtap topics on start if they do not exist yet.
package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/flowtap/flowtap/internal/component"
	"github.com/flowtap/flowtap/internal/fsx"
)

// Config configures the embedded broker.
type Config struct {
	Listen     string   // host:port; port 0 picks a free port
	DataDir    string   // on-disk state; empty keeps everything in memory
	Partitions int      // partitions of each topic created on start
	Topics     []string // created on start when missing
	SyncWrites bool
	// Users are the SASL users clients must authenticate as (PLAIN, SCRAM-SHA-256 or
	// SCRAM-SHA-512). Without users the broker accepts any client, so it refuses to listen
	// beyond loopback: anyone who can reach it could read, write or delete topics.
	Users []User
}

// User is one SASL user of the broker.
type User struct {
	Mechanism string // PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
	Name      string
	Password  string
}

// ParseUser parses MECHANISM:NAME:PASSWORD (the password may contain colons).
func ParseUser(s string) (User, error) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
		return User{}, fmt.Errorf("broker: user %q: want MECHANISM:NAME:PASSWORD", redact(s))
	}
	u := User{Mechanism: strings.ToUpper(parts[0]), Name: parts[1], Password: parts[2]}
	return u, u.check()
}

func redact(s string) string {
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		return s[:i+1] + "…"
	}
	return s
}

func (u User) check() error {
	switch u.Mechanism {
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
	default:
		return fmt.Errorf("broker: user %q: mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", u.Name, u.Mechanism)
	}
	if u.Name == "" || u.Password == "" {
		return fmt.Errorf("broker: a %s user needs a name and a password", u.Mechanism)
	}
	return nil
}

// loopback reports whether host (of a listen address) only accepts local connections.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// ErrNoUsers is returned by New for a broker listening beyond loopback without SASL users.
var ErrNoUsers = errors.New("broker: listening beyond loopback needs SASL users")

// DefaultConfig listens on 127.0.0.1:9092 with data under ./data/kafka, 4 partitions per
// topic and fsync per produced batch. It creates no topics: callers name them (kafka.AllTopics).
func DefaultConfig() Config {
	return Config{
		Listen:     "127.0.0.1:9092",
		DataDir:    "data/kafka",
		Partitions: 4,
		SyncWrites: true,
	}
}

// Broker is the embedded Kafka broker.
type Broker struct {
	cfg     Config
	log     *slog.Logger
	cluster *kfake.Cluster
	lock    *fsx.Lock // on DataDir: two brokers on one directory would corrupt it
	ready   chan struct{}
	addr    string
	// stopExpiry ends the member-expiry watch (expire.go) and waits for it.
	stopExpiry func()
}

// New validates cfg; it does no I/O. The broker logs to d.Log.
func New(cfg Config, d component.Deps) (*Broker, error) {
	log := d.WithDefaults().Log
	if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
		return nil, fmt.Errorf("broker: listen %q: %w", cfg.Listen, err)
	}
	if cfg.Partitions < 1 {
		return nil, fmt.Errorf("broker: partitions %d: need at least 1", cfg.Partitions)
	}
	for _, u := range cfg.Users {
		if err := u.check(); err != nil {
			return nil, err
		}
	}
	if host, _, _ := net.SplitHostPort(cfg.Listen); len(cfg.Users) == 0 && !loopback(host) {
		return nil, fmt.Errorf("%w: %s would let anyone who reaches it read, write and delete topics; add users (--user MECHANISM:NAME:PASSWORD, or users: in the config) or listen on 127.0.0.1", ErrNoUsers, cfg.Listen)
	}
	return &Broker{cfg: cfg, log: log.With("component", "broker"), ready: make(chan struct{})}, nil
}

// Start opens the listener, loads persisted state and creates missing topics. Run calls it;
// tests call it directly when they need the address before Run.
func (b *Broker) Start() error {
	if b.cluster != nil {
		return nil
	}
	host, portStr, _ := net.SplitHostPort(b.cfg.Listen)
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("broker: listen port %q: %w", portStr, err)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.DefaultNumPartitions(b.cfg.Partitions),
		kfake.ClusterID("flowtap"),
		// kfake binds 127.0.0.1; bind the configured host instead (it is also what the
		// broker advertises in metadata).
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, net.JoinHostPort(host, strconv.Itoa(port)))
		}),
	}
	if len(b.cfg.Users) > 0 {
		opts = append(opts, kfake.EnableSASL())
		for _, u := range b.cfg.Users {
			opts = append(opts, kfake.Superuser(u.Mechanism, u.Name, u.Password))
		}
	}
	if b.cfg.DataDir != "" {
		lock, err := fsx.LockDir(b.cfg.DataDir)
		if err != nil {
			return fmt.Errorf("broker: data dir: %w", err)
		}
		b.lock = lock
		// kfake writes its segments 0644; a data directory closed to others (fsx.DirMode)
		// keeps them to the owner and its group, as the file-mode policy wants.
		if err := os.Chmod(b.cfg.DataDir, fsx.DirMode); err != nil {
			b.lock.Close()
			b.lock = nil
			return fmt.Errorf("broker: data dir: %w", err)
		}
		opts = append(opts, kfake.DataDir(b.cfg.DataDir))
		if b.cfg.SyncWrites {
			opts = append(opts, kfake.SyncWrites())
		}
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		b.lock.Close()
		b.lock = nil
		return fmt.Errorf("broker: start on %s: %w", b.cfg.Listen, err)
	}
	for _, t := range b.cfg.Topics {
		if len(c.PartitionInfos(t)) > 0 {
			continue // loaded from DataDir
		}
		if err := c.CreateTopic(t, int32(b.cfg.Partitions), nil); err != nil {
			c.Close()
			b.lock.Close()
			b.lock = nil
			return fmt.Errorf("broker: create topic %s: %w", t, err)
		}
	}
	b.cluster = c
	b.addr = c.ListenAddrs()[0]
	expiry := newMemberExpiry(b.log, dialable(b.addr), b.cfg.Users)
	expiry.watch(c)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); expiry.run(ctx, c) }()
	b.stopExpiry = func() { cancel(); <-done }
	close(b.ready)
	b.log.Info("kafka broker listening", "addr", b.addr, "data", b.cfg.DataDir, "topics", b.cfg.Topics)
	return nil
}

// Addr is the address the broker listens on (valid after Start).
func (b *Broker) Addr() string { return b.addr }

// Ready is closed once the broker accepts connections.
func (b *Broker) Ready() <-chan struct{} { return b.ready }

// Cluster exposes the kfake cluster (for tests and admin: partition info, group info).
func (b *Broker) Cluster() *kfake.Cluster { return b.cluster }

// Messages is the number of messages topic holds: the sum of its partitions' high
// watermarks (0 for a topic the broker does not have).
func (b *Broker) Messages(topic string) int64 {
	var n int64
	for _, pi := range b.cluster.PartitionInfos(topic) {
		n += pi.HighWatermark
	}
	return n
}

// Run starts the broker if needed and serves until ctx ends, then closes it, which persists
// its state (and committed offsets) to DataDir.
func (b *Broker) Run(ctx context.Context) error {
	if err := b.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	b.Close()
	return nil
}

// Close stops the broker and persists its state. It is safe to call more than once.
func (b *Broker) Close() {
	if b.stopExpiry != nil {
		b.stopExpiry() // it asks the cluster for group info: stop it first
		b.stopExpiry = nil
	}
	if b.cluster != nil {
		b.cluster.Close()
		b.log.Info("kafka broker stopped", "addr", b.addr)
	}
	b.lock.Close() // after the cluster has persisted its state
	b.lock = nil
}

// ErrNotStarted is returned by operations that need a running broker.
var ErrNotStarted = errors.New("broker: not started")
