package coord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/gomirror/gomirror/internal/metrics"
)

// PasswordEnv is the environment variable that holds the Redis password. It
// takes precedence over a password written in [Config.URL].
const PasswordEnv = "GOMIRROR_REDIS_PASSWORD"

// Defaults used for the zero values of [Config].
const (
	DefaultLockTTL = 30 * time.Second
	DefaultPrefix  = "gomirror:"
)

// MinLockTTL is the smallest [Config.LockTTL] New accepts.
const MinLockTTL = 10 * time.Millisecond

// netTimeout bounds each dial, read and write to Redis unless the URL sets
// its own (dial_timeout, read_timeout, write_timeout), so that an
// unreachable Redis degrades coordination quickly instead of stalling
// requests.
const netTimeout = 500 * time.Millisecond

// Health probe intervals: how often the Coordinator pings Redis by itself,
// so that the degraded gauge and logs follow Redis even without traffic.
const (
	probeHealthy  = 5 * time.Second
	probeDegraded = time.Second
)

// Config configures a [Coordinator]. Only URL is required.
type Config struct {
	// URL locates Redis: redis://[user[:password]@]HOST:PORT/DB, or
	// rediss:// for TLS. Options that redis clients accept as query
	// parameters (dial_timeout, pool_size, ...) are honoured.
	URL string
	// Getenv reads the environment; the password is taken from
	// GOMIRROR_REDIS_PASSWORD ([PasswordEnv]) when that is set. Nil reads
	// nothing.
	Getenv func(string) string
	// LockTTL is how long a fill lock outlives a holder that stopped
	// renewing it (for example one that was killed). The holder renews it
	// every LockTTL/3 while it fetches. Zero means [DefaultLockTTL].
	LockTTL time.Duration
	// Prefix starts every Redis key and channel name. Empty means
	// [DefaultPrefix]. Replicas sharing one store must use the same prefix;
	// mirrors sharing one Redis but not one store must not.
	Prefix string
	// Logger receives degradation transitions and lost locks. Nil discards.
	Logger *slog.Logger
	// Metrics, when not nil, gets CoordinationDegraded set to 1 while Redis
	// cannot be reached and to 0 while it can.
	Metrics *metrics.Metrics
}

// Coordinator coordinates fills and shares "not found" answers between
// gomirror replicas through one Redis. It is safe for concurrent use. It
// uses one connection pool and, once a Lock has had to wait, one pub/sub
// connection.
type Coordinator struct {
	client  *redis.Client
	addr    string // host:port, for logs; never the URL, which may hold a password
	ttl     time.Duration
	prefix  string
	log     *slog.Logger
	metrics *metrics.Metrics
	hub     *hub

	// ctx is cancelled by Close; background work (renewals, releases,
	// probes) runs under it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// state is the health state (stateUnknown, ...); healthMu serialises
	// its transitions so each is logged once. down is closed while
	// degraded, to wake waiting Lock calls; healthMu guards it.
	state    atomic.Int32
	healthMu sync.Mutex
	down     chan struct{}

	// waiting counts Lock calls blocked waiting for another fill. Tests
	// read it to know when every waiter is in place.
	waiting atomic.Int64
}

// New returns a Coordinator for cfg. It fails only when cfg is invalid: an
// unreachable Redis is not an error. The Coordinator then starts degraded,
// as logged and shown by the metrics, and recovers when Redis answers. New
// pings Redis once, within ctx, to learn its first state. Call Close when
// done.
func New(ctx context.Context, cfg Config) (*Coordinator, error) {
	opt, err := options(cfg)
	if err != nil {
		return nil, err
	}
	ttl := cfg.LockTTL
	switch {
	case ttl == 0:
		ttl = DefaultLockTTL
	case ttl < MinLockTTL:
		return nil, fmt.Errorf("coord: lock TTL %v is below the minimum of %v", ttl, MinLockTTL)
	}
	prefix := cfg.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client := redis.NewClient(opt)
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c := &Coordinator{
		client:  client,
		addr:    opt.Addr,
		ttl:     ttl,
		prefix:  prefix,
		log:     log.With("redis", opt.Addr),
		metrics: cfg.Metrics,
		ctx:     bg,
		cancel:  cancel,
		down:    make(chan struct{}),
	}
	c.hub = newHub(client, c.log)

	err = client.Ping(ctx).Err()
	if ctx.Err() == nil {
		c.observe(ctx, err)
	}
	c.wg.Add(1)
	go c.probe()
	return c, nil
}

