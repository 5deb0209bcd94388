package pypi

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Project is a project page in the form the mirror stores: what any
// upstream said, HTML or JSON, checked and normalised, with absolute
// upstream URLs. Pages are rendered from it on every answer.
type Project struct {
	// Name is the project's normalised name.
	Name string `json:"name"`
	// Index is the upstream index that answered for the project.
	Index string `json:"index"`
	// ETag is the upstream's validator for the page, if it gave one.
	ETag string `json:"etag,omitempty"`
	// Versions lists the project's versions (PEP 700), as upstream gave
	// them or, for an upstream that does not, as the file names tell.
	Versions []string `json:"versions"`
	// Files lists the project's files in upstream's order. Files without a
	// sha256 are left out: the mirror could not check them.
	Files []File `json:"files"`
}

// File is one file of a [Project].
type File struct {
	// Filename is the file's name, a single path element.
	Filename string `json:"filename"`
	// URL is where upstream serves it: absolute, http or https, without a
	// fragment.
	URL string `json:"url"`
	// Hashes maps hash names to lower-case hex digests; "sha256" is
	// always there.
	Hashes map[string]string `json:"hashes"`
	// RequiresPython is the file's Requires-Python, "" when none.
	RequiresPython string `json:"requires-python,omitempty"`
	// Yanked marks a yanked file (PEP 592), with YankedReason possibly "".
	Yanked       bool   `json:"yanked,omitempty"`
	YankedReason string `json:"yanked-reason,omitempty"`
	// CoreMetadata holds the hashes of the file's PEP 658 metadata file;
	// nil when upstream serves none, or gives no sha256 for it.
	CoreMetadata map[string]string `json:"core-metadata,omitempty"`
	// GPGSig says whether upstream has a signature for the file; nil when
	// it does not say.
	GPGSig *bool `json:"gpg-sig,omitempty"`
	// Size is the file's length in bytes (PEP 700), -1 when unknown.
	Size int64 `json:"size"`
	// UploadTime is when the file was uploaded (PEP 700), "" when unknown.
	UploadTime string `json:"upload-time,omitempty"`
	// Provenance is the absolute URL of the file's provenance (PEP 740),
	// "" when none. It is passed through: the mirror does not serve it.
	Provenance string `json:"provenance,omitempty"`
}

// sha256 returns the file's sha256 in hex.
func (f *File) sha256() string { return f.Hashes["sha256"] }

// find returns the file called filename, or nil.
func (p *Project) find(filename string) *File {
	for i := range p.Files {
		if p.Files[i].Filename == filename {
			return &p.Files[i]
		}
	}
	return nil
}

// rawFile is one file as an upstream page lists it, before it is checked.
type rawFile struct {
	filename       string
	href           string // as written: relative or absolute, with a fragment
	hashes         map[string]string
	requiresPython string
	yanked         bool
	yankedReason   string
	coreMetadata   map[string]string // nil: none
	gpgSig         *bool
	size           int64
	uploadTime     string
	provenance     string
}

// pageBuilder turns raw files into a Project, dropping what fails its
// checks.
type pageBuilder struct {
	name    string
	base    *url.URL
	dropped []string // why files were left out
}

// maxFilenameLen bounds a file name, as file systems do.
const maxFilenameLen = 255

// checkFilename reports whether name can be a file's name in a URL and in
// the store: one path element, printable, not starting with a dot.
func checkFilename(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty file name")
	case len(name) > maxFilenameLen:
		return fmt.Errorf("file name longer than %d bytes", maxFilenameLen)
	case name[0] == '.':
		return fmt.Errorf("file name %q starts with a dot", name)
	case !utf8.ValidString(name):
		return fmt.Errorf("file name is not UTF-8")
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("file name %q starts or ends with a space", name)
	}
	for _, r := range name {
		if r < ' ' || r == 0x7f || r == '/' || r == '\\' || r == '%' || r == '#' || r == '?' {
			return fmt.Errorf("file name %q contains %q", name, r)
		}
	}
	return nil
}

// cleanHashes keeps the hashes whose values are hex digests, lower-cased.
func cleanHashes(in map[string]string) map[string]string {
	out := make(map[string]string, len(in))
	for k, v := range in {
		k = strings.ToLower(k)
		v = strings.ToLower(strings.TrimSpace(v))
		if len(k) == 0 || len(k) > 20 || len(v) == 0 || len(v) > 256 || len(v)%2 != 0 {
			continue
		}
		if _, err := hex.DecodeString(v); err != nil {
			continue
		}
		if k == "sha256" && len(v) != 64 {
			continue
		}
		out[k] = v
	}
	return out
}

