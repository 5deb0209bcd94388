package pull

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gomirror/gomirror/internal/store"
)

// flight is one fill under way. Requests for the same name join it rather
// than fetching again; the Cache's flying map holds it while it runs.
// (golang.org/x/sync/singleflight coalesces calls the same way, but cannot
// let the joined callers read the download while it is still arriving.)
type flight struct {
	// started is closed when the download has begun (dl is set) or the
	// fill has ended without one.
	started chan struct{}
	dl      *download
	// done is closed when the fill has ended; err is its outcome.
	done chan struct{}
	err  error
	// failed is set as soon as the fill is known to fail, before its
	// download is released: a request that comes after that starts a
	// fill of its own rather than join one that can only fail.
	failed atomic.Bool
}

// join returns the flight filling a.Name, starting one when there is none.
// The fill runs detached from ctx, bounded by FetchTimeout, so that it
// outlives the client that started it.
//
// Before it starts a fill it asks Config.Admit, whose refusal it returns.
func (c *Cache) join(ctx context.Context, a *Artifact) (*flight, error) {
	release := func() {}
	if c.cfg.Admit != nil {
		c.mu.Lock()
		f := c.flying[a.Name]
		c.mu.Unlock()
		if f != nil && !f.failed.Load() {
			return f, nil
		}
		rel, err := c.cfg.Admit(ctx)
		if err != nil {
			return nil, err
		}
		release = rel
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.flying[a.Name]; f != nil && !f.failed.Load() {
		release()
		return f, nil
	}
	f := &flight{started: make(chan struct{}), done: make(chan struct{})}
	c.flying[a.Name] = f
	c.busy.Add(1)
	go func() {
		defer c.busy.Done()
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.FetchTimeout)
		defer cancel()
		c.m.FetchesInFlight.Inc()
		err := c.fill(fctx, a, f)
		c.m.FetchesInFlight.Dec()
		c.m.Fills.WithLabelValues(a.Ecosystem, a.Kind, fillResultOf(err)).Inc()
		c.mu.Lock()
		if c.flying[a.Name] == f {
			delete(c.flying, a.Name)
		}
		c.mu.Unlock()
		f.err = err
		release() // Before the waiting clients hear the fill is over.
		select {
		case <-f.started:
		default:
			close(f.started)
		}
		close(f.done)
	}()
	return f, nil
}

func fillResultOf(err error) string {
	if err == nil {
		return "ok"
	}
	return fillResult(err)
}

