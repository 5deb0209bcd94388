package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/version"
	"io"
	"io/fs"
	"net/http"
	"slices"
	"strings"

	"github.com/gomirror/gomirror/internal/golang"
)

// Release is one Go release in a /golang/ index, in go.dev's JSON format
// (https://go.dev/dl/?mode=json), as the mirror serves it.
type Release = golang.Release

// File is one download of a [Release]. Its SHA256 is "" and its Size 0
// where an index does not say.
type File = golang.File

// maxIndexSize bounds the index gomirror reads: go.dev's full index is
// about 2 MB.
const maxIndexSize = 64 << 20

// Releases returns every release the mirror's /golang/ index lists
// (?mode=json&include=all), newest first. It returns an error matching
// [ErrNoArchives] when the mirror serves no /golang/ index: it answers 404
// or 410, or 400 as a module proxy that is only a module proxy does (to
// proxy.golang.org, "golang/" is a bad module path).
func (in *Installer) Releases(ctx context.Context) ([]Release, error) {
	u := in.mirrorURL() + "/golang/?mode=json&include=all"
	body, err := in.get(ctx, u)
	if err != nil {
		var he *httpError
		if errors.Is(err, fs.ErrNotExist) || errors.As(err, &he) && he.code == http.StatusBadRequest {
			return nil, fmt.Errorf("read the release index %s: %w", u, ErrNoArchives)
		}
		return nil, fmt.Errorf("read the release index: %w", err)
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, maxIndexSize+1))
	if err != nil {
		return nil, fmt.Errorf("read the release index %s: %w", u, err)
	}
	rels, err := parseIndex(data)
	if err != nil {
		return nil, fmt.Errorf("read the release index %s: %w", u, err)
	}
	return rels, nil
}

// parseIndex decodes a go.dev JSON index, drops the releases whose
// version is not a valid Go release name, and sorts the rest newest first.
func parseIndex(data []byte) ([]Release, error) {
	if len(data) > maxIndexSize {
		return nil, fmt.Errorf("index larger than %d bytes", maxIndexSize)
	}
	var rels []Release
	if err := json.Unmarshal(data, &rels); err != nil {
		return nil, fmt.Errorf("not a JSON list of releases: %w", err)
	}
	rels = slices.DeleteFunc(rels, func(r Release) bool { return CheckVersion(r.Version) != nil })
	slices.SortStableFunc(rels, func(a, b Release) int { return version.Compare(b.Version, a.Version) })
	return rels, nil
}

// archiveFor returns the archive of release v for goos/goarch in rels.
func archiveFor(rels []Release, v, goos, goarch string) (File, bool) {
	arch := goarch
	if goos == "linux" && goarch == "arm" {
		arch = "armv6l" // as golang.org/dl and go.dev name it
	}
	for _, r := range rels {
		if r.Version != v {
			continue
		}
		for _, f := range r.Files {
			if f.Kind == "archive" && f.OS == goos && f.Arch == arch &&
				(strings.HasSuffix(f.Filename, ".tar.gz") || strings.HasSuffix(f.Filename, ".zip")) {
				return f, true
			}
		}
	}
	return File{}, false
}

// CheckVersion reports whether v is a Go release name, such as "go1.22.0",
// "go1.21rc2" or "go1.20": a valid go/version toolchain name with nothing
// after it.
func CheckVersion(v string) error {
	plain := strings.IndexFunc(v, func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '.')
	}) < 0
	if !plain || !strings.HasPrefix(v, "go") || !version.IsValid(v) {
		return fmt.Errorf("%q is not a Go release name (want one like go1.22.0)", v)
	}
	return nil
}

// httpError is an HTTP response other than 200 OK. It matches
// fs.ErrNotExist for 404 and 410, the statuses after which the go command
// tries the next source.
type httpError struct {
	url    string
	status string
	code   int
}

func (e *httpError) Error() string { return e.url + ": " + e.status }

func (e *httpError) Is(target error) bool {
	return target == fs.ErrNotExist && (e.code == http.StatusNotFound || e.code == http.StatusGone)
}

// get fetches u and returns the body of a 200 response.
func (in *Installer) get(ctx context.Context, u string) (io.ReadCloser, error) {
	resp, err := in.do(ctx, u)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// do fetches u and returns a 200 response.
func (in *Installer) do(ctx context.Context, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := in.client().Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, &httpError{url: u, status: resp.Status, code: resp.StatusCode}
	}
	return resp, nil
}
