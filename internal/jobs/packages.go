package jobs

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/semver"
)

// Packages says what a pypi, npm or cargo job syncs: the files of the
// newest versions of each package.
type Packages struct {
	// Packages are the project (PyPI), package (npm, "@scope/name") or
	// crate (cargo) names.
	Packages []string `yaml:"packages" json:"packages"`
	// Newest is how many of each package's newest releases to fetch
	// (pre-releases and yanked files left out). Zero means 1.
	Newest int `yaml:"newest" json:"newest,omitempty"`
}

func (p *Packages) check() error {
	if len(p.Packages) == 0 {
		return errors.New("packages: empty")
	}
	if p.Newest < 0 {
		return errors.New("newest: negative")
	}
	return nil
}

// eachPackage runs fn for each package, and fails the run when none of
// them synced.
func (p *Packages) eachPackage(ctx context.Context, s *Session, fn func(ctx context.Context, name string) error) error {
	errs := make([]error, len(p.Packages))
	s.Each(ctx, len(p.Packages), func(ctx context.Context, i int) {
		errs[i] = fn(ctx, p.Packages[i])
	})
	for _, err := range errs {
		if err == nil {
			return nil
		}
	}
	return fmt.Errorf("no package synced: %w", errors.Join(errs...))
}

// fetchNewest fetches, once per run, the files of the newest releases
// of the package name. files maps each usable version to the links of
// its files, which are resolved against page, the URL of the document
// they were read from; compare orders two versions; kind prefixes what
// the session remembers as fetched ("npm:/npm/..."), and at joins name
// and a version in an error ("@" for left-pad@1.3.0). A package without
// a version fails the run with "name: none", none saying what is missing.
func (p *Packages) fetchNewest(ctx context.Context, s *Session, kind, name, at, none string, page *url.URL, files map[string][]string, compare func(a, b string) int) error {
	if len(files) == 0 {
		err := fmt.Errorf("%s: %s", name, none)
		s.fail(err)
		return err
	}
	versions := slices.SortedFunc(maps.Keys(files), func(a, b string) int { return compare(b, a) })
	for _, v := range versions[:min(max(p.Newest, 1), len(versions))] {
		for _, link := range files[v] {
			path, err := filePath(page, link)
			if err != nil {
				s.fail(fmt.Errorf("%s%s%s: %w", name, at, v, err))
				continue
			}
			key := kind + ":" + path
			if s.Seen(key) {
				continue
			}
			if s.Fetch(ctx, path, "") == nil {
				s.MarkSeen(key)
			}
		}
	}
	return nil
}

// compareSemver orders two versions without a "v" (npm's, cargo's) as
// semantic versions.
func compareSemver(a, b string) int { return semver.Compare("v"+a, "v"+b) }

// filePath returns the path and query of link, resolved against base, for
// a request to the mirror (whatever host the mirror wrote in it).
func filePath(base *url.URL, link string) (string, error) {
	ref, err := url.Parse(link)
	if err != nil {
		return "", err
	}
	u := base.ResolveReference(ref)
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("link %q: not http", link)
	}
	return u.EscapedPath() + strings.TrimSuffix("?"+u.RawQuery, "?"), nil
}

// pypi is the pypi kind.
type pypi struct{ *Packages }

var pypiNameRE = regexp.MustCompile(`^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$`)

func (p pypi) check() error {
	if err := p.Packages.check(); err != nil {
		return err
	}
	for _, n := range p.Packages.Packages {
		if !pypiNameRE.MatchString(n) {
			return fmt.Errorf("packages: %q is not a PyPI project name", n)
		}
	}
	return nil
}

var (
	separatorsRE = regexp.MustCompile(`[-_.]+`)
	preRE        = regexp.MustCompile(`\d(a|b|c|rc|alpha|beta|pre|preview)\d*`)
)

// pep503 normalizes a project name as PEP 503 says.
func pep503(name string) string {
	return strings.ToLower(separatorsRE.ReplaceAllString(name, "-"))
}

// simpleAccept asks for the JSON form of the simple API (PEP 691).
const simpleAccept = "application/vnd.pypi.simple.v1+json"