// wait waits for f to end, or for ctx.
func (f *flight) wait(ctx context.Context) error {
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fill fetches a from upstream, checks it and stores it.
func (c *Cache) fill(ctx context.Context, a *Artifact, f *flight) (err error) {
	if a.TTL > 0 {
		return c.fillMetadata(ctx, a, f)
	}
	if c.cfg.Locker != nil {
		fill, release, lerr := c.cfg.Locker.Lock(ctx, a.Name)
		switch {
		case lerr != nil:
			c.log.DebugContext(ctx, "filling without coordination", "name", a.Name, "err", lerr)
		case !fill:
			return nil // Another replica stored it.
		default:
			defer func() { release(err == nil) }()
			// The lock may come after another replica finished.
			if rc, gerr := c.cfg.Store.Get(ctx, a.Name); gerr == nil {
				rc.Close()
				return nil
			}
		}
	}
	// A fill that ended between the caller's store lookup and its join
	// has stored the file already.
	if rc, gerr := c.cfg.Store.Get(ctx, a.Name); gerr == nil {
		rc.Close()
		return nil
	}
	pt := c.startPhases(a)
	body, err := c.fetch(ctx, a, nil)
	if err != nil {
		return err
	}
	defer body.Close()
	dl, err := c.download(ctx, a, body, f)
	if err != nil {
		return err
	}
	pt.end(PhaseUpstream)
	defer dl.release()
	defer func() {
		if err != nil {
			f.failed.Store(true)
		}
	}()
	if err := c.check(ctx, a, dl); err != nil {
		dl.finish(err)
		return err
	}
	pt.end(PhaseCheck)
	// The file is checked: the clients streaming it get its held-back
	// tail now, not after the store's syncs. A failure to store it is the
	// mirror's, not theirs; the next request fills again.
	dl.finish(nil)
	err = c.put(ctx, a, dl.f)
	pt.end(PhaseStore)
	return err
}

// fillMetadata refreshes a metadata artifact. A stored copy that upstream
// confirms as current is stored again, which restarts its TTL.
func (c *Cache) fillMetadata(ctx context.Context, a *Artifact, f *flight) error {
	var prev io.ReadCloser
	if rc, err := c.cfg.Store.Get(ctx, a.Name); err == nil {
		// A refresh that ended between the caller's store lookup and
		// its join has stored a fresh copy already.
		if _, mod, ok := store.Stat(rc); ok && time.Since(mod) < a.TTL {
			rc.Close()
			return nil
		}
		prev = rc
		defer rc.Close()
	}
	var prevReader io.Reader
	if prev != nil {
		prevReader = prev
	}
	pt := c.startPhases(a)
	body, err := c.fetch(ctx, a, prevReader)
	if errors.Is(err, ErrNotModified) && prev != nil {
		rc, gerr := c.cfg.Store.Get(ctx, a.Name)
		if gerr != nil {
			return fmt.Errorf("%w: reading %s: %w", errStorage, a.Name, gerr)
		}
		defer rc.Close()
		err := c.cfg.Store.Put(ctx, a.Name, rc)
		if err == nil {
			c.touched(a)
		}
		return c.storeErr(a, err)
	}
	if err != nil {
		return err
	}
	defer body.Close()
	dl, err := c.download(ctx, a, body, nil)
	if err != nil {
		return err
	}
	pt.end(PhaseUpstream)
	defer dl.release()
	if err := c.check(ctx, a, dl); err != nil {
		return err
	}
	pt.end(PhaseCheck)
	err = c.put(ctx, a, dl.f)
	pt.end(PhaseStore)
	return err
}

// fetch asks upstream for a and remembers a "not found" answer.
func (c *Cache) fetch(ctx context.Context, a *Artifact, prev io.Reader) (io.ReadCloser, error) {
	body, err := a.Fetch(ctx, prev)
	switch {
	case err == nil:
		if s, ok := body.(interface{ Size() int64 }); ok && s.Size() > a.maxSize() {
			body.Close()
			return nil, c.refuse(ctx, a, fmt.Errorf("%s: upstream announces %d bytes, over the limit of %d", a.Name, s.Size(), a.maxSize()))
		}
		if err := c.roomFor(ctx, a, body); err != nil {
			body.Close()
			return nil, err
		}
		return body, nil
	case errors.Is(err, fs.ErrNotExist):
		c.cfg.Negative.SetNotFound(ctx, a.Name, OneLine(err.Error()), c.cfg.NegativeTTL)
		return nil, NotFound(err.Error())
	case errors.Is(err, ErrNotModified), errors.Is(err, ErrRefused), errors.Is(err, fs.ErrPermission), errors.Is(err, fs.ErrInvalid),
		errors.Is(err, ErrUpstream), errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return nil, err
	default:
		return nil, fmt.Errorf("%w: %v", ErrUpstream, err)
	}
}

// download copies body into a temporary file, hashing it when a has a
// digest to match, and publishing its progress to f's joined clients when
// f is not nil. The caller releases the download.
func (c *Cache) download(ctx context.Context, a *Artifact, body io.Reader, f *flight) (*download, error) {
	tmp, err := os.CreateTemp(c.cfg.TempDir, "fill-*")
	if err != nil {
		return nil, c.storeErr(a, fmt.Errorf("downloading %s: %w", a.Name, err))
	}
	size := int64(-1)
	if s, ok := body.(interface{ Size() int64 }); ok && s.Size() >= 0 {
		size = s.Size()
	} else if a.Want != nil && a.Want.Size >= 0 {
		size = a.Want.Size
	}
	dl := newDownload(tmp, size, a.holdback())
	if f != nil {
		f.dl = dl
		close(f.started)
	}
	if a.Watch != nil {
		c.watch(ctx, a, dl)
	}
	var h hash.Hash
	if a.Want != nil {
		h, err = newHash(a.Want.Algorithm)
		if err != nil {
			dl.finish(err)
			dl.release()
			return nil, err
		}
	}
	limit := a.maxSize()
	n, err := dl.copyFrom(ctx, io.LimitReader(body, limit+1), h)
	switch {
	case errors.Is(err, errStorage):
		err = c.storeErr(a, err)
	case err != nil:
	case n > limit:
		err = c.refuse(ctx, a, fmt.Errorf("%s: larger than %d bytes", a.Name, limit))
	case a.Want != nil && a.Want.Size >= 0 && n != a.Want.Size:
		err = c.refuse(ctx, a, fmt.Errorf("%s: upstream sent %d bytes, want %d from %s", a.Name, n, a.Want.Size, a.Want.Source))
	case a.Want != nil && !bytes.Equal(h.Sum(nil), a.Want.Sum):
		err = c.refuse(ctx, a, fmt.Errorf("%s: %s mismatch: upstream sent %s, want %s from %s",
			a.Name, a.Want.Algorithm, hex.EncodeToString(h.Sum(nil)), hex.EncodeToString(a.Want.Sum), a.Want.Source))
	}
	if err != nil {
		if f != nil {
			f.failed.Store(true)
		}
		dl.finish(err)
		dl.release()
		return nil, err
	}
	dl.arrived()
	return dl, nil
}

// check runs the artifact's own check on a finished download.
func (c *Cache) check(ctx context.Context, a *Artifact, dl *download) error {
	if a.Check == nil {
		return nil
	}
	if _, err := dl.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("%w: %s: %w", errStorage, a.Name, err)
	}
	if err := a.Check(ctx, dl.f); err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
			(errors.Is(err, ErrUpstream) && !errors.Is(err, ErrRefused)) || errors.Is(err, fs.ErrPermission) {
			return err // Not a verdict on the file.
		}
		return c.refuse(ctx, a, err)
	}
	return nil
}

