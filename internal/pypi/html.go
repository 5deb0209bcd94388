package pypi

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// anchor is one <a> of a PEP 503 page: its attributes and its text.
type anchor struct {
	attrs map[string]string // lower-case names; present even when empty
	text  string
}

// scanHTML reads a PEP 503 page: its anchors, the <base href> when there
// is one, and the repository version it declares.
func scanHTML(r io.Reader, fn func(a anchor)) (base, version string, err error) {
	z := html.NewTokenizer(r)
	z.SetMaxBuf(1 << 20) // One token, however long, is refused past 1 MiB.
	var cur *anchor
	var text strings.Builder
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			if errors.Is(z.Err(), io.EOF) {
				if cur != nil {
					cur.text = text.String()
					fn(*cur)
				}
				return base, version, nil
			}
			return "", "", fmt.Errorf("parsing HTML: %w", z.Err())
		case html.TextToken:
			if cur != nil && text.Len() < 4096 {
				text.Write(z.Text())
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			tn, hasAttr := z.TagName()
			attrs := map[string]string{}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				if _, dup := attrs[string(k)]; !dup {
					attrs[string(k)] = string(v)
				}
			}
			switch atom.Lookup(tn) {
			case atom.A:
				if cur != nil { // An unclosed <a> ends at the next one.
					cur.text = text.String()
					fn(*cur)
				}
				text.Reset()
				cur = &anchor{attrs: attrs}
				if tt == html.SelfClosingTagToken {
					fn(*cur)
					cur = nil
				}
			case atom.Base:
				if h, ok := attrs["href"]; ok && base == "" {
					base = h
				}
			case atom.Meta:
				if strings.EqualFold(attrs["name"], "pypi:repository-version") {
					version = attrs["content"]
				}
			}
		case html.EndTagToken:
			tn, _ := z.TagName()
			if atom.Lookup(tn) == atom.A && cur != nil {
				cur.text = text.String()
				fn(*cur)
				cur = nil
			}
		}
	}
}

// parseHTMLPage parses a PEP 503 project page served at pageURL.
func parseHTMLPage(r io.Reader, name string, pageURL *url.URL) (*Project, []string, error) {
	var raws []rawFile
	base, version, err := scanHTML(r, func(a anchor) {
		href, ok := a.attrs["href"]
		if !ok {
			return
		}
		raws = append(raws, htmlFile(a, href))
	})
	if err != nil {
		return nil, nil, err
	}
	if err := checkAPIVersion(version); err != nil {
		return nil, nil, err
	}
	b := &pageBuilder{name: name, base: pageURL}
	if base != "" {
		if u, err := pageURL.Parse(base); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			b.base = u
		}
	}
	return b.build(raws, nil), b.dropped, nil
}

// htmlFile reads one anchor of a project page.
func htmlFile(a anchor, href string) rawFile {
	r := rawFile{href: href, size: -1, hashes: map[string]string{}}
	r.filename = strings.TrimSpace(a.text)
	if r.filename == "" {
		// PEP 503: the text must match the URL's last path element.
		if u, err := url.Parse(href); err == nil {
			p := u.Path
			r.filename, _ = url.PathUnescape(p[strings.LastIndex(p, "/")+1:])
		}
	}
	if _, frag, ok := strings.Cut(href, "#"); ok {
		if k, v, ok := strings.Cut(frag, "="); ok {
			r.hashes[k] = v
		}
	}
	r.requiresPython = a.attrs["data-requires-python"]
	if reason, ok := a.attrs["data-yanked"]; ok {
		r.yanked, r.yankedReason = true, reason
	}
	md, ok := a.attrs["data-core-metadata"]
	if !ok {
		md, ok = a.attrs["data-dist-info-metadata"]
	}
	if ok {
		r.coreMetadata = map[string]string{}
		if k, v, ok := strings.Cut(md, "="); ok {
			r.coreMetadata[k] = v
		}
	}
	if g, ok := a.attrs["data-gpg-sig"]; ok {
		b := g == "true"
		r.gpgSig = &b
	}
	r.provenance = a.attrs["data-provenance"]
	return r
}

// parseHTMLIndex parses a PEP 503 index of projects: the text of its
// anchors.
func parseHTMLIndex(r io.Reader) ([]string, error) {
	var names []string
	_, version, err := scanHTML(r, func(a anchor) {
		names = append(names, strings.TrimSpace(a.text))
	})
	if err != nil {
		return nil, err
	}
	if err := checkAPIVersion(version); err != nil {
		return nil, err
	}
	return names, nil
}
