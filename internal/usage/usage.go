// Package usage measures how many bytes each mirror of the station holds
// in the store, by walking the store's names under the mirror's prefix.
// Measurements are cached: a walk of a large store is slow, so it runs
// after each sync job and now and then, never on a page view.
package usage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/gomirror/gomirror/internal/store"
)

// Prefix returns the store prefix of mirror id, and whether names under
// it need filter to belong to id. Go modules live at the store's root,
// in names whose first element holds a dot (golang.org/x/text/@v/...);
// every other mirror has a directory named after it (sumdb/, golang/,
// vuln/, oci/, pypi/, npm/).
func Prefix(id string) (prefix string, filter func(name string) bool) {
	if id == "go" {
		return "", func(name string) bool {
			first, _, _ := strings.Cut(name, "/")
			return strings.Contains(first, ".")
		}
	}
	return id + "/", nil
}

// Meter measures and remembers the size of each mirror. It is safe for
// concurrent use.
type Meter struct {
	st  store.Store
	log *slog.Logger
	now func() time.Time

	group singleflight.Group
	mu    sync.Mutex
	sizes map[string]measurement
}

type measurement struct {
	bytes int64
	at    time.Time
}

// ErrNoWalk is returned by Refresh when the store cannot list its names.
var ErrNoWalk = errors.New("store cannot list its names")

// New returns a Meter of st. log receives failed measurements; nil
// discards them.
func New(st store.Store, log *slog.Logger) *Meter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Meter{st: st, log: log, now: time.Now, sizes: map[string]measurement{}}
}

// Size returns the last measured size of mirror id, when it was measured,
// and whether it was.
func (m *Meter) Size(id string) (bytes int64, measured time.Time, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sizes[id]
	return s.bytes, s.at, ok
}

// Refresh measures mirror id now and remembers the result. Concurrent
// calls for one id share one walk. Errors are the store's, wrapped, or
// ErrNoWalk.
func (m *Meter) Refresh(ctx context.Context, id string) error {
	_, err, _ := m.group.Do(id, func() (any, error) {
		n, err := m.measure(ctx, id)
		if err != nil {
			return nil, err
		}
		m.mu.Lock()
		m.sizes[id] = measurement{bytes: n, at: m.now()}
		m.mu.Unlock()
		return nil, nil
	})
	return err
}

// RefreshAll measures every mirror of ids, logging failures, and returns
// the first.
func (m *Meter) RefreshAll(ctx context.Context, ids []string) error {
	var first error
	for _, id := range ids {
		if err := m.Refresh(ctx, id); err != nil {
			m.log.Warn("mirror size not measured", "mirror", id, "err", err)
			if first == nil {
				first = err
			}
		}
	}
	return first
}

// Run measures every mirror of ids at once and then every interval, until
// ctx ends.
func (m *Meter) Run(ctx context.Context, ids []string, every time.Duration) {
	for {
		_ = m.RefreshAll(ctx, ids)
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// measure walks the prefix of id and adds up the sizes of its files.
func (m *Meter) measure(ctx context.Context, id string) (int64, error) {
	w, ok := m.st.(store.Walker)
	if !ok {
		return 0, fmt.Errorf("measure mirror %s: %w", id, ErrNoWalk)
	}
	prefix, filter := Prefix(id)
	var total int64
	err := w.Walk(ctx, prefix, func(name string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if filter != nil && !filter(name) {
			return nil
		}
		n, err := m.sizeOf(ctx, name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed since it was listed
		}
		if err != nil {
			return err
		}
		total += n
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("measure mirror %s: %w", id, err)
	}
	return total, nil
}

// sizeOf returns the size of the file name, from its Stat when the store
// gives one, else by reading it.
func (m *Meter) sizeOf(ctx context.Context, name string) (int64, error) {
	rc, err := m.st.Get(ctx, name)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	if n, _, ok := store.Stat(rc); ok {
		return n, nil
	}
	return io.Copy(io.Discard, rc)
}
