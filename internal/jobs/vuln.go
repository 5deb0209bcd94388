package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"time"
)

// VulnDB is the vuln kind: it fetches the vulnerability database's
// indexes and every entry modified since the last run that fetched them
// all (every entry on the first run).
type VulnDB struct{}

// vulnModule is one element of index/modules.json.
type vulnModule struct {
	Path  string `json:"path"`
	Vulns []struct {
		ID       string    `json:"id"`
		Modified time.Time `json:"modified"`
	} `json:"vulns"`
}

// Sync fetches index/db.json, index/modules.json and the changed entries.
// The database's modification time becomes the cursor when every request
// succeeded, so that a run that missed entries is followed by one that
// tries them again.
func (VulnDB) Sync(ctx context.Context, s *Session) error {
	dbResp, err := s.Get(ctx, "/vuln/index/db.json", "application/json")
	if err != nil {
		return fmt.Errorf("vulnerability database index: %w", err)
	}
	var db struct {
		Modified time.Time `json:"modified"`
	}
	if err := json.Unmarshal(dbResp.Body, &db); err != nil || db.Modified.IsZero() {
		return fmt.Errorf("vulnerability database index/db.json: no modified time (%v)", err)
	}
	modResp, err := s.Get(ctx, "/vuln/index/modules.json", "application/json")
	if err != nil {
		return fmt.Errorf("vulnerability database index: %w", err)
	}
	var mods []vulnModule
	if err := json.Unmarshal(modResp.Body, &mods); err != nil {
		return fmt.Errorf("vulnerability database index/modules.json: %w", err)
	}
	var since time.Time
	if c := s.Cursor(); c != "" {
		since, _ = time.Parse(time.RFC3339Nano, c)
	}
	var ids []string
	for _, m := range mods {
		for _, v := range m.Vulns {
			if v.ID != "" && v.Modified.After(since) {
				ids = append(ids, v.ID)
			}
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	s.Each(ctx, len(ids), func(ctx context.Context, i int) {
		_ = s.Fetch(ctx, "/vuln/ID/"+url.PathEscape(ids[i])+".json", "application/json")
	})
	s.SetCursor(db.Modified.UTC().Format(time.RFC3339Nano))
	return nil
}