// put stores a checked download.
func (c *Cache) put(ctx context.Context, a *Artifact, f *os.File) error {
	var err error
	if fp, ok := c.cfg.Store.(store.FilePutter); ok {
		err = fp.PutFile(ctx, a.Name, f)
	} else if _, err = f.Seek(0, io.SeekStart); err == nil {
		err = c.cfg.Store.Put(ctx, a.Name, f)
	}
	if err == nil {
		c.touched(a)
	}
	return c.storeErr(a, err)
}

// storeErr marks err, a failure to write to the store or a temporary file,
// as the mirror's own, and counts it.
func (c *Cache) storeErr(a *Artifact, err error) error {
	if err == nil {
		return nil
	}
	err = fullErr(err)
	reason := "error"
	if errors.Is(err, store.ErrFull) {
		reason = "full"
	}
	c.m.StoreWriteFailures.WithLabelValues(reason).Inc()
	c.log.Error("writing to the store", "name", a.Name, "err", err)
	if errors.Is(err, errStorage) {
		return err
	}
	return fmt.Errorf("%w: storing %s: %w", errStorage, a.Name, err)
}

// refuse records a file that failed its checks and returns the error the
// client sees.
func (c *Cache) refuse(ctx context.Context, a *Artifact, err error) error {
	c.m.VerifyFailures.WithLabelValues(a.Ecosystem, a.Kind).Inc()
	c.log.WarnContext(ctx, "refused upstream file", "ecosystem", a.Ecosystem, "name", a.Name, "err", err)
	if !errors.Is(err, ErrRefused) {
		err = fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return err
}

// fullErr marks err as a full store when the system says so.
func fullErr(err error) error {
	if !errors.Is(err, store.ErrFull) && (errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)) {
		return fmt.Errorf("%w: %w", store.ErrFull, err)
	}
	return err
}

func newHash(algorithm string) (hash.Hash, error) {
	switch algorithm {
	case "sha256":
		return sha256.New(), nil
	case "sha512":
		return sha512.New(), nil
	case "sha1":
		return sha1.New(), nil
	default:
		return nil, fmt.Errorf("pull: unknown digest algorithm %q", algorithm)
	}
}
