package coord

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

func (c *Coordinator) notFoundKey(name string) string { return c.prefix + "notfound:" + name }

// NotFound reports the reason another replica, or this one, remembered for
// name being absent upstream, if it is still remembered. It reports
// ok == false when nothing is remembered, and also when Redis cannot be
// reached, so that the caller asks upstream.
func (c *Coordinator) NotFound(ctx context.Context, name string) (reason string, ok bool) {
	reason, err := c.client.Get(ctx, c.notFoundKey(name)).Result()
	if err = c.observe(ctx, err); err != nil {
		if !errors.Is(err, redis.Nil) {
			c.log.Debug("negative cache lookup failed", "name", name, "err", err)
		}
		return "", false
	}
	return reason, true
}

// SetNotFound remembers reason for name being absent upstream, for ttl,
// for every replica. A ttl below one millisecond remembers nothing. When
// Redis cannot be reached the answer is not remembered.
func (c *Coordinator) SetNotFound(ctx context.Context, name, reason string, ttl time.Duration) {
	if ttl < time.Millisecond {
		return
	}
	err := c.client.Set(ctx, c.notFoundKey(name), reason, ttl).Err()
	if err = c.observe(ctx, err); err != nil {
		c.log.Debug("negative cache update dropped", "name", name, "err", err)
	}
}
