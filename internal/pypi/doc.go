// Package pypi serves a pull-through mirror of Python package indexes
// under /pypi/: the simple repository API (PEP 503 HTML and PEP 691 JSON,
// chosen by content negotiation) and the files it lists.
//
// Routes, relative to the /pypi/ prefix:
//
//   - simple/ is the index of projects, merged from the upstream indexes;
//   - simple/<project>/ is a project page. A name that is not in its PEP 503
//     normal form, or lacks its trailing slash, is redirected (301);
//   - files/<project>/<sha256>/<filename> is one file of a project, and
//     files/<project>/<sha256>/<filename>.metadata its PEP 658 core
//     metadata.
//
// A project page is fetched from the upstream indexes in order, the first
// that has the project winning; an upstream that answers anything but "not
// found" stops the search, so that a private index that is down never lets a
// public one answer for its names. The page, HTML or JSON, is stored in one
// normalised JSON form ([Project]) as metadata with a TTL, served stale when
// the upstreams fail, and rendered as HTML or JSON on each answer, with
// every file URL pointing at the mirror. A file is fetched once, from the
// URL its stored page names, checked against the sha256 the page gives
// (which the file's URL repeats), and kept; a file that does not match is
// refused and never stored.
//
// The fills, their coalescing, the checks, the stale copies and the serving
// of stored bytes are the pull-through core's ([pull.Cache]); this package
// only speaks the protocol.
package pypi
