package pull

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"
)

// errAborted ends the transfer of a streamed fill that failed its checks
// or its download.
var errAborted = errors.New("fill aborted")

// download is a fill's temporary file while it arrives. Clients that
// joined the fill read it as it grows, up to the held-back tail, which
// they get only once the file has passed its checks. It is safe for
// concurrent use.
type download struct {
	f        *os.File
	size     int64 // announced size, or -1
	holdback int64
	heard    func() // when not nil, called at each write

	mu      sync.Mutex
	written int64
	allIn   bool  // every byte is in: the checks may still refuse them
	end     bool  // no more bytes will come
	err     error // set at the end: nil means checked and stored
	changed chan struct{}
	refs    int // the fill's own, and one per reader
}

// copyBufs are the 64 KiB buffers of downloads and streams, reused
// rather than left to the collector: a cold fill runs hundreds.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

func newDownload(f *os.File, size, holdback int64) *download {
	return &download{f: f, size: size, holdback: holdback, changed: make(chan struct{}), refs: 1}
}

// copyFrom writes src to the file, hashing into h when it is not nil, and
// publishes each write. Errors of src are the upstream's; errors writing
// the file are the mirror's.
func (d *download) copyFrom(ctx context.Context, src io.Reader, h hash.Hash) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var n int64
	for {
		m, rerr := src.Read(buf)
		if m > 0 {
			if h != nil {
				h.Write(buf[:m])
			}
			if _, werr := d.f.Write(buf[:m]); werr != nil {
				return n, fmt.Errorf("%w: writing download: %w", errStorage, fullErr(werr))
			}
			n += int64(m)
			d.publish(n)
			if d.heard != nil {
				d.heard()
			}
		}
		switch {
		case rerr == io.EOF:
			return n, nil
		case rerr != nil:
			if errors.Is(rerr, os.ErrDeadlineExceeded) || errors.Is(rerr, context.DeadlineExceeded) {
				return n, fmt.Errorf("downloading: %w", rerr)
			}
			if ctx.Err() != nil {
				return n, fmt.Errorf("downloading: %w", ctx.Err())
			}
			return n, fmt.Errorf("%w: downloading: %v", ErrUpstream, rerr)
		}
	}
}

func (d *download) publish(n int64) {
	d.mu.Lock()
	d.written = n
	close(d.changed)
	d.changed = make(chan struct{})
	d.mu.Unlock()
}

// knownSize returns the download's size: the announced one, or the
// written one once it has ended, or -1.
func (d *download) knownSize() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.size < 0 && d.end && d.err == nil {
		return d.written
	}
	return d.size
}

// arrived records that every byte is in, for the readers that see the
// bytes before the checks (see newWatcher).
func (d *download) arrived() {
	d.mu.Lock()
	if !d.allIn {
		d.allIn = true
		close(d.changed)
		d.changed = make(chan struct{})
	}
	d.mu.Unlock()
}

// finish ends the download: err nil means the file passed its checks and
// is stored, and readers get its tail; otherwise readers are cut short.
func (d *download) finish(err error) {
	d.mu.Lock()
	if !d.end {
		d.end, d.err = true, err
		close(d.changed)
		d.changed = make(chan struct{})
	}
	d.mu.Unlock()
}

// release drops a reference; the last one closes and removes the file.
func (d *download) release() {
	d.mu.Lock()
	d.refs--
	last := d.refs == 0
	d.mu.Unlock()
	if last {
		name := d.f.Name()
		d.f.Close()
		os.Remove(name) // Gone already when the store renamed it.
	}
}

// readable returns how many bytes a reader may have now, whether no more
// will come, and the download's outcome.
func (d *download) readable() (n int64, end bool, err error, changed <-chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.end {
		if d.err != nil {
			return 0, true, d.err, d.changed
		}
		return d.written, true, nil, d.changed
	}
	n = d.written
	switch {
	case d.size >= 0:
		n = min(n, d.size-d.holdback)
	default:
		n -= d.holdback
	}
	return max(n, 0), false, nil, d.changed
}

// reader reads a download from its start as it arrives. It is for one
// goroutine.
type reader struct {
	ctx context.Context
	d   *download
	off int64
	// watcher readers get every byte as it arrives, held back or not,
	// and io.EOF once all are in, before the checks.
	watcher bool
}

// newWatcher returns a reader of every byte of d as it arrives, for an
// artifact's Watch, or nil when d has already failed. The caller closes
// it.
func (d *download) newWatcher(ctx context.Context) *reader {
	r := d.newReader(ctx)
	if r != nil {
		r.watcher = true
	}
	return r
}

// newReader returns a reader of d, or nil when d has already failed. The
// caller closes it.
func (d *download) newReader(ctx context.Context) *reader {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.end && d.err != nil || d.refs == 0 {
		return nil
	}
	d.refs++
	return &reader{ctx: ctx, d: d}
}

// wait waits until the download has a byte that may be sent while it is
// still under way (streaming is true), or until it has ended.
func (r *reader) wait() (streaming bool, err error) {
	for {
		n, end, _, changed := r.d.readable()
		switch {
		case end:
			return false, nil
		case n > 0:
			return true, nil
		}
		select {
		case <-changed:
		case <-r.ctx.Done():
			return false, r.ctx.Err()
		}
	}
}

func (r *reader) Read(p []byte) (int, error) {
	for {
		n, end, err, changed := r.d.readable()
		if err != nil {
			return 0, errAborted
		}
		if r.watcher {
			r.d.mu.Lock()
			n, end = r.d.written, r.d.allIn || r.d.end
			r.d.mu.Unlock()
		}
		if r.off < n {
			p = p[:min(int64(len(p)), n-r.off)]
			m, rerr := r.d.f.ReadAt(p, r.off)
			r.off += int64(m)
			if rerr == io.EOF && m > 0 {
				rerr = nil
			}
			return m, rerr
		}
		if end {
			return 0, io.EOF
		}
		select {
		case <-changed:
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		}
	}
}

func (r *reader) Close() error {
	r.d.release()
	return nil
}
