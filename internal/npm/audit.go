package npm

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gomirror/gomirror/internal/pull"
)

// audit passes an audit request through to the default upstream,
// uncached. When scopes are routed, their packages are taken out of the
// request first, so that their names never reach the public registry.
func (h *Handler) audit(w http.ResponseWriter, r *http.Request, req request) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxAuditSize))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("audit request larger than %d bytes", h.cfg.MaxAuditSize))
			return
		}
		writeError(w, r, http.StatusBadRequest, "reading the audit request: "+err.Error())
		return
	}
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	if len(h.cfg.Scopes) > 0 {
		plain := data
		switch enc {
		case "", "identity":
		case "gzip":
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err == nil {
				plain, err = io.ReadAll(io.LimitReader(zr, h.cfg.MaxAuditSize+1))
			}
			if err != nil || int64(len(plain)) > h.cfg.MaxAuditSize {
				writeError(w, r, http.StatusBadRequest, "malformed or oversized gzip audit request")
				return
			}
		default:
			writeError(w, r, http.StatusUnsupportedMediaType, "unsupported Content-Encoding "+enc)
			return
		}
		if data, err = h.withoutRoutedScopes(plain, strings.HasSuffix(req.upstreamPath, "/quick")); err != nil {
			writeError(w, r, http.StatusBadRequest, "malformed audit request: "+err.Error())
			return
		}
		enc = ""
	}
	up := h.cfg.Upstream
	ureq, err := http.NewRequestWithContext(r.Context(), http.MethodPost, up.URL+req.upstreamPath, bytes.NewReader(data))
	if err != nil {
		h.fail(w, r, fmt.Errorf("%w: audit: %w", pull.ErrUpstream, err))
		return
	}
	ureq.Header.Set("Content-Type", "application/json")
	if enc != "" {
		ureq.Header.Set("Content-Encoding", enc)
	}
	if a := r.Header.Get("Accept"); a != "" {
		ureq.Header.Set("Accept", a)
	}
	ureq.Header.Set("User-Agent", userAgent)
	resp, err := h.clientFor(up).Do(r.Context(), ureq)
	var serr *pull.StatusError
	if errors.As(err, &serr) && serr.Code >= 400 && serr.Code < 500 {
		// The registry's own answer to the request, such as a 400.
		if ct := serr.Header.Get("Content-Type"); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(serr.Code)
		w.Write(serr.Body)
		return
	}
	if err != nil {
		h.fail(w, r, fmt.Errorf("audit: %w", err))
		return
	}
	defer resp.Body.Close()
	hdr := w.Header()
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		hdr.Set("Content-Type", ct)
	}
	hdr.Set("Cache-Control", "no-store")
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body) // A failure here is the client's or the upstream's; the status is sent.
}

// withoutRoutedScopes removes the packages of routed scopes from an audit
// request: the keys of a bulk advisory request ({"name": ["1.0.0"]}), or
// the "requires" and "dependencies" entries, at every depth, of a quick
// audit's tree.
func (h *Handler) withoutRoutedScopes(data []byte, quick bool) ([]byte, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
		return nil, errors.New("not a JSON object")
	}
	if quick {
		if err := h.filterTree(obj, 0); err != nil {
			return nil, err
		}
		return marshal(obj)
	}
	for name := range obj {
		if h.routed(name) {
			delete(obj, name)
		}
	}
	return marshal(obj)
}

// filterTree removes routed packages from a quick audit's tree node.
func (h *Handler) filterTree(node map[string]json.RawMessage, depth int) error {
	if depth > 1000 {
		return errors.New("dependency tree too deep")
	}
	if raw, ok := node["requires"]; ok && !isNull(raw) {
		var req map[string]json.RawMessage
		if err := json.Unmarshal(raw, &req); err != nil {
			return errors.New("requires is not an object")
		}
		for name := range req {
			if h.routed(name) {
				delete(req, name)
			}
		}
		node["requires"], _ = marshal(req)
	}
	if raw, ok := node["dependencies"]; ok && !isNull(raw) {
		var deps map[string]json.RawMessage
		if err := json.Unmarshal(raw, &deps); err != nil {
			return errors.New("dependencies is not an object")
		}
		for name, raw := range deps {
			if h.routed(name) {
				delete(deps, name)
				continue
			}
			var child map[string]json.RawMessage
			if json.Unmarshal(raw, &child) != nil || child == nil {
				continue
			}
			if err := h.filterTree(child, depth+1); err != nil {
				return err
			}
			deps[name], _ = marshal(child)
		}
		node["dependencies"], _ = marshal(deps)
	}
	return nil
}

// routed reports whether name's scope is routed to a registry of its own.
func (h *Handler) routed(name string) bool {
	_, ok := h.cfg.Scopes[scopeOf(name)]
	return ok
}
