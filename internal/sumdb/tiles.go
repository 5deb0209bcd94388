package sumdb

import (
	"context"
	"errors"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Prefetching tiles. golang.org/x/mod/sumdb's client proves a lookup in
// two steps, each a round of tile reads: that the tree head the lookup
// came with is consistent with the one it had (when it is newer), then
// that the record is in that tree. Which tiles both steps read is known
// as soon as the lookup's answer is: its record number and tree. So when
// the answer arrives, every tile both steps need and that is not in
// memory is fetched at once, in parallel, and the client's own reads of
// them join those fetches: one round trip instead of two or three.

// tilePrefetch is one tile fetched ahead of the client's read.
type tilePrefetch struct {
	done chan struct{}
	data []byte
	err  error
}

// errCached ends the prefetch of a tile found in the store.
var errCached = errors.New("tile in the store")

// errPlanned stops tlog's hash reader once it has said which tiles it
// would read.
var errPlanned = errors.New("tiles planned")

// tilePlanner is a tlog.TileReader that records the tiles asked of it
// and reads none.
type tilePlanner struct{ tiles []tlog.Tile }

func (p *tilePlanner) Height() int { return 8 }

func (p *tilePlanner) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	p.tiles = append(p.tiles, tiles...)
	return nil, errPlanned
}

func (p *tilePlanner) SaveTiles([]tlog.Tile, [][]byte) {}

// plannedTiles returns the tiles that the client will read to prove
// record id in tree newer, and newer consistent with older when older is
// smaller.
func plannedTiles(older, newer tlog.Tree, id int64) []tlog.Tile {
	p := &tilePlanner{}
	thr := tlog.TileHashReader(newer, p)
	if older.N > 0 && older.N < newer.N {
		tlog.TreeHash(older.N, thr)
	}
	if id >= 0 && id < newer.N {
		thr.ReadHashes([]int64{tlog.StoredHashIndex(0, id)})
	}
	return p.tiles
}

// prefetchTiles starts fetching the tiles that proving the lookup answer
// data will read, as plannedTiles says, except those in memory. Their
// reads by the client, through ReadRemote, wait for these fetches. An
// answer that is not a record with a tree head signed by the database
// starts nothing: the client refuses it anyway.
func (o *clientOps) prefetchTiles(data []byte) {
	id, _, treeMsg, err := tlog.ParseRecord(data)
	if err != nil {
		return
	}
	n, err := note.Open(treeMsg, o.s.verifiers)
	if err != nil {
		return
	}
	answer, err := tlog.ParseTree([]byte(n.Text))
	if err != nil {
		return
	}
	var saved tlog.Tree
	o.s.stateMu.Lock()
	state, err := o.s.readState()
	o.s.stateMu.Unlock()
	if err == nil && len(state) > 0 {
		if sn, err := note.Open(state, o.s.verifiers); err == nil {
			saved, _ = tlog.ParseTree([]byte(sn.Text))
		}
	}
	// The client proves both in the larger of the two trees: the
	// answer's when it is newer than the saved one, else the saved one.
	older, newer := saved, answer
	if saved.N > answer.N {
		older, newer = answer, saved
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.tiles == nil {
		o.tiles = make(map[string]*tilePrefetch)
	}
	for _, t := range plannedTiles(older, newer, id) {
		remote := "/" + t.Path()
		if _, ok := o.tiles[remote]; ok {
			continue
		}
		if _, ok := o.s.tileMem.get(o.s.name + remote); ok {
			continue
		}
		p := &tilePrefetch{done: make(chan struct{})}
		o.tiles[remote] = p
		go func() {
			defer close(p.done)
			// The client reads the store first, the tile itself then
			// the full tile, and the database only when both miss.
			full := t
			full.W = 1 << t.H
			if _, err := o.ReadCache(o.s.name + remote); err == nil {
				p.err = errCached
				return
			}
			if _, err := o.ReadCache(o.s.name + "/" + full.Path()); err == nil {
				p.err = errCached
				return
			}
			p.data, p.err = o.s.fetch(o.ctx, "tile", remote)
		}()
	}
}

// prefetched returns the outcome of the prefetch of the tile at remote,
// waiting for it, and whether there was one.
func (o *clientOps) prefetched(remote string) ([]byte, error, bool) {
	o.mu.Lock()
	p := o.tiles[remote]
	o.mu.Unlock()
	if p == nil {
		return nil, nil, false
	}
	select {
	case <-p.done:
		return p.data, p.err, true
	case <-o.ctx.Done():
		return nil, context.Cause(o.ctx), true
	}
}

// tileOps is the part of clientOps that prefetching adds.
type tileOps struct {
	mu    sync.Mutex
	tiles map[string]*tilePrefetch // by remote path
}
