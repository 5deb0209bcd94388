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
	// heard is when the fill last heard from upstream, in Unix
	// nanoseconds: when it started, then at each byte of the download.
	// It is zero once the download has ended: a fill that checks and
	// stores is never stalled, however long that takes.
	heard atomic.Int64
	// abandon cancels the fill, with errStalled as the cause.
	abandon context.CancelCauseFunc
}

// errStalled ends a fill that made no progress for longer than the stall
// timeout and that a later request abandoned for a fresh one. The clients
// waiting for it join the fresh one.
var errStalled = fmt.Errorf("%w: the upstream stalled; a fresh attempt replaced this fill", os.ErrDeadlineExceeded)

// maxRejoins bounds how many abandoned fills one request follows to their
// replacements before it answers with errStalled.
const maxRejoins = 3

// stalled reports whether f has heard nothing from upstream for longer
// than bound.
func (f *flight) stalled(now time.Time, bound time.Duration) bool {
	heard := f.heard.Load()
	return heard != 0 && now.UnixNano()-heard > int64(bound)
}

// heardAt records that f heard from upstream at now, unless its download
// has ended.
func (f *flight) heardAt(now time.Time) {
	if f.heard.Load() != 0 {
		f.heard.Store(now.UnixNano())
	}
}

// join returns the flight filling a.Name, starting one when there is none,
// or when the one under way has failed or stalled (then it is abandoned).
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
		if f != nil && c.joinable(f) {
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
	if f := c.flying[a.Name]; f != nil {
		if c.joinable(f) {
			release()
			return f, nil
		}
		if !f.failed.Load() {
			c.log.WarnContext(ctx, "abandoning a stalled fill for a fresh one", "ecosystem", a.Ecosystem, "name", a.Name,
				"silent", c.now().Sub(time.Unix(0, f.heard.Load())).Round(time.Millisecond))
			f.abandon(errStalled)
		}
	}
	f := &flight{started: make(chan struct{}), done: make(chan struct{})}
	f.heard.Store(c.now().UnixNano())
	fctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	f.abandon = cancel
	c.flying[a.Name] = f
	c.busy.Add(1)
	go func() {
		defer c.busy.Done()
		defer cancel(nil)
		fctx, stop := context.WithTimeout(fctx, c.cfg.FetchTimeout)
		defer stop()
		c.m.FetchesInFlight.Inc()
		err := c.fill(fctx, a, f)
		if err != nil && errors.Is(context.Cause(fctx), errStalled) {
			err = errStalled
		}
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

// joinable reports whether a request may join f rather than start a fill:
// f has not failed and has not stalled.
func (c *Cache) joinable(f *flight) bool {
	return !f.failed.Load() && !f.stalled(c.now(), c.cfg.StallTimeout)
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

// await waits for the fill of a that f is, following it to the fresh
// fill that replaces it when it is abandoned as stalled.
func (c *Cache) await(ctx context.Context, a *Artifact, f *flight) error {
	for range maxRejoins {
		err := f.wait(ctx)
		if !errors.Is(err, errStalled) {
			return err
		}
		if f, err = c.join(ctx, a); err != nil {
			return err
		}
	}
	return f.wait(ctx)
}

// fill fetches a from upstream, checks it and stores it.
func (c *Cache) fill(ctx context.Context, a *Artifact, f *flight) (err error) {
	if a.TTL > 0 {
		return c.fillMetadata(ctx, a, f)
	}
	locked, release := c.lock(ctx, a, f)
	if !locked {
		return nil // Another replica stored it.
	}
	defer func() { release(err == nil) }()
	// A fill that ended between the caller's store lookup and its join,
	// here or on another replica before this one took the lock, has
	// stored the file already.
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

// lock takes the replicas' fill lock of a, when there is a Locker. It
// returns false when another replica stored a meanwhile; otherwise the
// caller fills a and then calls release once. Without coordination (no
// Locker, or Redis unreachable) it returns true at once. While f waits for
// another replica's fill, which renews its lock as long as it lives, f is
// not stalled.
func (c *Cache) lock(ctx context.Context, a *Artifact, f *flight) (fill bool, release func(stored bool)) {
	release = func(bool) {}
	if c.cfg.Locker == nil {
		return true, release
	}
	f.heard.Store(0)
	fill, rel, err := c.cfg.Locker.Lock(ctx, a.Name)
	f.heard.Store(c.now().UnixNano())
	switch {
	case err != nil:
		c.log.DebugContext(ctx, "filling without coordination", "name", a.Name, "err", err)
		return true, release
	case !fill:
		return false, release
	}
	return true, rel
}

// fillMetadata refreshes a metadata artifact. A stored copy that upstream
// confirms as current is stored again, which restarts its TTL. Replicas
// refresh it once between them, as they fill immutable files.
func (c *Cache) fillMetadata(ctx context.Context, a *Artifact, f *flight) (err error) {
	locked, release := c.lock(ctx, a, f)
	if !locked {
		return nil // Another replica refreshed it.
	}
	defer func() { release(err == nil) }()
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
	dl, err := c.download(ctx, a, body, f)
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
	want := a.Want
	if d, ok := body.(interface{ Digest() *Digest }); ok && want == nil {
		want = d.Digest()
	}
	size := int64(-1)
	if s, ok := body.(interface{ Size() int64 }); ok && s.Size() >= 0 {
		size = s.Size()
	} else if want != nil && want.Size >= 0 {
		size = want.Size
	}
	dl := newDownload(tmp, size, a.holdback())
	if f != nil {
		dl.heard = func() { f.heardAt(c.now()) }
		f.heardAt(c.now())
		if a.TTL <= 0 {
			f.dl = dl
			close(f.started)
		}
	}
	if a.Watch != nil {
		c.watch(ctx, a, dl)
	}
	var h hash.Hash
	if want != nil {
		h, err = newHash(want.Algorithm)
		if err != nil {
			dl.finish(err)
			dl.release()
			return nil, err
		}
	}
	limit := a.maxSize()
	n, err := dl.copyFrom(ctx, io.LimitReader(body, limit+1), h)
	if f != nil {
		f.heard.Store(0) // Done with upstream: checking and storing are not stalls.
	}
	switch {
	case errors.Is(err, errStorage):
		err = c.storeErr(a, err)
	case err != nil:
	case n > limit:
		err = c.refuse(ctx, a, fmt.Errorf("%s: larger than %d bytes", a.Name, limit))
	case want != nil && want.Size >= 0 && n != want.Size:
		err = c.refuse(ctx, a, fmt.Errorf("%s: upstream sent %d bytes, want %d from %s", a.Name, n, want.Size, want.Source))
	case want != nil && !bytes.Equal(h.Sum(nil), want.Sum):
		err = c.refuse(ctx, a, mismatch(a, want, h.Sum(nil)))
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

// mismatch is the refusal of a file whose digest is not want's. The digest
// of what was sent is named only for an artifact fetched from the hosts
// the operator configured ([Artifact.NameSent]): for a URL that an
// upstream's content chose, it would tell that content's author what the
// mirror can reach.
func mismatch(a *Artifact, want *Digest, sent []byte) error {
	if a.NameSent {
		return fmt.Errorf("%s: %s mismatch: upstream sent %s, want %s from %s",
			a.Name, want.Algorithm, hex.EncodeToString(sent), hex.EncodeToString(want.Sum), want.Source)
	}
	return fmt.Errorf("%s: %s mismatch: what upstream sent does not have the %s %s from %s",
		a.Name, want.Algorithm, want.Algorithm, hex.EncodeToString(want.Sum), want.Source)
}
