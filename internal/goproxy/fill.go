package goproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"

	"github.com/gomirror/gomirror/internal/verify"
)

// Size limits of what gomirror accepts from upstream.
const (
	maxMetadataSize = 16 << 20
	maxInfoSize     = 1 << 20
)

func maxSize(k kind) int64 {
	switch k {
	case kindZip:
		return modzip.MaxZipFile
	case kindMod:
		return modzip.MaxGoMod
	case kindInfo:
		return maxInfoSize
	default:
		return maxMetadataSize
	}
}

// fill fetches req from upstream, verifies it and stores it. Concurrent
// fills of one name share a single fetch, which goes on, bounded by
// FetchTimeout, when the caller's ctx ends. For metadata, fill also returns
// the content.
func (h *Handler) fill(ctx context.Context, req request) ([]byte, error) {
	ch := h.fills.DoChan(req.name, func() (any, error) {
		h.busy.Add(1)
		defer h.busy.Done()
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.FetchTimeout)
		defer cancel()
		h.m.FetchesInFlight.Inc()
		defer h.m.FetchesInFlight.Dec()
		if req.kind.Immutable() {
			return nil, h.fillImmutable(fctx, req)
		}
		return h.fillMetadata(fctx, req)
	})
	select {
	case res := <-ch:
		data, _ := res.Val.([]byte)
		return data, res.Err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fillImmutable fetches a versioned file, checks it and stores it. The
// checksum database lookup runs while the file downloads.
func (h *Handler) fillImmutable(ctx context.Context, req request) (err error) {
	if h.cfg.Locker != nil {
		fill, release, lerr := h.cfg.Locker.Lock(ctx, req.name)
		switch {
		case lerr != nil:
			h.log.DebugContext(ctx, "filling without coordination", "name", req.name, "err", lerr)
		case !fill:
			return nil // Another replica stored it.
		default:
			defer func() { release(err == nil) }()
			// The lock may come after another replica finished.
			if rc, gerr := h.cfg.Store.Get(ctx, req.name); gerr == nil {
				rc.Close()
				return nil
			}
		}
	}

	mv := module.Version{Path: req.path, Version: req.version}
	var (
		wg                sync.WaitGroup
		zipHash, modHash  string
		lookupErr         error
		needLookup        = h.cfg.Verifier != nil && (req.kind == kindMod || req.kind == kindZip)
		lookupCtx, cancel = context.WithCancel(ctx)
	)
	defer cancel()
	if needLookup {
		wg.Go(func() {
			zipHash, modHash, lookupErr = h.cfg.Verifier.Lookup(lookupCtx, req.path, req.version)
		})
	}
	tmp, err := h.download(ctx, req)
	if err != nil {
		cancel()
		wg.Wait()
		return err
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	wg.Wait()
	if lookupErr != nil {
		if errors.Is(lookupErr, fs.ErrNotExist) {
			return h.refuse(ctx, req, fmt.Errorf("%w: %s: not in the checksum database: %v", errRefused, mv, lookupErr))
		}
		return fmt.Errorf("%w: %s: cannot verify: checksum database: %v", errUpstream, mv, lookupErr)
	}

	if err := verify.File(mv, "."+string(req.kind), tmp.Name(), zipHash, modHash); err != nil {
		return h.refuse(ctx, req, err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := h.cfg.Store.Put(ctx, req.name, tmp); err != nil {
		return fmt.Errorf("storing %s: %w", req.name, err)
	}
	return nil
}

// refuse records a file that failed verification and returns the error
// the client sees.
func (h *Handler) refuse(ctx context.Context, req request, err error) error {
	h.m.VerifyFailures.WithLabelValues(string(req.kind)).Inc()
	h.log.WarnContext(ctx, "refused upstream file", "name", req.name, "err", err)
	if !errors.Is(err, errRefused) {
		err = fmt.Errorf("%w: %w", errRefused, err)
	}
	return err
}

// fillMetadata fetches a list, @latest or query and stores it.
func (h *Handler) fillMetadata(ctx context.Context, req request) ([]byte, error) {
	body, err := h.fetch(ctx, req)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, maxMetadataSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading %s: %v", errUpstream, req.name, err)
	}
	if len(data) > maxMetadataSize {
		return nil, fmt.Errorf("%w: %s: larger than %d bytes", errRefused, req.name, maxMetadataSize)
	}
	if req.kind != kindList {
		if err := verify.Info(module.Version{Path: req.path, Version: req.version}, data); err != nil {
			return nil, h.refuse(ctx, req, err)
		}
	}
	if err := h.cfg.Store.Put(ctx, req.name, bytes.NewReader(data)); err != nil {
		// The answer is still good; the next request fetches again.
		h.log.WarnContext(ctx, "storing metadata", "name", req.name, "err", err)
	}
	return data, nil
}

// fetch asks upstream for req and remembers a "not found" answer.
func (h *Handler) fetch(ctx context.Context, req request) (io.ReadCloser, error) {
	body, err := h.cfg.Upstream.Fetch(ctx, req.name)
	switch {
	case err == nil:
		return body, nil
	case errors.Is(err, fs.ErrNotExist):
		h.cfg.Negative.SetNotFound(ctx, req.name, oneLine(err.Error()), h.cfg.NegativeTTL)
		return nil, notFoundError(err.Error())
	case errors.Is(err, fs.ErrPermission), errors.Is(err, fs.ErrInvalid), errors.Is(err, context.DeadlineExceeded):
		return nil, err
	default:
		return nil, fmt.Errorf("%w: %v", errUpstream, err)
	}
}

// download fetches req into a temporary file, positioned at its start.
func (h *Handler) download(ctx context.Context, req request) (*os.File, error) {
	body, err := h.fetch(ctx, req)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	tmp, err := os.CreateTemp(h.cfg.TempDir, "fill-*")
	if err != nil {
		return nil, fmt.Errorf("downloading %s: %w", req.name, err)
	}
	limit := maxSize(req.kind)
	n, err := io.Copy(tmp, io.LimitReader(body, limit+1))
	if err == nil && n > limit {
		err = fmt.Errorf("%w: %s: larger than %d bytes", errRefused, req.name, limit)
	} else if err != nil {
		err = fmt.Errorf("%w: downloading %s: %v", errUpstream, req.name, err)
	}
	if err == nil {
		_, err = tmp.Seek(0, io.SeekStart)
	}
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	return tmp, nil
}
