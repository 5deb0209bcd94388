package maven

import (
	"context"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path"
	"strings"

	"github.com/gomirror/gomirror/internal/pull"
)

// storePrefix holds the repository's files in the store, in its layout.
const storePrefix = "maven2/"

// maxMetadataSize bounds a maven-metadata.xml from upstream.
const maxMetadataSize = 16 << 20

// Handler serves a Maven repository under [Prefix]. It is safe for
// concurrent use.
type Handler struct {
	cfg   Config
	cache *pull.Cache
	up    *pull.HTTPUpstream
	log   *slog.Logger
}

// New returns a Handler for cfg, or an error naming every invalid setting.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := cfg.withDefaults()
	return &Handler{cfg: c, cache: c.Cache, up: upstreamOf(c.Upstream, c.Repositories), log: c.Logger}, nil
}

// IsImmutable reports whether name is the store name of a file that never
// changes once published (every file of the repository but
// maven-metadata.xml), which a store with a byte budget may evict and the
// mirror fetches again.
func IsImmutable(name string) bool {
	return strings.HasPrefix(name, storePrefix) && path.Base(name) != metadataFile
}

// ServeHTTP answers a GET or HEAD under [Prefix]: files, maven-metadata.xml
// and the checksum files of both. Errors are answered in plain text, one
// line, as repositories answer them.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		pull.WriteText(w, http.StatusMethodNotAllowed, "the mirror is read-only: "+r.Method+" is not served")
		return
	}
	req, err := parsePath(r.URL.EscapedPath())
	if err == nil {
		switch {
		case req.kind == kindFile:
			err = h.cache.Serve(w, r, h.fileArtifact(req))
		case req.kind == kindMetadata:
			err = h.cache.Serve(w, r, h.metadataArtifact(req))
		case req.isMetadata():
			err = h.serveMetadataChecksum(w, r, req)
		default:
			err = h.cache.Serve(w, r, h.checksumArtifact(req))
		}
	}
	if err != nil {
		code := pull.Status(err)
		if code >= 500 {
			h.log.WarnContext(r.Context(), "maven request failed", "method", r.Method, "path", pull.OneLine(trunc(r.URL.Path)), "status", code, "err", err)
		}
		pull.WriteText(w, code, pull.Reason(err))
	}
}

// PrivateSubject reports whether name, a [Subject] ("groupId/artifactId"),
// may name private content: its groupId, or the groupId and artifactId
// read together as one group (as metadata paths can be read), falls in a
// private group. It errs towards private: access control judges by it.
func (h *Handler) PrivateSubject(name string) bool {
	group, artifact, _ := strings.Cut(name, "/")
	if h.inPrivateGroup(group) {
		return true
	}
	return artifact != "" && h.inPrivateGroup(group+"."+artifact)
}

// private reports whether req's files come from the private repositories.
// A file's groupId is known exactly; metadata's is not (group, artifact
// or version directory), so it is private when any reading of its
// directories falls in a private group.
func (h *Handler) private(req *request) bool {
	if len(h.cfg.PrivateGroups) == 0 {
		return false
	}
	var group string
	if req.isMetadata() {
		group = strings.Join(req.dirs, ".")
	} else {
		group, _ = req.coordinates()
	}
	return h.inPrivateGroup(group)
}

// inPrivateGroup reports whether group is one of the private groups or
// below one.
func (h *Handler) inPrivateGroup(group string) bool {
	for _, g := range h.cfg.PrivateGroups {
		if g == "*" || group == g || strings.HasPrefix(group, g+".") {
			return true
		}
	}
	return false
}

// repositories returns the repositories to ask for req, in order: the
// private ones for a private group, the public ones otherwise.
func (h *Handler) repositories(req *request) []Repository {
	private := h.private(req)
	var out []Repository
	for _, r := range h.cfg.Repositories {
		if r.Private() == private {
			out = append(out, r)
		}
	}
	return out
}

