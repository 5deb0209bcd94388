package sumdb

import (
	"fmt"
	"slices"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// memHashes is a tlog.HashReader over hashes kept in memory.
type memHashes []tlog.Hash

func (h memHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x >= int64(len(h)) {
			return nil, fmt.Errorf("no hash %d", x)
		}
		out[i] = h[x]
	}
	return out, nil
}

// tileServer is a tlog.TileReader serving the tiles of a tree from its
// hashes, recording which it was asked for.
type tileServer struct {
	hashes memHashes
	read   []tlog.Tile
}

func (s *tileServer) Height() int { return 8 }

func (s *tileServer) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	s.read = append(s.read, tiles...)
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := tlog.ReadTileData(t, s.hashes)
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

func (s *tileServer) SaveTiles([]tlog.Tile, [][]byte) {}

// TestPlannedTilesAreTheOnesRead checks plannedTiles against the tiles
// that the proofs of golang.org/x/mod/sumdb's client really read, over
// trees large enough to have tiles on two levels, partial and full.
func TestPlannedTilesAreTheOnesRead(t *testing.T) {
	const n = 70_000
	var hashes memHashes
	trees := map[int64]tlog.Tree{}
	for i := range int64(n) {
		hs, err := tlog.StoredHashes(i, fmt.Appendf(nil, "record %d\n", i), hashes)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, hs...)
		switch i + 1 {
		case 1, 255, 256, 257, 1000, 65535, 65536, 65537, n:
			th, err := tlog.TreeHash(i+1, hashes)
			if err != nil {
				t.Fatal(err)
			}
			trees[i+1] = tlog.Tree{N: i + 1, Hash: th}
		}
	}
	tests := []struct {
		older, newer, id int64
	}{
		{0, 1, 0},
		{1, 257, 256},
		{255, 256, 100},
		{1000, 65537, 65536},
		{65535, n, 3},
		{65536, n, n - 1},
		{257, n, 60_000},
		{n, n, 12_345},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d-%d-%d", tt.older, tt.newer, tt.id), func(t *testing.T) {
			older, newer := trees[tt.older], trees[tt.newer]
			srv := &tileServer{hashes: hashes}
			thr := tlog.TileHashReader(newer, srv)
			if older.N > 0 && older.N < newer.N {
				h, err := tlog.TreeHash(older.N, thr)
				if err != nil || h != older.Hash {
					t.Fatalf("consistency proof: got %v, %v; want the older tree's hash", h, err)
				}
			}
			if _, err := thr.ReadHashes([]int64{tlog.StoredHashIndex(0, tt.id)}); err != nil {
				t.Fatalf("record proof: %v", err)
			}
			got := paths(plannedTiles(older, newer, tt.id))
			want := paths(srv.read)
			if !slices.Equal(got, want) {
				t.Errorf("planned tiles: got %v, want those read: %v", got, want)
			}
		})
	}
}

func paths(tiles []tlog.Tile) []string {
	var ps []string
	for _, t := range tiles {
		ps = append(ps, t.Path())
	}
	slices.Sort(ps)
	return slices.Compact(ps)
}
