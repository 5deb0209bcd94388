package jobs

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gomirror/gomirror/internal/golang"
)

// GoArchives is the golang kind: it reads the release index the mirror
// serves at /golang/?mode=json&include=all and fetches the files that
// pass its filter.
type GoArchives struct {
	// Unstable also takes release candidates and betas. By default only
	// stable releases are taken.
	Unstable bool `yaml:"unstable" json:"unstable,omitempty"`
	// OS and Arch list the systems to take ("linux", "amd64"); empty takes
	// all. Source archives (os "") are taken when Kinds allows them.
	OS   []string `yaml:"os" json:"os,omitempty"`
	Arch []string `yaml:"arch" json:"arch,omitempty"`
	// Kinds lists the kinds of file to take: archive, installer, source.
	// Empty means all.
	Kinds []string `yaml:"kinds" json:"kinds,omitempty"`
	// Minors is how many of the newest minor versions (go1.22, go1.23) to
	// take, every release of each. Zero means 2.
	Minors int `yaml:"minors" json:"minors,omitempty"`
}

func (g *GoArchives) check() error {
	if g.Minors < 0 {
		return errors.New("minors: negative")
	}
	for _, k := range g.Kinds {
		switch k {
		case "archive", "installer", "source":
		default:
			return fmt.Errorf("kinds: unknown kind %q (archive, installer or source)", k)
		}
	}
	return nil
}

// goRelease and goFile are go.dev's JSON index, as the Go archive mirror
// serves it.
type (
	goRelease = golang.Release
	goFile    = golang.File
)

// minorOf returns the minor release number of a Go version: 22 for
// go1.22.0, go1.22rc1 and go1.22; -1 for anything else.
func minorOf(v string) int {
	rest, ok := strings.CutPrefix(v, "go1.")
	if !ok {
		return -1
	}
	end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	if end == 0 {
		return -1
	}
	if end > 0 {
		rest = rest[:end]
	}
	n, err := strconv.Atoi(rest)
	if err != nil {
		return -1
	}
	return n
}

// Sync fetches the index, then each file of the chosen releases not
// fetched by an earlier run.
func (g *GoArchives) Sync(ctx context.Context, s *Session) error {
	resp, err := s.Get(ctx, "/golang/?mode=json&include=all", "application/json")
	if err != nil {
		return fmt.Errorf("go release index: %w", err)
	}
	var releases []goRelease
	if err := json.Unmarshal(resp.Body, &releases); err != nil {
		return fmt.Errorf("go release index: %w", err)
	}
	files := g.choose(releases)
	if len(files) == 0 {
		return errors.New("no file of the go release index matches the job's filter")
	}
	s.Each(ctx, len(files), func(ctx context.Context, i int) {
		key := "golang:" + files[i]
		if s.Seen(key) {
			return
		}
		if s.Fetch(ctx, "/golang/"+url.PathEscape(files[i]), "") == nil {
			s.MarkSeen(key)
		}
	})
	return nil
}

// choose returns the file names of releases that pass g's filter.
func (g *GoArchives) choose(releases []goRelease) []string {
	var minors []int
	for _, r := range releases {
		if m := minorOf(r.Version); m >= 0 && (r.Stable || g.Unstable) {
			minors = append(minors, m)
		}
	}
	slices.SortFunc(minors, func(a, b int) int { return cmp.Compare(b, a) })
	minors = slices.Compact(minors)
	minors = minors[:min(len(minors), cmp.Or(g.Minors, 2))]
	var names []string
	for _, r := range releases {
		if (!r.Stable && !g.Unstable) || !slices.Contains(minors, minorOf(r.Version)) {
			continue
		}
		for _, f := range r.Files {
			if f.Filename == "" || strings.ContainsAny(f.Filename, "/\\") {
				continue
			}
			if len(g.Kinds) > 0 && !slices.Contains(g.Kinds, f.Kind) {
				continue
			}
			if f.Kind != "source" && (!matches(g.OS, f.OS) || !matches(g.Arch, f.Arch)) {
				continue
			}
			names = append(names, f.Filename)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// matches reports whether v is in list, or list is empty.
func matches(list []string, v string) bool {
	return len(list) == 0 || slices.Contains(list, v)
}
