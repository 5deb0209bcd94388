package cargo

import (
	"strconv"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/pull"
)

func TestMemo(t *testing.T) {
	var m memo
	e := &pull.Entry{Size: 10, ModTime: time.Unix(1, 0)}
	key := memoKey("serde", e)
	if _, ok := m.get(key); ok {
		t.Fatal("an empty memo has a value")
	}
	m.put(key, map[string]release{"1.0.0": {Name: "serde", Vers: "1.0.0"}})
	if rels, ok := m.get(key); !ok || rels["1.0.0"].Name != "serde" {
		t.Errorf("got %v, %v; want the stored releases", rels, ok)
	}
	if other := memoKey("serde", &pull.Entry{Size: 11, ModTime: e.ModTime}); other == key {
		t.Errorf("a refreshed copy has the same key %q", key)
	}
	if k := memoKey("serde", &pull.Entry{Size: -1}); k != "" {
		t.Errorf("a copy of unknown size has the key %q, want none", k)
	}
	big := make(map[string]release, maxMemoReleases)
	for i := range maxMemoReleases {
		big[strconv.Itoa(i)] = release{}
	}
	m.put("big", big)
	if _, ok := m.get(key); ok {
		t.Errorf("the memo kept more than %d releases", maxMemoReleases)
	}
}
