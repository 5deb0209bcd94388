package coord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Fill outcomes published on a name's channel when its holder releases.
const (
	msgStored = "stored"
	msgFailed = "failed"
)

// errClosed is returned by Lock once the Coordinator is closed.
var errClosed = errors.New("coord: coordinator closed")

// subscribeTimeout bounds the wait for Redis to confirm a subscription.
const subscribeTimeout = 2 * time.Second

// hub multiplexes every wait of one Coordinator onto a single pub/sub
// connection, opened on the first wait. Redis confirms subscriptions in the
// order they were sent, so each channel keeps a queue of subscriptions
// waiting for their confirmation.
type hub struct {
	client *redis.Client
	log    *slog.Logger

	quit chan struct{} // closed by close

	mu      sync.Mutex // guards the fields below and orders (un)subscribe commands
	closed  bool
	ps      *redis.PubSub
	done    chan struct{} // closed when the dispatcher ends
	subs    map[string]*subscription
	pending map[string][]*subscription
}

// subscription is the hub's subscription to one channel, shared by every
// waiter on that channel.
type subscription struct {
	channel string
	waiters map[*waiter]struct{}
	ready   chan struct{} // closed when Redis confirms the subscription
}

// waiter is one Lock call waiting for the outcome of another fill.
type waiter struct {
	sub    *subscription
	stored atomic.Bool   // a "stored" message came
	notify chan struct{} // signalled on every message; capacity 1
}

func newHub(client *redis.Client, log *slog.Logger) *hub {
	return &hub{
		client:  client,
		log:     log,
		quit:    make(chan struct{}),
		subs:    make(map[string]*subscription),
		pending: make(map[string][]*subscription),
	}
}

// join subscribes a new waiter to channel and returns once Redis has
// confirmed the subscription, so that every message published after join
// returns reaches the waiter. The caller must call leave.
func (h *hub) join(ctx context.Context, channel string) (*waiter, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, errClosed
	}
	if h.ps == nil {
		// The connection is opened and kept for the hub's life; it lives
		// outside the caller's ctx.
		h.ps = h.client.Subscribe(context.WithoutCancel(ctx))
		h.done = make(chan struct{})
		go h.dispatch(h.ps.ChannelWithSubscriptions(), h.done)
	}
	sub := h.subs[channel]
	if sub == nil {
		if err := h.ps.Subscribe(ctx, channel); err != nil {
			h.mu.Unlock()
			return nil, fmt.Errorf("subscribe to %s: %w", channel, err)
		}
		sub = &subscription{
			channel: channel,
			waiters: make(map[*waiter]struct{}),
			ready:   make(chan struct{}),
		}
		h.subs[channel] = sub
		h.pending[channel] = append(h.pending[channel], sub)
	}
	w := &waiter{sub: sub, notify: make(chan struct{}, 1)}
	sub.waiters[w] = struct{}{}
	h.mu.Unlock()

	t := time.NewTimer(subscribeTimeout)
	defer t.Stop()
	select {
	case <-sub.ready:
		return w, nil
	case <-ctx.Done():
		h.leave(w)
		return nil, context.Cause(ctx)
	case <-h.quit:
		h.leave(w)
		return nil, errClosed
	case <-t.C:
		h.leave(w)
		return nil, fmt.Errorf("subscribe to %s: not confirmed within %v", channel, subscribeTimeout)
	}
}

// leave unsubscribes w, and the connection from w's channel when w was its
// last waiter.
func (h *hub) leave(w *waiter) {
	h.mu.Lock()
	defer h.mu.Unlock()
	sub := w.sub
	delete(sub.waiters, w)
	if len(sub.waiters) > 0 || h.subs[sub.channel] != sub {
		return
	}
	delete(h.subs, sub.channel)
	if h.closed {
		return
	}
	// Sent under mu, so that a later subscribe to the same channel reaches
	// Redis after it. A failure leaves at worst a stray subscription whose
	// messages nobody reads.
	ctx, cancel := context.WithTimeout(context.Background(), subscribeTimeout)
	defer cancel()
	if err := h.ps.Unsubscribe(ctx, sub.channel); err != nil {
		h.log.Debug("unsubscribe failed", "channel", sub.channel, "err", err)
	}
}

// dispatch hands the pub/sub connection's messages to the waiters until
// the connection is closed.
func (h *hub) dispatch(ch <-chan any, done chan<- struct{}) {
	defer close(done)
	for m := range ch {
		switch m := m.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				continue
			}
			h.mu.Lock()
			if q := h.pending[m.Channel]; len(q) > 0 {
				close(q[0].ready)
				if len(q) == 1 {
					delete(h.pending, m.Channel)
				} else {
					h.pending[m.Channel] = q[1:]
				}
			}
			h.mu.Unlock()
		case *redis.Message:
			h.mu.Lock()
			if sub := h.subs[m.Channel]; sub != nil {
				for w := range sub.waiters {
					w.deliver(m.Payload)
				}
			}
			h.mu.Unlock()
		}
	}
}

// deliver records a fill outcome for w and wakes it. A "stored" is never
// lost to a later "failed".
func (w *waiter) deliver(payload string) {
	if payload == msgStored {
		w.stored.Store(true)
	}
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// close closes the pub/sub connection and waits for the dispatcher to end.
func (h *hub) close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	close(h.quit)
	ps, done := h.ps, h.done
	h.mu.Unlock()
	if ps == nil {
		return
	}
	_ = ps.Close()
	<-done
}