// Sync reads each project's JSON page and fetches the files of its newest
// releases.
func (p pypi) Sync(ctx context.Context, s *Session) error {
	return p.eachPackage(ctx, s, func(ctx context.Context, name string) error {
		page := "/pypi/simple/" + pep503(name) + "/"
		resp, err := s.Get(ctx, page, simpleAccept)
		if err != nil {
			return err
		}
		var doc struct {
			Files []struct {
				Filename string          `json:"filename"`
				URL      string          `json:"url"`
				Yanked   json.RawMessage `json:"yanked"`
			} `json:"files"`
		}
		if err := json.Unmarshal(resp.Body, &doc); err != nil {
			err = fmt.Errorf("GET %s: %w", page, err)
			s.fail(err)
			return err
		}
		byVersion := map[string][]string{}
		for _, f := range doc.Files {
			if y := string(f.Yanked); y != "" && y != "false" && y != "null" {
				continue
			}
			v := pypiVersion(f.Filename)
			if v == "" || pypiPre(v) {
				continue
			}
			byVersion[v] = append(byVersion[v], f.URL)
		}
		return p.fetchNewest(ctx, s, "pypi", name, " ", "no release file", resp.URL, byVersion, comparePEP440)
	})
}

// pypiVersion returns the version in a wheel or sdist file name, or "".
func pypiVersion(filename string) string {
	if base, ok := strings.CutSuffix(filename, ".whl"); ok {
		parts := strings.Split(base, "-")
		if len(parts) < 5 {
			return ""
		}
		return parts[1]
	}
	for _, ext := range []string{".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz"} {
		if base, ok := strings.CutSuffix(filename, ext); ok {
			i := strings.LastIndex(base, "-")
			if i <= 0 {
				return ""
			}
			return base[i+1:]
		}
	}
	return ""
}

// pypiPre reports whether a version is a pre-release or development
// release (1.0a1, 2.0rc1, 3.0.dev2).
func pypiPre(v string) bool {
	v = strings.ToLower(v)
	return strings.Contains(v, "dev") || preRE.MatchString(v)
}

// comparePEP440 orders two final releases by their release numbers,
// then by any post-release or local part as plain text. It is enough to
// pick the newest releases, not a full PEP 440 ordering.
func comparePEP440(a, b string) int {
	na, ra := releaseNumbers(a)
	nb, rb := releaseNumbers(b)
	if c := slices.Compare(na, nb); c != 0 {
		return c
	}
	return cmp.Compare(ra, rb)
}

// releaseNumbers splits "1.10.2.post1" into [1 10 2] and ".post1"; an
// epoch ("2!1.0") comes first.
func releaseNumbers(v string) ([]int, string) {
	epoch := 0
	if e, rest, ok := strings.Cut(v, "!"); ok {
		epoch, _ = strconv.Atoi(e)
		v = rest
	}
	nums := []int{epoch}
	for len(v) > 0 {
		end := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' })
		if end == 0 {
			break
		}
		if end < 0 {
			end = len(v)
		}
		n, _ := strconv.Atoi(v[:end])
		nums = append(nums, n)
		v = v[end:]
		if !strings.HasPrefix(v, ".") || len(v) < 2 || v[1] < '0' || v[1] > '9' {
			break
		}
		v = v[1:]
	}
	for len(nums) > 1 && nums[len(nums)-1] == 0 {
		nums = nums[:len(nums)-1] // 1.0 == 1.0.0
	}
	return nums, v
}

// npm is the npm kind.
type npm struct{ *Packages }

var npmNameRE = regexp.MustCompile(`^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$`)

func (p npm) check() error {
	if err := p.Packages.check(); err != nil {
		return err
	}
	for _, n := range p.Packages.Packages {
		if !npmNameRE.MatchString(n) {
			return fmt.Errorf("packages: %q is not an npm package name", n)
		}
	}
	return nil
}

// Sync reads each package's packument and fetches the tarballs of its
// newest releases.
func (p npm) Sync(ctx context.Context, s *Session) error {
	return p.eachPackage(ctx, s, func(ctx context.Context, name string) error {
		page := "/npm/" + strings.Replace(name, "/", "%2f", 1)
		resp, err := s.Get(ctx, page, "application/json")
		if err != nil {
			return err
		}
		var doc struct {
			Versions map[string]struct {
				Dist struct {
					Tarball string `json:"tarball"`
				} `json:"dist"`
			} `json:"versions"`
		}
		if err := json.Unmarshal(resp.Body, &doc); err != nil {
			err = fmt.Errorf("GET %s: %w", page, err)
			s.fail(err)
			return err
		}
		files := map[string][]string{}
		for v, meta := range doc.Versions {
			if semver.IsValid("v"+v) && semver.Prerelease("v"+v) == "" && meta.Dist.Tarball != "" {
				files[v] = []string{meta.Dist.Tarball}
			}
		}
		return p.fetchNewest(ctx, s, "npm", name, "@", "no release", resp.URL, files, compareSemver)
	})
}
