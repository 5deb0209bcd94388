package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// GoModules is the go kind: it keeps the version lists of modules fresh
// and prefetches the .info, .mod and .zip of their newest versions.
type GoModules struct {
	// Modules are module paths to keep, such as golang.org/x/text.
	Modules []string `yaml:"modules" json:"modules,omitempty"`
	// RecentDays, when above zero, adds every module users requested in
	// that many last days (as told by the server's Recorder).
	RecentDays int `yaml:"recent_days" json:"recent_days,omitempty"`
	// Newest is how many of each module's newest versions to prefetch.
	// Zero means 1.
	Newest int `yaml:"newest" json:"newest,omitempty"`
}

func (g *GoModules) check() error {
	if len(g.Modules) == 0 && g.RecentDays <= 0 {
		return errors.New("modules: empty, and recent_days not set")
	}
	for _, m := range g.Modules {
		if err := module.CheckPath(m); err != nil {
			return fmt.Errorf("modules: %w", err)
		}
	}
	if g.RecentDays < 0 || g.Newest < 0 {
		return errors.New("recent_days and newest must not be negative")
	}
	return nil
}

// Sync requests each module's list, then the files of its newest versions
// not fetched by an earlier run.
func (g *GoModules) Sync(ctx context.Context, s *Session) error {
	mods := slices.Clone(g.Modules)
	if g.RecentDays > 0 {
		rec := s.Recorder()
		if rec == nil {
			return errors.New("recent_days is set but this server records no requests")
		}
		since := s.Now().Add(-time.Duration(g.RecentDays) * 24 * time.Hour)
		recent, err := rec.RecentModules(ctx, since)
		if err != nil {
			return fmt.Errorf("modules requested since %s: %w", since.Format(time.DateOnly), err)
		}
		for _, m := range recent {
			if module.CheckPath(m) == nil {
				mods = append(mods, m)
			}
		}
	}
	slices.Sort(mods)
	mods = slices.Compact(mods)
	if len(mods) == 0 {
		s.NothingToDo(fmt.Sprintf("no module was requested in the last %d days", g.RecentDays))
		return nil
	}
	newest := max(g.Newest, 1)
	s.Each(ctx, len(mods), func(ctx context.Context, i int) {
		g.syncModule(ctx, s, mods[i], newest)
	})
	return nil
}

// syncModule syncs one module; failures are counted by s.
func (g *GoModules) syncModule(ctx context.Context, s *Session, mod string, newest int) {
	esc, err := module.EscapePath(mod)
	if err != nil {
		s.fail(fmt.Errorf("module %s: %w", mod, err))
		return
	}
	resp, err := s.Get(ctx, "/"+esc+"/@v/list", "")
	if err != nil {
		return
	}
	var versions []string
	for line := range strings.Lines(string(resp.Body)) {
		v, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		if semver.IsValid(v) && semver.Prerelease(v) == "" {
			versions = append(versions, v)
		}
	}
	if len(versions) == 0 {
		// No tagged release: the go command resolves @latest then.
		info, err := s.Get(ctx, "/"+esc+"/@latest", "")
		if err != nil {
			return
		}
		var latest struct{ Version string }
		if err := json.Unmarshal(info.Body, &latest); err != nil || !semver.IsValid(latest.Version) {
			s.fail(fmt.Errorf("module %s: @latest: no valid version", mod))
			return
		}
		versions = []string{latest.Version}
	}
	semver.Sort(versions)
	slices.Reverse(versions)
	versions = versions[:min(newest, len(versions))]
	for _, v := range versions {
		key := "go:" + mod + "@" + v
		if s.Seen(key) {
			continue
		}
		escV, err := module.EscapeVersion(v)
		if err != nil {
			s.fail(fmt.Errorf("module %s@%s: %w", mod, v, err))
			continue
		}
		all := true
		for _, ext := range []string{".info", ".mod", ".zip"} {
			if s.Fetch(ctx, "/"+esc+"/@v/"+escV+ext, "") != nil {
				all = false
			}
		}
		if all {
			s.MarkSeen(key)
		}
	}
}
