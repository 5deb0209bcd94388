package access

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rate is a budget of N events per Per, refilled evenly, of which up to N
// may be spent at once. The zero Rate is no limit.
type Rate struct {
	N   int
	Per time.Duration
}

// ParseRate parses "N/s", "N/m" or "N/h" ("10/m": ten a minute). "" and
// "0" are no limit.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return Rate{}, nil
	}
	num, unit, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if !ok || err != nil || n < 0 || n > 1_000_000 {
		return Rate{}, fmt.Errorf("invalid rate %q: want N/s, N/m or N/h", s)
	}
	var per time.Duration
	switch strings.TrimSpace(unit) {
	case "s":
		per = time.Second
	case "m":
		per = time.Minute
	case "h":
		per = time.Hour
	default:
		return Rate{}, fmt.Errorf("invalid rate %q: want N/s, N/m or N/h", s)
	}
	if n == 0 {
		return Rate{}, nil
	}
	return Rate{N: n, Per: per}, nil
}

func (r Rate) String() string {
	if r.N == 0 {
		return "0"
	}
	unit := map[time.Duration]string{time.Second: "s", time.Minute: "m", time.Hour: "h"}[r.Per]
	return strconv.Itoa(r.N) + "/" + unit
}

// maxBuckets bounds the clients a buckets remembers. Past it, the full
// buckets (clients idle long enough) are dropped; if all are in use, the
// oldest half of the map is (Go's map order is random, which is as good as
// any).
const maxBuckets = 100_000

// buckets is a token bucket per key. It is safe for concurrent use.
type buckets struct {
	rate Rate
	now  func() time.Time

	mu sync.Mutex
	m  map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newBuckets(rate Rate, now func() time.Time) *buckets {
	return &buckets{rate: rate, now: now, m: map[string]*bucket{}}
}

// refill brings b up to date. b.mu is held.
func (bs *buckets) refill(key string) *bucket {
	now := bs.now()
	b := bs.m[key]
	if b == nil {
		if len(bs.m) >= maxBuckets {
			bs.prune(now)
		}
		b = &bucket{tokens: float64(bs.rate.N), last: now}
		bs.m[key] = b
		return b
	}
	if el := now.Sub(b.last); el > 0 {
		b.tokens = math.Min(float64(bs.rate.N), b.tokens+el.Seconds()*float64(bs.rate.N)/bs.rate.Per.Seconds())
		b.last = now
	}
	return b
}

func (bs *buckets) prune(now time.Time) {
	full := bs.rate.Per
	for k, b := range bs.m {
		if now.Sub(b.last) >= full {
			delete(bs.m, k)
		}
	}
	for k := range bs.m {
		if len(bs.m) < maxBuckets/2 {
			break
		}
		delete(bs.m, k)
	}
}

// wait is how long until b holds one token.
func (bs *buckets) wait(b *bucket) time.Duration {
	missing := 1 - b.tokens
	if missing <= 0 {
		return 0
	}
	return time.Duration(missing * float64(bs.rate.Per) / float64(bs.rate.N))
}

// take spends one token of key's bucket, or reports how long until there
// is one.
func (bs *buckets) take(key string) (ok bool, retry time.Duration) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b := bs.refill(key)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, bs.wait(b)
}

// empty reports whether key's bucket is spent, without spending, and how
// long until it holds a token.
func (bs *buckets) empty(key string) (bool, time.Duration) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b := bs.refill(key)
	if b.tokens >= 1 {
		return false, 0
	}
	return true, bs.wait(b)
}

// retryAfter formats a wait as a Retry-After header: whole seconds, at
// least one.
func retryAfter(d time.Duration) string {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return strconv.Itoa(s)
}

// inFlight counts what each key has under way, up to a limit. It is safe
// for concurrent use.
type inFlight struct {
	limit int
	mu    sync.Mutex
	n     map[string]int
}

// acquire takes one place for key, or reports how many it holds.
func (f *inFlight) acquire(key string) (release func(), held int, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n[key] >= f.limit {
		return nil, f.n[key], false
	}
	f.n[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.n[key]--; f.n[key] <= 0 {
				delete(f.n, key)
			}
		})
	}, 0, true
}
