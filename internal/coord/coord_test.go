package coord

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/gomirror/gomirror/internal/metrics"
)

// The Coordinator implements the fill hooks of the GOPROXY handler.
var (
	_ interface {
		Lock(ctx context.Context, name string) (fill bool, release func(stored bool), err error)
	} = (*Coordinator)(nil)
	_ interface {
		NotFound(ctx context.Context, name string) (reason string, ok bool)
		SetNotFound(ctx context.Context, name, reason string, ttl time.Duration)
	} = (*Coordinator)(nil)
)

// guard bounds every wait in these tests. It only turns a hang into a
// failure; no test asserts how long anything takes.
const guard = 30 * time.Second

// testRedisEnv names the variable holding the URL of a Redis that tests may
// use freely (keys are namespaced per test). .ci/redis.sh starts one and
// sets it.
const testRedisEnv = "GOMIRROR_TEST_REDIS"

// testRedis returns the URL of the test Redis, skipping the test when none
// is configured, except under CI, which always provides one.
func testRedis(t *testing.T) string {
	t.Helper()
	u := os.Getenv(testRedisEnv)
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set; CI must start Redis (source .ci/redis.sh)", testRedisEnv)
		}
		t.Skipf("%s is not set: needs a Redis (source .ci/redis.sh to start one)", testRedisEnv)
	}
	return u
}

// replica is one Coordinator under test, as one gomirror replica would
// have, with its own logs and metrics.
type replica struct {
	*Coordinator
	logs    *logRecorder
	metrics *metrics.Metrics
}

// newReplica returns a Coordinator on url using prefix, closed at the end
// of the test.
func newReplica(t *testing.T, url, prefix string, lockTTL time.Duration) *replica {
	t.Helper()
	logs := &logRecorder{}
	m := metrics.New(nil)
	c, err := New(t.Context(), Config{
		URL:     url,
		LockTTL: lockTTL,
		Prefix:  prefix,
		Logger:  slog.New(logs),
		Metrics: m,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &replica{Coordinator: c, logs: logs, metrics: m}
}

func (r *replica) degradedGauge() float64 {
	return testutil.ToFloat64(r.metrics.CoordinationDegraded)
}

// testPrefix returns a key prefix no other test or run uses.
func testPrefix() string {
	return "gomirror-test:" + newToken()[:12] + ":"
}

// rawClient returns a plain client on the test Redis, for inspecting keys.
func rawClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("parse %s: %v", testRedisEnv, err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// eventually polls cond until it holds, failing the test after guard.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s", guard, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// lockResult is what a Lock call returned.
type lockResult struct {
	fill    bool
	release func(bool)
	err     error
}

// lockAsync calls Lock in a goroutine.
func lockAsync(ctx context.Context, c *replica, name string) <-chan lockResult {
	ch := make(chan lockResult, 1)
	go func() {
		fill, release, err := c.Lock(ctx, name)
		ch <- lockResult{fill, release, err}
	}()
	return ch
}

// await receives from ch, failing the test after guard.
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(guard):
		t.Fatalf("gave up after %v waiting for %s", guard, what)
		panic("unreachable")
	}
}

// logRecorder is a slog.Handler keeping every record.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec.Clone())
	return nil
}

// count returns how many records at level have a message containing substr.
func (r *logRecorder) count(level slog.Level, substr string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rec := range r.recs {
		if rec.Level == level && strings.Contains(rec.Message, substr) {
			n++
		}
	}
	return n
}

// closedPort returns a 127.0.0.1 address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// tcpProxy forwards connections on a local address to target, until
// stopped; stopping also cuts the connections it forwards.
type tcpProxy struct {
	ln     net.Listener
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
	target string
}

func startProxy(t *testing.T, addr, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	p := &tcpProxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.stop)
	return p
}

func (p *tcpProxy) serve() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); io.Copy(out, in); out.Close() }()
		go func() { defer p.wg.Done(); io.Copy(in, out); in.Close() }()
	}
}

func (p *tcpProxy) stop() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// redisAddr returns host:port of a redis:// URL.
func redisAddr(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse %s: %v", testRedisEnv, err)
	}
	return u.Host
}
