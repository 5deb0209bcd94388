package coord

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// acquireScript takes the lock KEYS[1] with token ARGV[1] for ARGV[2]
// milliseconds, unless the file was stored a moment ago (KEYS[2] exists)
// or someone else holds the lock. It returns {1, 0} when it took the lock,
// {2, 0} when the file was just stored, or {0, PTTL} with the holder's
// remaining time. A lock left without a TTL (never written by gomirror) is
// given one, so that it cannot block forever.
var acquireScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 1 then
	return {2, 0}
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
	return {1, 0}
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -1 then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
	ttl = tonumber(ARGV[2])
end
return {0, ttl}
`)

// Outcomes of acquireScript.
const (
	lockBusy   = 0
	lockTaken  = 1
	lockStored = 2
)

// renewScript extends the lock KEYS[1] to ARGV[2] milliseconds if it still
// holds token ARGV[1]. It returns 1 if it did, 0 if the lock was lost.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)

// releaseScript deletes the lock KEYS[1] if it still holds token ARGV[1],
// then publishes the outcome ARGV[2] on channel ARGV[3]. "stored" is also
// remembered in KEYS[2] for ARGV[4] milliseconds, for waiters that were
// woken before it and are about to take the free lock. "stored" is
// published even by a holder that lost its lock, since it is true all the
// same; "failed" only by the holder, so that it cannot disturb a newer
// fill. It returns 1 if the lock was still held.
var releaseScript = redis.NewScript(`
local held = 0
if redis.call('GET', KEYS[1]) == ARGV[1] then
	redis.call('DEL', KEYS[1])
	held = 1
end
if ARGV[2] == 'stored' then
	redis.call('SET', KEYS[2], '1', 'PX', ARGV[4])
end
if held == 1 or ARGV[2] == 'stored' then
	redis.call('PUBLISH', ARGV[3], ARGV[2])
