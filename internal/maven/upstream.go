package maven

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"

	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/redact"
)

// userAgent identifies the mirror to upstream repositories.
const userAgent = "gomirror (maven mirror)"

// trusted are the checksum algorithms a file is checked with, strongest
// first. md5 is not among them: a file that has only an md5 is unchecked.
var trusted = []string{"sha512", "sha256", "sha1"}

// checkedBody is an upstream file with the digest it must match, for the
// core; it keeps the announced size.
type checkedBody struct {
	io.ReadCloser
	want *pull.Digest
}

func (b *checkedBody) Digest() *pull.Digest { return b.want }

func (b *checkedBody) Size() int64 {
	if s, ok := b.ReadCloser.(interface{ Size() int64 }); ok {
		return s.Size()
	}
	return -1
}

// fetch fetches req's file from the first of its repositories that has it,
// with the digest it must match. metadata files without a checksum
// upstream are stored after their own check; other files without one are
// refused unless AllowUnchecked is set.
func (h *Handler) fetch(ctx context.Context, req *request, metadata bool) (io.ReadCloser, error) {
	repos := h.repositories(req)
	for _, repo := range repos {
		body, err := h.fetchFrom(ctx, repo, req, metadata)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		return body, err
	}
	switch {
	case len(repos) == 0:
		return nil, pull.NotFound("not found: " + req.path + ": no repository serves its group")
	case len(repos) == 1:
		return nil, pull.NotFound("not found: " + req.path + ": not in " + redact.String(repos[0].URL))
	}
	return nil, pull.NotFound(fmt.Sprintf("not found: %s: in none of the %d repositories", req.path, len(repos)))
}

// fetchFrom fetches req's file from repo: its checksum files first, then
// the file.
func (h *Handler) fetchFrom(ctx context.Context, repo Repository, req *request, metadata bool) (io.ReadCloser, error) {
	want, err := h.upstreamDigest(ctx, repo, req.path)
	if err != nil {
		return nil, err
	}
	body, err := h.get(ctx, repo, req.path)
	if err != nil {
		return nil, err
	}
	switch {
	case want != nil:
		return &checkedBody{ReadCloser: body, want: want}, nil
	case metadata:
		return body, nil
	case h.cfg.AllowUnchecked:
		h.log.WarnContext(ctx, "storing a Maven file that its repository publishes no checksum for", "path", req.path, "repository", redact.String(repo.URL))
		return body, nil
	}
	body.Close()
	return nil, fmt.Errorf("%w: %s: %s publishes no sha512, sha256 or sha1 checksum for it, and the mirror stores no unchecked file", pull.ErrRefused, req.path, redact.String(repo.URL))
}

// upstreamDigest fetches the checksum files of p from repo, all at once,
// and returns the strongest one's digest, or nil when repo has none. A
// checksum file that cannot be fetched, for another reason than "not
// found", or read, fails the fill: the mirror does not fall back to a
// weaker checksum, or to none, when a stronger one fails.
func (h *Handler) upstreamDigest(ctx context.Context, repo Repository, p string) (*pull.Digest, error) {
	type result struct {
		sum []byte
		err error
	}
	results := make([]result, len(trusted))
	var wg sync.WaitGroup
	for i, alg := range trusted {
		wg.Go(func() {
			body, err := h.get(ctx, repo, p+"."+alg)
			if err != nil {
				results[i].err = err
				return
			}
			defer body.Close()
			data, err := io.ReadAll(io.LimitReader(body, maxChecksumFile+1))
			if err != nil {
				results[i].err = fmt.Errorf("%w: reading %s.%s: %w", pull.ErrUpstream, p, alg, err)
				return
			}
			sum, err := parseChecksum(alg, data)
			if err != nil {
				results[i].err = fmt.Errorf("%w: %s.%s from %s: %w", pull.ErrRefused, p, alg, redact.String(repo.URL), err)
				return
			}
			results[i].sum = sum
		})
	}
	wg.Wait()
	for i, r := range results {
		switch {
		case r.err == nil:
			return &pull.Digest{
				Algorithm: trusted[i], Sum: r.sum, Size: -1,
				Source: redact.String(repo.URL) + p + "." + trusted[i],
			}, nil
		case !errors.Is(r.err, fs.ErrNotExist):
			return nil, r.err
		}
	}
	return nil, nil
}

// get fetches p from repo; the upstream client sends repo's credentials.
func (h *Handler) get(ctx context.Context, repo Repository, p string) (io.ReadCloser, error) {
	return h.up.Get(ctx, repo.URL+p, nil)
}