// fileArtifact describes an immutable file of the repository.
func (h *Handler) fileArtifact(req *request) *pull.Artifact {
	return &pull.Artifact{
		Ecosystem:   Ecosystem,
		Kind:        "file",
		Name:        storePrefix + req.path,
		ContentType: contentType(req.path),
		MaxSize:     h.cfg.MaxFileSize,
		// Files come only from the configured repositories.
		NameSent: true,
		Fetch: func(ctx context.Context, _ io.Reader) (io.ReadCloser, error) {
			return h.fetch(ctx, req, false)
		},
	}
}

// metadataArtifact describes a maven-metadata.xml, fresh for the TTL.
func (h *Handler) metadataArtifact(req *request) *pull.Artifact {
	return &pull.Artifact{
		Ecosystem:   Ecosystem,
		Kind:        "metadata",
		Name:        storePrefix + req.path,
		ContentType: "text/xml",
		TTL:         h.cfg.MetadataTTL,
		MaxSize:     maxMetadataSize,
		NameSent:    true,
		Fetch: func(ctx context.Context, _ io.Reader) (io.ReadCloser, error) {
			return h.fetch(ctx, req, true)
		},
		Check: func(ctx context.Context, f *os.File) error {
			return checkMetadata(f)
		},
	}
}

// checksumArtifact describes a checksum file of an immutable file: it is
// computed from the stored file, which was checked when it was stored,
// and never taken from upstream.
func (h *Handler) checksumArtifact(req *request) *pull.Artifact {
	file := h.fileArtifact(req)
	return &pull.Artifact{
		Ecosystem:   Ecosystem,
		Kind:        "checksum",
		Name:        file.Name + "." + req.algorithm,
		ContentType: "text/plain; charset=utf-8",
		MaxSize:     1 << 10,
		Fetch: func(ctx context.Context, _ io.Reader) (io.ReadCloser, error) {
			e, err := h.cache.Open(ctx, file)
			if err != nil {
				return nil, err
			}
			defer e.Body.Close()
			sum, err := digest(req.algorithm, e.Body)
			if err != nil {
				return nil, fmt.Errorf("%w: summing %s: %w", pull.ErrUpstream, req.path, err)
			}
			return io.NopCloser(strings.NewReader(sum)), nil
		},
	}
}

// serveMetadataChecksum serves a checksum of the stored
// maven-metadata.xml, as fresh as the metadata is.
func (h *Handler) serveMetadataChecksum(w http.ResponseWriter, r *http.Request, req *request) error {
	meta := h.metadataArtifact(req)
	e, err := h.cache.Open(r.Context(), meta)
	if err != nil {
		return err
	}
	defer e.Body.Close()
	sum, err := digest(req.algorithm, e.Body)
	if err != nil {
		return fmt.Errorf("reading %s: %w", req.path, err)
	}
	cc := pull.MetadataCacheControl(meta.TTL)
	if e.Stale {
		pull.MarkStale(w)
		cc = "no-cache"
	}
	pull.ServeBytes(w, r, "text/plain; charset=utf-8", []byte(sum), e.ModTime, cc)
	return nil
}

// digest returns the hex digest of r's content.
func digest(algorithm string, r io.Reader) (string, error) {
	hh := newHash(algorithm)
	if _, err := io.Copy(hh, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(hh.Sum(nil)), nil
}

// checkMetadata checks that f is a maven-metadata.xml: XML whose root is
// <metadata>.
func checkMetadata(f io.Reader) error {
	d := xml.NewDecoder(f)
	for {
		tok, err := d.Token()
		if err != nil {
			return fmt.Errorf("maven-metadata.xml from upstream is not XML: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local != "metadata" {
				return fmt.Errorf("maven-metadata.xml from upstream has root <%s>, want <metadata>", pull.OneLine(trunc(se.Name.Local)))
			}
			return nil
		}
	}
}

// contentType returns the Content-Type of a repository file.
func contentType(p string) string {
	switch path.Ext(p) {
	case ".jar", ".war", ".ear", ".aar":
		return "application/java-archive"
	case ".pom", ".xml":
		return "text/xml"
	case ".asc", ".txt":
		return "text/plain; charset=utf-8"
	case ".json", ".module":
		return "application/json"
	}
	return "application/octet-stream"
}