// options turns cfg into client options, with gomirror's timeouts.
func options(cfg Config) (*redis.Options, error) {
	if cfg.URL == "" {
		return nil, errors.New("coord: redis URL is empty")
	}
	// Parse first to report a bad URL without echoing it: it may hold a
	// password.
	u, err := url.Parse(cfg.URL)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("coord: invalid redis URL: %w", err)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, fmt.Errorf("coord: invalid redis URL: scheme %q, want redis or rediss", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("coord: invalid redis URL: no host")
	}
	opt, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("coord: invalid redis URL: %w", err)
	}
	if cfg.Getenv != nil {
		if pw := cfg.Getenv(PasswordEnv); pw != "" {
			opt.Password = pw
		}
	}
	if opt.DialTimeout == 0 {
		opt.DialTimeout = netTimeout
	}
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = netTimeout
	}
	if opt.WriteTimeout == 0 {
		opt.WriteTimeout = netTimeout
	}
	if opt.MaxRetries == 0 {
		opt.MaxRetries = 1
	}
	if opt.DialerRetries == 0 {
		opt.DialerRetries = 1
	}
	opt.ContextTimeoutEnabled = true
	opt.DisableIdentity = true
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return opt, nil
}

// Check reports whether Redis answers a PING, for readiness probes. It
// returns nil when it does.
func (c *Coordinator) Check(ctx context.Context) error {
	err := c.client.Ping(ctx).Err()
	if err = c.observe(ctx, err); err != nil {
		return fmt.Errorf("coord: ping redis at %s: %w", c.addr, err)
	}
	return nil
}

// Close stops renewing held locks, closes the connections and waits for
// the Coordinator's goroutines to end. Locks still held are not released:
// they expire after their TTL. Lock calls still waiting return an error.
func (c *Coordinator) Close() error {
	c.cancel()
	c.hub.close()
	c.wg.Wait()
	return c.client.Close()
}

// probe pings Redis now and then, so that a degradation or a recovery is
// noticed even while no request comes.
func (c *Coordinator) probe() {
	defer c.wg.Done()
	t := time.NewTimer(c.probeInterval())
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		c.observe(c.ctx, c.client.Ping(c.ctx).Err())
		t.Reset(c.probeInterval())
	}
}

func (c *Coordinator) probeInterval() time.Duration {
	if c.state.Load() == stateDegraded {
		return probeDegraded
	}
	return probeHealthy
}

// observe records what the outcome err of a Redis call made under ctx says
// about Redis's health, and returns err. redis.Nil (no such key) is a
// healthy answer. An error while ctx is done is the caller's doing, not
// Redis's, and changes nothing; it is returned as ctx's error.
func (c *Coordinator) observe(ctx context.Context, err error) error {
	switch {
	case err == nil || errors.Is(err, redis.Nil):
		c.setDegraded(false, nil)
	case ctx.Err() != nil:
		return context.Cause(ctx)
	case c.ctx.Err() != nil:
		// Closed: says nothing about Redis.
		return err
	default:
		c.setDegraded(true, err)
	}
	return err
}

// Health states of a Coordinator.
const (
	stateUnknown int32 = iota
	stateHealthy
	stateDegraded
)

// setDegraded records a health state, logging and counting transitions.
func (c *Coordinator) setDegraded(down bool, err error) {
	want := stateHealthy
	if down {
		want = stateDegraded
	}
	if c.state.Load() == want {
		return
	}
	c.healthMu.Lock()
	defer c.healthMu.Unlock()
	prev := c.state.Load()
	if prev == want {
		return
	}
	c.state.Store(want)
	if down {
		close(c.down)
	} else if prev == stateDegraded {
		c.down = make(chan struct{})
	}
	if c.metrics != nil {
		if down {
			c.metrics.CoordinationDegraded.Set(1)
		} else {
			c.metrics.CoordinationDegraded.Set(0)
		}
	}
	switch {
	case down:
		c.log.Warn("coordination degraded: redis unreachable, replicas fill on their own", "err", err)
	case prev == stateDegraded:
		c.log.Info("coordination restored: redis reachable again")
	}
}

// SetClientLogger sends the messages of the Redis client library, which it
// otherwise prints to standard error, to l at Debug level: gomirror reports
// Redis trouble itself, once per transition. The library keeps one logger
// for the whole process, so only main should call SetClientLogger, once,
// before any New.
func SetClientLogger(l *slog.Logger) {
	redis.SetLogger(clientLogger{l})
}

// clientLogger adapts a *slog.Logger to the Redis client library's logger.
type clientLogger struct{ l *slog.Logger }

func (c clientLogger) Printf(ctx context.Context, format string, v ...any) {
	c.l.DebugContext(ctx, fmt.Sprintf(format, v...), "component", "redis-client")
}

// degradedSignal returns a channel closed once the Coordinator is degraded.
func (c *Coordinator) degradedSignal() <-chan struct{} {
	c.healthMu.Lock()
	defer c.healthMu.Unlock()
	return c.down
}
