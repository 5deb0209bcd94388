package pull

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/gomirror/gomirror/internal/store"
)

// The phases of a fill that gomirror_fill_phase_seconds observes.
const (
	// PhaseUpstream is from the fill's start to the download's last byte.
	PhaseUpstream = "upstream"
	// PhaseCheck is the artifact's Check, after the last byte.
	PhaseCheck = "check"
	// PhaseLookup is the part of Check spent waiting for a trusted digest
	// from elsewhere, such as the checksum database; ecosystems observe it
	// with [Cache.ObservePhase].
	PhaseLookup = "lookup"
	// PhaseStore is storing the checked file.
	PhaseStore = "store"
)

// ObservePhase records that a fill of a spent d in phase, one of the
// Phase constants. It is safe for concurrent use.
func (c *Cache) ObservePhase(a *Artifact, phase string, d time.Duration) {
	c.m.FillPhases.WithLabelValues(a.Ecosystem, a.Kind, phase).Observe(d.Seconds())
}

// phaseTimer observes the phases of one fill in turn.
type phaseTimer struct {
	c    *Cache
	a    *Artifact
	last time.Time
}

func (c *Cache) startPhases(a *Artifact) *phaseTimer {
	return &phaseTimer{c: c, a: a, last: time.Now()}
}

// end observes the time since the previous phase ended as phase.
func (t *phaseTimer) end(phase string) {
	now := time.Now()
	t.c.ObservePhase(t.a, phase, now.Sub(t.last))
	t.last = now
}

// watch starts a's Watch on dl, in its own goroutine, which the Cache's
// Shutdown waits for.
func (c *Cache) watch(ctx context.Context, a *Artifact, dl *download) {
	var r io.Reader = failedReader{}
	rd := dl.newWatcher(ctx)
	if rd != nil {
		r = rd
	}
	c.busy.Add(1)
	go func() {
		defer c.busy.Done()
		if rd != nil {
			defer rd.Close()
		}
		a.Watch(ctx, r)
	}()
}

// failedReader is what Watch reads from a download that failed before it
// could be watched.
type failedReader struct{}

func (failedReader) Read([]byte) (int, error) { return 0, errAborted }

// freeSpacer is a store that can tell how many bytes it has room for.
type freeSpacer interface {
	FreeSpace(ctx context.Context) (int64, error)
}

// roomFor refuses, with an error matching store.ErrFull (a 507), a
// download whose announced size is more than the store has room for, so
// that a client gets the 507 before a byte rather than a 200 cut short
// when the store fills up. Without an announced size, or a store that
// can tell its free space, it refuses nothing.
func (c *Cache) roomFor(ctx context.Context, a *Artifact, body io.Reader) error {
	s, ok := body.(interface{ Size() int64 })
	if !ok || s.Size() <= 0 {
		return nil
	}
	fs, ok := c.cfg.Store.(freeSpacer)
	if !ok {
		return nil
	}
	free, err := fs.FreeSpace(ctx)
	if err != nil || s.Size() <= free {
		return nil
	}
	return c.storeErr(a, fmt.Errorf("%w: %s: upstream announces %d bytes, the store has %d free", store.ErrFull, a.Name, s.Size(), free))
}