// oneLine makes untrusted text safe to keep: valid UTF-8, no control
// characters, at most max bytes.
func oneLine(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "")
	}
	return s
}

// absURL resolves ref against the page and keeps it only when it is http
// or https, without its fragment.
func (b *pageBuilder) absURL(ref string) (string, error) {
	u, err := b.base.Parse(strings.TrimSpace(ref))
	if err != nil {
		return "", fmt.Errorf("bad URL %q: %w", oneLine(ref, 100), err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("URL %q is not http or https", oneLine(ref, 100))
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String(), nil
}

// add checks raw and adds it to p, or notes why it was left out.
func (b *pageBuilder) add(p *Project, seen map[string]bool, raw rawFile) {
	drop := func(why string) { b.dropped = append(b.dropped, oneLine(why, 200)) }
	if err := checkFilename(raw.filename); err != nil {
		drop(err.Error())
		return
	}
	if seen[raw.filename] {
		drop(raw.filename + ": listed twice")
		return
	}
	u, err := b.absURL(raw.href)
	if err != nil {
		drop(raw.filename + ": " + err.Error())
		return
	}
	hashes := cleanHashes(raw.hashes)
	if hashes["sha256"] == "" {
		drop(raw.filename + ": no sha256 to check it against")
		return
	}
	f := File{
		Filename:       raw.filename,
		URL:            u,
		Hashes:         hashes,
		RequiresPython: oneLine(raw.requiresPython, 1000),
		Yanked:         raw.yanked,
		GPGSig:         raw.gpgSig,
		Size:           -1,
	}
	if raw.yanked {
		f.YankedReason = oneLine(raw.yankedReason, 1000)
	}
	if raw.coreMetadata != nil {
		if h := cleanHashes(raw.coreMetadata); h["sha256"] != "" {
			f.CoreMetadata = h
		}
	}
	if raw.size >= 0 {
		f.Size = raw.size
	}
	if t := strings.TrimSpace(raw.uploadTime); t != "" {
		if _, err := time.Parse(time.RFC3339Nano, t); err == nil {
			f.UploadTime = t
		}
	}
	if raw.provenance != "" {
		// Passed on to clients: without the index's credentials, which
		// a relative URL inherits.
		if pu, err := b.absURL(raw.provenance); err == nil {
			if u, err := url.Parse(pu); err == nil {
				u.User = nil
				f.Provenance = u.String()
			}
		}
	}
	seen[f.Filename] = true
	p.Files = append(p.Files, f)
}

// build makes the project from raw files and the versions upstream gave
// (nil when it gave none).
func (b *pageBuilder) build(raws []rawFile, versions []string) *Project {
	p := &Project{Name: b.name, Files: []File{}, Versions: []string{}}
	seen := make(map[string]bool, len(raws))
	for _, r := range raws {
		b.add(p, seen, r)
	}
	have := make(map[string]bool)
	addVersion := func(v string) {
		v = oneLine(v, 200)
		if v != "" && !have[v] {
			have[v] = true
			p.Versions = append(p.Versions, v)
		}
	}
	if versions != nil {
		for _, v := range versions {
			addVersion(v)
		}
	} else {
		for _, f := range p.Files {
			if v, ok := versionOf(p.Name, f.Filename); ok {
				addVersion(v)
			}
		}
	}
	return p
}

// versionOf finds the version in the name of a file of project (a wheel,
// an egg or an sdist).
func versionOf(project, filename string) (string, bool) {
	lower := strings.ToLower(filename)
	if stem, ok := strings.CutSuffix(lower, ".whl"); ok {
		parts := strings.Split(filename[:len(stem)], "-")
		if len(parts) == 5 || len(parts) == 6 {
			return parts[1], parts[1] != ""
		}
		return "", false
	}
	if stem, ok := strings.CutSuffix(lower, ".egg"); ok {
		parts := strings.Split(filename[:len(stem)], "-")
		if len(parts) >= 2 {
			return parts[1], parts[1] != ""
		}
		return "", false
	}
	for _, ext := range []string{".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst", ".tgz", ".tbz", ".tar", ".zip"} {
		stem, ok := strings.CutSuffix(lower, ext)
		if !ok {
			continue
		}
		stem = filename[:len(stem)]
		for i := 0; i < len(stem); i++ {
			if stem[i] == '-' && Normalize(stem[:i]) == project && i+1 < len(stem) {
				return stem[i+1:], true
			}
		}
		return "", false
	}
	return "", false
}

// The JSON of PEP 691, with PEP 592, 658, 700, 714 and 740.

type jsonMeta struct {
	APIVersion string `json:"api-version"`
}

type jsonPage struct {
	Meta     jsonMeta    `json:"meta"`
	Name     string      `json:"name"`
	Files    []jsonFile  `json:"files"`
	Versions []string    `json:"versions"`
	Projects []jsonEntry `json:"projects"`
}

type jsonEntry struct {
	Name string `json:"name"`
}

type jsonFile struct {
	Filename         string            `json:"filename"`
	URL              string            `json:"url"`
	Hashes           map[string]string `json:"hashes"`
	RequiresPython   *string           `json:"requires-python"`
	Yanked           json.RawMessage   `json:"yanked"`
	CoreMetadata     json.RawMessage   `json:"core-metadata"`
	DistInfoMetadata json.RawMessage   `json:"dist-info-metadata"`
	GPGSig           *bool             `json:"gpg-sig"`
	Size             *int64            `json:"size"`
	UploadTime       *string           `json:"upload-time"`
	Provenance       *string           `json:"provenance"`
}

// checkAPIVersion accepts major version 1 of the simple API, or none.
func checkAPIVersion(v string) error {
	if v == "" {
		return nil
	}
	major, _, _ := strings.Cut(v, ".")
	if major != "1" {
		return fmt.Errorf("unsupported simple API version %q", oneLine(v, 20))
	}
	return nil
}

// parseJSONPage parses a PEP 691 project page served at pageURL.
func parseJSONPage(data []byte, name string, pageURL *url.URL) (*Project, []string, error) {
	var page jsonPage
	if err := json.Unmarshal(data, &page); err != nil {
		return nil, nil, fmt.Errorf("project page is not valid JSON: %w", err)
	}
	if err := checkAPIVersion(page.Meta.APIVersion); err != nil {
		return nil, nil, err
	}
	raws := make([]rawFile, 0, len(page.Files))
	for _, jf := range page.Files {
		r := rawFile{filename: jf.Filename, href: jf.URL, hashes: jf.Hashes, gpgSig: jf.GPGSig, size: -1}
		if jf.RequiresPython != nil {
			r.requiresPython = *jf.RequiresPython
		}
		r.yanked, r.yankedReason = jsonYanked(jf.Yanked)
		r.coreMetadata = jsonMetadata(jf.CoreMetadata)
		if r.coreMetadata == nil {
			r.coreMetadata = jsonMetadata(jf.DistInfoMetadata)
		}
		if jf.Size != nil && *jf.Size >= 0 {
			r.size = *jf.Size
		}
		if jf.UploadTime != nil {
			r.uploadTime = *jf.UploadTime
		}
		if jf.Provenance != nil {
			r.provenance = *jf.Provenance
		}
		raws = append(raws, r)
	}
	b := &pageBuilder{name: name, base: pageURL}
	return b.build(raws, page.Versions), b.dropped, nil
}

// jsonYanked reads "yanked": false, true or a reason.
func jsonYanked(raw json.RawMessage) (bool, string) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return true, s
	}
	return false, ""
}

// jsonMetadata reads "core-metadata": false, true or hashes. true without
// hashes gives an empty map, which the builder drops.
func jsonMetadata(raw json.RawMessage) map[string]string {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		if b {
			return map[string]string{}
		}
		return nil
	}
	var h map[string]string
	if json.Unmarshal(raw, &h) == nil && h != nil {
		return h
	}
	return nil
}

// parseJSONIndex parses a PEP 691 index of projects.
func parseJSONIndex(data []byte) ([]string, error) {
	var page jsonPage
	if err := json.Unmarshal(data, &page); err != nil {
		return nil, fmt.Errorf("index is not valid JSON: %w", err)
	}
	if err := checkAPIVersion(page.Meta.APIVersion); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(page.Projects))
	for _, p := range page.Projects {
		names = append(names, p.Name)
	}
	return names, nil
}