end
return held
`)

// storedMemory is how long Lock answers fill == false, without taking the
// lock, after a fill of the same name was stored. It closes the race
// between a waiter woken to take over and a fill that ended meanwhile, and
// spares a caller whose store lookup just missed a fill that ended.
const storedMemory = 10 * time.Second

// wakeSlack is added to a lock's remaining TTL before a waiter tries to
// take it over, so that it has expired by then.
const wakeSlack = 5 * time.Millisecond

func (c *Coordinator) lockKey(name string) string     { return c.prefix + "lock:" + name }
func (c *Coordinator) fillChannel(name string) string { return c.prefix + "fill:" + name }
func (c *Coordinator) storedKey(name string) string   { return c.prefix + "stored:" + name }

func noRelease(bool) {}

// Lock blocks until the caller should fill name itself, or until another
// replica reports name stored, or until ctx ends.
//
// With fill == true the caller holds name's lock, which the Coordinator
// renews until release is called; the caller must call release exactly
// once (later calls do nothing), with stored reporting whether name is now
// in the shared store. With fill == false a replica stored name while Lock
// waited, or a few seconds before Lock was called (a fill that ended
// between the caller's store lookup and Lock); the caller then serves name
// from the store, and release does nothing.
//
// Lock waits without polling: it is told by pub/sub when the holder
// releases, and it wakes when the holder's lock would expire, to take it
// over from a holder that died. When the holder fails, one waiter takes
// the lock and fills.
//
// Errors are the cause of ctx when ctx ends, or report that coordination is
// unavailable (Redis unreachable, Coordinator closed); the caller then
// fills by itself. release is never nil.
func (c *Coordinator) Lock(ctx context.Context, name string) (fill bool, release func(stored bool), err error) {
	if err := context.Cause(ctx); err != nil {
		return false, noRelease, err
	}
	if c.ctx.Err() != nil {
		return false, noRelease, fmt.Errorf("coord: lock %s: %w", name, errClosed)
	}
	token := newToken()
	got, _, err := c.acquire(ctx, name, token)
	if err != nil {
		return false, noRelease, c.lockError(ctx, name, err)
	}
	switch got {
	case lockTaken:
		return true, c.hold(name, token), nil
	case lockStored:
		return false, noRelease, nil
	}

	w, err := c.hub.join(ctx, c.fillChannel(name))
	if err != nil {
		return false, noRelease, c.lockError(ctx, name, err)
	}
	defer c.hub.leave(w)

	for {
		// Subscribed first, then tried again: a holder that released
		// between the first try and the subscription left the lock free.
		got, pttl, err := c.acquire(ctx, name, token)
		if err != nil {
			return false, noRelease, c.lockError(ctx, name, err)
		}
		switch got {
		case lockTaken:
			return true, c.hold(name, token), nil
		case lockStored:
			return false, noRelease, nil
		}
		stored, err := c.wait(ctx, w, min(pttl, c.ttl)+wakeSlack)
		if err != nil {
			return false, noRelease, c.lockError(ctx, name, err)
		}
		if stored {
			return false, noRelease, nil
		}
		// The fill failed or the holder's lock expired: try to take over.
	}
}

// wait waits for w to be told the outcome of the fill under way, for at
// most d. It reports whether the file was stored. It gives up with an
// error when Redis turns out unreachable meanwhile: the outcome may never
// come.
func (c *Coordinator) wait(ctx context.Context, w *waiter, d time.Duration) (stored bool, err error) {
	down := c.degradedSignal()
	c.waiting.Add(1)
	defer c.waiting.Add(-1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-w.notify:
		return w.stored.Load(), nil
	case <-t.C:
		return false, nil
	case <-ctx.Done():
		return false, context.Cause(ctx)
	case <-c.ctx.Done():
		return false, errClosed
	case <-down:
		return false, errors.New("redis unreachable while waiting for another fill")
	}
}

// acquire tries to take the lock on name with token. When another holds
// it, it also returns the time the holder has left.
func (c *Coordinator) acquire(ctx context.Context, name, token string) (outcome int64, pttl time.Duration, err error) {
	keys := []string{c.lockKey(name), c.storedKey(name)}
	res, err := acquireScript.Run(ctx, c.client, keys, token, c.ttl.Milliseconds()).Int64Slice()
	if err = c.observe(ctx, err); err != nil {
		return 0, 0, err
	}
	if len(res) != 2 {
		return 0, 0, fmt.Errorf("unexpected lock script reply %v", res)
	}
	return res[0], time.Duration(max(res[1], 0)) * time.Millisecond, nil
}

// lockError wraps an error of Lock for name, leaving the caller's own
// context errors as they are.
func (c *Coordinator) lockError(ctx context.Context, name string, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if c.ctx.Err() != nil {
		err = errClosed
	}
	return fmt.Errorf("coord: lock %s: %w", name, err)
}

// hold starts renewing the lock on name held with token, and returns the
// release function handed to the holder.
func (c *Coordinator) hold(name, token string) func(stored bool) {
	ctx, stop := context.WithCancel(c.ctx)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.renew(ctx, name, token)
	}()
	var once sync.Once
	return func(stored bool) {
		once.Do(func() {
			stop()
			c.unlock(name, token, stored)
		})
	}
}

// renew extends the lock on name every LockTTL/3 until ctx ends or the lock
// turns out lost.
func (c *Coordinator) renew(ctx context.Context, name, token string) {
	key := c.lockKey(name)
	tick := time.NewTicker(c.ttl / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n, err := renewScript.Run(ctx, c.client, []string{key}, token, c.ttl.Milliseconds()).Int64()
		if c.observe(ctx, err) != nil {
			// Redis may come back before the lock expires: keep trying.
			continue
		}
		if n == 0 {
			c.log.Warn("fill lock lost before the fill ended; another replica may fetch the same file", "name", name)
			return
		}
	}
}

// unlock deletes the lock on name if token still holds it and tells the
// waiters whether name was stored. Failures are logged: the lock then
// expires by itself.
func (c *Coordinator) unlock(name, token string, stored bool) {
	msg := msgFailed
	if stored {
		msg = msgStored
	}
	ctx := c.ctx
	keys := []string{c.lockKey(name), c.storedKey(name)}
	held, err := releaseScript.Run(ctx, c.client, keys, token, msg, c.fillChannel(name), storedMemory.Milliseconds()).Int64()
	if err = c.observe(ctx, err); err != nil {
		c.log.Debug("fill lock not released; it will expire", "name", name, "err", err)
		return
	}
	if held == 0 {
		c.log.Warn("fill lock had expired before release; another replica may have fetched the same file", "name", name, "stored", stored)
	}
}

// newToken returns a random lock token, unique to one Lock call.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails; see crypto/rand.Read
	return hex.EncodeToString(b[:])
}
