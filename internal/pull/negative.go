package pull

import (
	"context"
	"sync"
	"time"
)

// memNegative is the in-process NegativeCache. It holds at most max names;
// when full it drops expired entries, and failing that, all of them.
type memNegative struct {
	mu      sync.Mutex
	max     int
	entries map[string]negEntry
}

type negEntry struct {
	reason  string
	expires time.Time
}

func newMemNegative(max int) *memNegative {
	return &memNegative{max: max, entries: make(map[string]negEntry)}
}

func (c *memNegative) NotFound(_ context.Context, name string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[name]
	if !ok {
		return "", false
	}
	if time.Now().After(e.expires) {
		delete(c.entries, name)
		return "", false
	}
	return e.reason, true
}

func (c *memNegative) SetNotFound(_ context.Context, name, reason string, ttl time.Duration) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for k, e := range c.entries {
			if now.After(e.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.max {
			clear(c.entries)
		}
	}
	c.entries[name] = negEntry{reason: reason, expires: now.Add(ttl)}
}
