package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"golang.org/x/mod/semver"

	"github.com/gomirror/gomirror/internal/cargo"
)

// cargoCrates is the cargo kind: for each crate, it refreshes the index
// file and fetches the .crate files of the newest releases.
type cargoCrates struct{ *Packages }

func (c cargoCrates) check() error {
	if err := c.Packages.check(); err != nil {
		return err
	}
	for _, n := range c.Packages.Packages {
		if cargo.CheckName(n) != nil {
			return fmt.Errorf("packages: %q is not a crate name", n)
		}
	}
	return nil
}

// Sync reads each crate's index file and fetches the .crate files of its
// newest releases: yanked releases and pre-releases left out.
func (c cargoCrates) Sync(ctx context.Context, s *Session) error {
	return c.eachPackage(ctx, s, func(ctx context.Context, name string) error {
		page := cargo.Prefix + "index/" + cargo.IndexPath(name)
		resp, err := s.Get(ctx, page, "")
		if err != nil {
			return err
		}
		files := map[string][]string{} // version → its download, named as published
		for line := range bytes.SplitSeq(resp.Body, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			var rel struct {
				Name   string `json:"name"`
				Vers   string `json:"vers"`
				Yanked bool   `json:"yanked"`
			}
			if err := json.Unmarshal(line, &rel); err != nil {
				err = fmt.Errorf("GET %s: %w", page, err)
				s.fail(err)
				return err
			}
			if !rel.Yanked && semver.IsValid("v"+rel.Vers) && semver.Prerelease("v"+rel.Vers) == "" && cargo.CheckName(rel.Name) == nil {
				files[rel.Vers] = []string{cargo.Prefix + "api/v1/crates/" + rel.Name + "/" + rel.Vers + "/download"}
			}
		}
		return c.fetchNewest(ctx, s, "cargo", name, " ", "no release", resp.URL, files, compareSemver)
	})
}
