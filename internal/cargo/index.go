package cargo

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// release is what the mirror needs of one line of an index file.
type release struct {
	Name   string `json:"name"`
	Vers   string `json:"vers"`
	Cksum  string `json:"cksum"`
	Yanked bool   `json:"yanked"`
}

// parseIndex parses the index file of the crate lower (lower-cased) and
// returns its releases by version. Every non-empty line must be a JSON
// object naming the crate (ignoring case): anything else means the
// upstream sent something other than this crate's index file. A line whose
// version or cksum is unusable is kept out of the result, so that its
// download is refused, but does not spoil the others.
func parseIndex(lower string, body []byte) (map[string]release, error) {
	out := make(map[string]release)
	for n := 1; len(body) > 0; n++ {
		var line []byte
		line, body, _ = bytes.Cut(body, []byte("\n"))
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var r release
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, fmt.Errorf("index file of %s: line %d: %w", lower, n, err)
		}
		if !strings.EqualFold(r.Name, lower) {
			return nil, fmt.Errorf("index file of %s: line %d names the crate %q", lower, n, trunc(r.Name))
		}
		if CheckName(r.Name) != nil || checkVersion(r.Vers) != nil || !isSHA256(r.Cksum) {
			continue
		}
		out[r.Vers] = r
	}
	return out, nil
}

// isSHA256 reports whether s is a sha256 digest in lower-case hex.
func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// config is what the mirror reads of a registry's config.json.
type config struct {
	DL  string `json:"dl"`
	API string `json:"api,omitempty"`
}

// Markers of a dl template, as cargo expands them.
var dlMarkers = []string{"{crate}", "{version}", "{prefix}", "{lowerprefix}", "{sha256-checksum}"}

// expandDL returns the download URL of r from the dl template of a
// registry's config.json, as cargo expands it: the markers replaced, or,
// when it has none, "/{crate}/{version}/download" appended.
func expandDL(dl string, r release) string {
	has := false
	for _, m := range dlMarkers {
		if strings.Contains(dl, m) {
			has = true
			break
		}
	}
	if !has {
		return strings.TrimSuffix(dl, "/") + "/" + r.Name + "/" + r.Vers + "/download"
	}
	// The {prefix} marker keeps the name's case; IndexPath lowers it.
	casePrefix := dirOf(casedIndexPath(r.Name))
	return strings.NewReplacer(
		"{crate}", r.Name,
		"{version}", r.Vers,
		"{prefix}", casePrefix,
		"{lowerprefix}", strings.ToLower(casePrefix),
		"{sha256-checksum}", r.Cksum,
	).Replace(dl)
}

// casedIndexPath is IndexPath without the lower-casing.
func casedIndexPath(n string) string {
	switch len(n) {
	case 0:
		return ""
	case 1:
		return "1/" + n
	case 2:
		return "2/" + n
	case 3:
		return "3/" + n[:1] + "/" + n
	}
	return n[:2] + "/" + n[2:4] + "/" + n
}

// dirOf returns p without its last element.
func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}
