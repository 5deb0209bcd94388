package cargo

import (
	"sync"

	"github.com/gomirror/gomirror/internal/pull"
)

// maxMemoReleases bounds the releases kept parsed in a [memo].
const maxMemoReleases = 200_000

// memo keeps the parsed releases of recently read index files, by crate
// and stored copy, so that a download of a stored crate does not parse its
// index file again. It forgets everything when it holds more than
// maxMemoReleases. It is safe for concurrent use.
type memo struct {
	mu       sync.Mutex
	m        map[string]map[string]release
	releases int
}

// memoKey names the stored copy e of lower's index file, or is "" when
// the store cannot tell its size and time.
func memoKey(lower string, e *pull.Entry) string {
	st := pull.Stamp(e)
	if st == "" {
		return ""
	}
	return lower + "\x00" + st
}

func (c *memo) get(key string) (map[string]release, bool) {
	if key == "" {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	rels, ok := c.m[key]
	return rels, ok
}

func (c *memo) put(key string, rels map[string]release) {
	if key == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || c.releases+len(rels) > maxMemoReleases {
		c.m, c.releases = map[string]map[string]release{}, 0
	}
	if _, ok := c.m[key]; !ok {
		c.m[key] = rels
		c.releases += len(rels)
	}
}
