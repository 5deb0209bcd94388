package pypi

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// The content types of the simple API (PEP 691).
const (
	ContentTypeJSON   = "application/vnd.pypi.simple.v1+json"
	ContentTypeHTMLv1 = "application/vnd.pypi.simple.v1+html"
	ContentTypeHTML   = "text/html"
)

// format is how a page is rendered.
type format struct {
	json        bool
	contentType string // what the answer is labelled
}

var (
	formatJSON   = format{json: true, contentType: ContentTypeJSON}
	formatHTMLv1 = format{contentType: ContentTypeHTMLv1}
	formatHTML   = format{contentType: "text/html; charset=utf-8"}
)

// offers are the types a client may ask for, most preferred first when it
// names them exactly.
var offers = []struct {
	mediaType string
	f         format
}{
	{ContentTypeJSON, formatJSON},
	{"application/vnd.pypi.simple.latest+json", formatJSON},
	{ContentTypeHTMLv1, formatHTMLv1},
	{"application/vnd.pypi.simple.latest+html", formatHTMLv1},
	{ContentTypeHTML, formatHTML},
}

// negotiate picks the format of an answer to r: from its ?format= when
// given (PEP 691), else from its Accept header. No Accept header, or one
// that only matches by wildcards, gets HTML, which every client reads. ok
// is false when nothing offered is acceptable.
func negotiate(r *http.Request) (f format, ok bool) {
	if q := r.URL.Query(); q.Has("format") {
		want := strings.ToLower(strings.TrimSpace(q.Get("format")))
		for _, o := range offers {
			if want == o.mediaType {
				return o.f, true
			}
		}
		switch want {
		case "json":
			return formatJSON, true
		case "html":
			return formatHTML, true
		}
		return format{}, false
	}
	accept := strings.Join(r.Header.Values("Accept"), ",")
	if strings.TrimSpace(accept) == "" {
		return formatHTML, true
	}
	type rng struct {
		typ, sub string
		q        float64
	}
	var ranges []rng
	for part := range strings.SplitSeq(accept, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		mt, params, err := mime.ParseMediaType(part)
		if err != nil {
			continue
		}
		typ, sub, found := strings.Cut(mt, "/")
		if !found {
			continue
		}
		q := 1.0
		if qs, ok := params["q"]; ok {
			v, err := strconv.ParseFloat(qs, 64)
			if err != nil || v < 0 || v > 1 {
				continue
			}
			q = v
		}
		ranges = append(ranges, rng{typ, sub, q})
	}
	best, bestQ, bestSpec, bestRank := format{}, 0.0, 0, 0
	for i, o := range offers {
		typ, sub, _ := strings.Cut(o.mediaType, "/")
		// The most specific range that matches decides the quality.
		q, spec := 0.0, 0
		for _, r := range ranges {
			s := 0
			switch {
			case r.typ == typ && r.sub == sub:
				s = 3
			case r.typ == typ && r.sub == "*":
				s = 2
			case r.typ == "*" && r.sub == "*":
				s = 1
			}
			if s > spec || s == spec && s > 0 && r.q > q {
				q, spec = r.q, s
			}
		}
		if q <= 0 {
			continue
		}
		// Among equals, an exact name prefers JSON; wildcards prefer
		// plain HTML.
		rank := len(offers) - i
		if spec < 3 {
			rank = i + 1
		}
		if q > bestQ || q == bestQ && (spec > bestSpec || spec == bestSpec && rank > bestRank) {
			best, bestQ, bestSpec, bestRank = o.f, q, spec, rank
		}
	}
	return best, bestQ > 0
}
