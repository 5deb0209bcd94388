package budget

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gomirror/gomirror/internal/store"
)

var (
	_ store.Store       = (*Store)(nil)
	_ store.Toucher     = (*Store)(nil)
	_ store.FilePutter  = (*Store)(nil)
	_ store.CachePutter = (*Store)(nil)
	_ store.Walker      = (*Store)(nil)
)

// DefaultLowWater is the fraction of the budget that an eviction brings
// the store down to, when Config.LowWater is zero.
const DefaultLowWater = 0.9

// clockTick is how often the clock that Touch reads moves: a Touch reads an
// atomic rather than the system's clock, and a file hit by many clients at
// once is written at most once a tick, not by every hit.
const clockTick = time.Second

// evictBackoff is how long after an eviction that could not bring the
// store under its budget the next one waits: each walks every file.
const evictBackoff = 10 * time.Second

// sizeQueue bounds the files waiting to be measured after a Touch that
// found them unknown.
const sizeQueue = 4096

// Config configures a Store.
type Config struct {
	// Bytes is the budget: the bytes of files that the store may hold
	// before it evicts. It must be positive.
	Bytes int64
	// LowWater is the fraction of Bytes that an eviction brings the store
	// down to, between 0 and 1. Zero means DefaultLowWater.
	LowWater float64
	// Recent is how long after it was last read or written a file is kept
	// whatever the budget. Zero means no such window: only files being
	// written and the file stored last are kept.
	Recent time.Duration
	// Immutable classifies, by name, the files that no Touch has
	// classified since the Store was made: it reports true only for a
	// name that is certainly an immutable artifact. Nil keeps every such
	// file until it is touched.
	Immutable func(name string) bool
	// Logger receives evictions and accounting events. Nil discards them.
	Logger *slog.Logger
	// Registerer, when not nil, receives the Store's metrics:
	// gomirror_store_used_bytes, gomirror_store_budget_bytes and
	// gomirror_store_evictions_total.
	Registerer prometheus.Registerer
}

// Store is a store.Store within a byte budget. Make one with New; it is
// safe for concurrent use. Close it to stop its background work.
//
// Besides store.Store it implements store.Toucher, store.FilePutter and
// store.Walker, and passes Check, Dir, FreeSpace, SetFreeSpaceFloor and
// Close on to the store it wraps when that has them.
type Store struct {
	st   store.Store
	cfg  Config
	log  *slog.Logger
	low  int64
	now  func() time.Time
	done chan struct{} // closed when the background work has stopped
	stop context.CancelFunc

	closeOnce sync.Once
	closeErr  error

	files sync.Map     // name → *file
	clock atomic.Int64 // now, in Unix nanoseconds, to within a tick
	used  atomic.Int64
	last  atomic.Pointer[string] // the name stored last

	// mu orders the changes of a file's size: the accounting after a
	// write, the walk's and the sizer's measures, and evictions.
	mu      sync.Mutex
	writing map[string]int // writes under way, by name

	kick     chan struct{} // over budget: evict
	sizeq    chan string   // touched files of unknown size
	rescan   atomic.Bool   // sizeq overflowed
	counted  chan struct{} // closed when the startup walk has ended
	walkDone atomic.Bool

	evictions prometheus.Counter

	// flush, set by tests, asks the background worker for a pass of its
	// work, answered when done. Nil, and so never ready, otherwise.
	flush chan chan struct{}
}

// file is what a Store knows of one stored file.
type file struct {
	size  int64        // bytes; -1 until known. Guarded by Store.mu.
	used  atomic.Int64 // when last read or written, in Unix nanoseconds
	class atomic.Uint32
}

// Bits of file.class.
const (
	evictable = 1 << iota // an immutable artifact
	touched               // classified by a Touch, not by its name
)

func classOf(immutable, byTouch bool) uint32 {
	var c uint32
	if immutable {
		c |= evictable
	}
	if byTouch {
		c |= touched
	}
	return c
}

// New returns a Store that keeps st within cfg's budget, and starts
// counting the files st already holds, in the background, when st is a
// store.Walker. The Store takes over st: its Close closes st. It returns an
// error when cfg is invalid or its metrics cannot be registered.
func New(st store.Store, cfg Config) (*Store, error) {
	return newStore(st, cfg, time.Now, nil)
}

// newStore is New with a clock, and, for tests, a channel that asks the
// worker for a pass.
func newStore(st store.Store, cfg Config, now func() time.Time, flush chan chan struct{}) (*Store, error) {
	switch {
	case st == nil:
		return nil, errors.New("store budget: no store")
	case cfg.Bytes <= 0:
		return nil, fmt.Errorf("store budget: %d bytes: must be positive", cfg.Bytes)
	case cfg.LowWater < 0 || cfg.LowWater > 1:
		return nil, fmt.Errorf("store budget: low-water mark %v: want a fraction between 0 and 1", cfg.LowWater)
	case cfg.Recent < 0:
		return nil, fmt.Errorf("store budget: recent window %v: negative", cfg.Recent)
	}
	if cfg.LowWater == 0 {
		cfg.LowWater = DefaultLowWater
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Store{
		st:      st,
		cfg:     cfg,
		log:     log,
		low:     int64(float64(cfg.Bytes) * cfg.LowWater),
		now:     now,
		flush:   flush,
		done:    make(chan struct{}),
		stop:    stop,
		writing: make(map[string]int),
		kick:    make(chan struct{}, 1),
		sizeq:   make(chan string, sizeQueue),
		counted: make(chan struct{}),
		evictions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gomirror_store_evictions_total",
			Help: "Immutable files removed from the store to keep it within its byte budget.",
		}),
	}
	if err := s.register(cfg.Registerer); err != nil {
		stop()
		return nil, err
	}
	s.clock.Store(now().UnixNano())
	var wg sync.WaitGroup
	wg.Go(func() { s.tick(ctx) })
	wg.Go(func() { s.walk(ctx) })
	wg.Go(func() { s.work(ctx) })
	go func() {
		wg.Wait()
		close(s.done)
	}()
	return s, nil
}

func (s *Store) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gomirror_store_used_bytes",
			Help: "Bytes of the files in the store, as counted for its byte budget.",
		}, func() float64 { return float64(s.Used()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gomirror_store_budget_bytes",
			Help: "The store's byte budget (--store-budget).",
		}, func() float64 { return float64(s.cfg.Bytes) }),
		s.evictions,
	} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("store budget: metrics: %w", err)
		}
	}
	return nil
}

// Used returns the bytes of the files the store holds, as counted so far:
// until Counted is closed, only some of the files stored before New.
func (s *Store) Used() int64 { return s.used.Load() }

// Counted returns a channel that is closed once the walk that New started
// has counted every file stored before it, or has failed.
func (s *Store) Counted() <-chan struct{} { return s.counted }

// Unwrap returns the store that s keeps within its budget.
func (s *Store) Unwrap() store.Store { return s.st }

// Touch records that name was just read or written, and whether it is an
// immutable artifact that may be evicted. It does no I/O: a file that s
// does not know yet is measured in the background.
func (s *Store) Touch(name string, immutable bool) {
	now := s.clock.Load()
	class := classOf(immutable, true)
	v, ok := s.files.Load(name)
	if !ok {
		f := &file{size: -1}
		f.used.Store(now)
		f.class.Store(class)
		if v, ok = s.files.LoadOrStore(name, f); !ok {
			s.measureLater(name)
			return
		}
	}
	f := v.(*file)
	if f.used.Load() < now {
		f.used.Store(now)
	}
	if f.class.Load() != class {
		f.class.Store(class)
	}
}

// measureLater queues name, of unknown size, for the background worker.
// Before the startup walk has ended, the walk measures it.
func (s *Store) measureLater(name string) {
	if !s.walkDone.Load() {
		return
	}
	select {
	case s.sizeq <- name:
	default:
		s.rescan.Store(true)
	}
}

// Get opens the file called name, as the wrapped store does. It does not
// count as a use: the core calls Touch for what it serves.
func (s *Store) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	return s.st.Get(ctx, name)
}

// Put stores content under name, as the wrapped store does, and counts its
// size, which may start an eviction.
func (s *Store) Put(ctx context.Context, name string, content io.Reader) error {
	s.begin(name)
	err := s.st.Put(ctx, name, content)
	s.end(ctx, name, err)
	return err
}

// PutCache stores content under name, as the wrapped store's PutCache
// does, or its Put when it has none, and counts its size.
func (s *Store) PutCache(ctx context.Context, name string, content io.Reader) error {
	s.begin(name)
	err := store.PutCache(ctx, s.st, name, content)
	s.end(ctx, name, err)
	return err
}

// PutFile stores the temporary file f under name, as the wrapped store's
// PutFile does, or, when it has none, as Put does with f's whole content.
func (s *Store) PutFile(ctx context.Context, name string, f *os.File) error {
	fp, ok := s.st.(store.FilePutter)
	if !ok {
		fi, err := f.Stat()
		if err != nil {
			return fmt.Errorf("put %s: %w", name, err)
		}
		return s.Put(ctx, name, io.NewSectionReader(f, 0, fi.Size()))
	}
	s.begin(name)
	err := fp.PutFile(ctx, name, f)
	s.end(ctx, name, err)
	return err
}

// begin marks name as being written, so that no eviction removes it.
func (s *Store) begin(name string) {
	s.mu.Lock()
	s.writing[name]++
	s.mu.Unlock()
}

// end counts the outcome of a write of name that began with begin.
func (s *Store) end(ctx context.Context, name string, err error) {
	s.mu.Lock()
	if s.writing[name]--; s.writing[name] == 0 {
		delete(s.writing, name)
	}
	if err == nil {
		s.last.Store(&name)
	}
	// A failed write most often leaves the old file, if any; but it may
	// have failed after the new one was in place: measure what is there.
	s.measureLocked(context.WithoutCancel(ctx), name, err == nil)
	over := s.used.Load() > s.cfg.Bytes
	s.mu.Unlock()
	if over {
		select {
		case s.kick <- struct{}{}:
		default: // An eviction is due already.
		}
	}
}

// measureLocked reads the size of name and counts it. written says that
// name was just stored, which counts as a use of it. The caller holds
// s.mu.
func (s *Store) measureLocked(ctx context.Context, name string, written bool) {
	size, mod, err := s.stat(ctx, name)
	v, known := s.files.Load(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && known {
			s.forgetLocked(name, v.(*file))
		} else if !errors.Is(err, fs.ErrNotExist) && ctx.Err() == nil {
			s.log.Warn("store budget: cannot measure a file; it is not counted", "name", name, "err", err)
		}
		return
	}
	if !known {
		f := &file{size: -1}
		f.used.Store(mod.UnixNano())
		f.class.Store(s.classifyByName(name))
		v, _ = s.files.LoadOrStore(name, f) // Touch may have made one since.
	}
	f := v.(*file)
	s.used.Add(size - max(f.size, 0))
	f.size = size
	if written {
		f.used.Store(s.now().UnixNano())
	}
}

// forgetLocked drops f, the entry of name, which is no longer stored. The
// caller holds s.mu.
func (s *Store) forgetLocked(name string, f *file) {
	if s.files.CompareAndDelete(name, f) {
		s.used.Add(-max(f.size, 0))
	}
}

func (s *Store) classifyByName(name string) uint32 {
	return classOf(s.cfg.Immutable != nil && s.cfg.Immutable(name), false)
}

// stat returns the size and modification time of name, or an error
// matching fs.ErrNotExist when it is not stored.
func (s *Store) stat(ctx context.Context, name string) (int64, time.Time, error) {
	rc, err := s.st.Get(ctx, name)
	if err != nil {
		return 0, time.Time{}, err
	}
	defer rc.Close()
	size, mod, ok := store.Stat(rc)
	if !ok {
		n, err := io.Copy(io.Discard, rc)
		if err != nil {
			return 0, time.Time{}, err
		}
		return n, s.now(), nil
	}
	return size, mod, nil
}

// Delete removes name, as the wrapped store does, and stops counting it.
func (s *Store) Delete(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.st.Delete(ctx, name); err != nil {
		return err
	}
	if v, ok := s.files.Load(name); ok {
		s.forgetLocked(name, v.(*file))
	}
	return nil
}

// Walk lists names as the wrapped store does. Its error wraps
// errors.ErrUnsupported when that store cannot list.
func (s *Store) Walk(ctx context.Context, prefix string, fn func(name string) error) error {
	w, ok := s.st.(store.Walker)
	if !ok {
		return fmt.Errorf("walk %q: %T: %w", prefix, s.st, errors.ErrUnsupported)
	}
	return w.Walk(ctx, prefix, fn)
}

// Check reports the wrapped store's health, when it can tell.
func (s *Store) Check(ctx context.Context) error {
	if c, ok := s.st.(interface{ Check(context.Context) error }); ok {
		return c.Check(ctx)
	}
	return nil
}

// Dir returns the wrapped store's directory, or "" when it has none.
func (s *Store) Dir() string {
	if d, ok := s.st.(interface{ Dir() string }); ok {
		return d.Dir()
	}
	return ""
}

// FreeSpace returns the free space of the wrapped store, as its FreeSpace
// does. Its error wraps errors.ErrUnsupported when that store cannot tell.
func (s *Store) FreeSpace(ctx context.Context) (int64, error) {
	if f, ok := s.st.(interface {
		FreeSpace(context.Context) (int64, error)
	}); ok {
		return f.FreeSpace(ctx)
	}
	return 0, fmt.Errorf("free space: %T: %w", s.st, errors.ErrUnsupported)
}

// SetFreeSpaceFloor passes bytes on to the wrapped store's
// SetFreeSpaceFloor, when it has one.
func (s *Store) SetFreeSpaceFloor(bytes int64) {
	if f, ok := s.st.(interface{ SetFreeSpaceFloor(int64) }); ok {
		f.SetFreeSpaceFloor(bytes)
	}
}

// Close stops the background walk and evictions, waits for them, and
// closes the wrapped store when it has a Close method.
// Calls after the first do nothing and return its error.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		<-s.done
		if c, ok := s.st.(interface{ Close() error }); ok {
			s.closeErr = c.Close()
		}
	})
	return s.closeErr
}

// walk counts the files stored before New, then measures the files
// touched meanwhile that it did not find, and starts an eviction if the
// store is over its budget.
func (s *Store) walk(ctx context.Context) {
	defer close(s.counted)
	w, ok := s.st.(store.Walker)
	if !ok {
		s.log.Warn("store budget: the store cannot list its files: only files stored from now on are counted", "store", fmt.Sprintf("%T", s.st))
		s.walkDone.Store(true)
		return
	}
	start := s.now()
	n := 0
	err := w.Walk(ctx, "", func(name string) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if v, ok := s.files.Load(name); ok && v.(*file).size >= 0 {
			return nil // Stored, and counted, since New.
		}
		s.measureLocked(ctx, name, false)
		n++
		return nil
	})
	s.walkDone.Store(true)
	switch {
	case ctx.Err() != nil:
		return
	case err != nil:
		s.log.Error("store budget: counting the stored files", "err", err)
	default:
		s.log.Info("store budget: counted the stored files", "files", n, "bytes", s.Used(), "budget", s.cfg.Bytes, "took", s.now().Sub(start).Round(time.Millisecond))
	}
	s.rescan.Store(true)
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// tick moves the clock that Touch reads until ctx ends.
func (s *Store) tick(ctx context.Context) {
	t := time.NewTicker(clockTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.clock.Store(s.now().UnixNano())
		}
	}
}

// work measures touched files of unknown size and runs evictions, one at
// a time, until ctx ends. After an eviction that left the store over its
// budget (what remains is metadata, or recent), the next waits
// evictBackoff.
func (s *Store) work(ctx context.Context) {
	var (
		retry     <-chan time.Time
		notBefore time.Time
		stuck     bool
	)
	for {
		var reply chan struct{}
		select {
		case <-ctx.Done():
			return
		case name := <-s.sizeq:
			s.measureUnknown(ctx, name)
		case <-s.kick:
		case <-retry:
			retry = nil
		case reply = <-s.flush:
		}
		if s.walkDone.Load() && s.rescan.Swap(false) {
			s.files.Range(func(k, v any) bool {
				s.measureUnknown(ctx, k.(string))
				return ctx.Err() == nil
			})
		}
		if s.used.Load() > s.cfg.Bytes && !s.now().Before(notBefore) {
			s.evict(ctx)
			switch used := s.used.Load(); {
			case ctx.Err() != nil:
			case used > s.cfg.Bytes:
				notBefore = s.now().Add(evictBackoff)
				retry = time.After(evictBackoff)
				if !stuck {
					s.log.Warn("store budget: over budget, and nothing more may be evicted: the rest is metadata, or was used within the recent window",
						"used", used, "budget", s.cfg.Bytes, "recent", s.cfg.Recent)
				}
				stuck = true
			case stuck:
				s.log.Info("store budget: back within budget", "used", used, "budget", s.cfg.Bytes)
				stuck = false
			}
		}
		if reply != nil {
			close(reply)
		}
	}
}

// measureUnknown measures name when its size is still unknown.
func (s *Store) measureUnknown(ctx context.Context, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.files.Load(name); ok && v.(*file).size < 0 {
		s.measureLocked(ctx, name, false)
	}
}

// candidate is a file that an eviction may remove.
type candidate struct {
	name string
	f    *file
	used int64
}

// evict removes immutable files, least recently used first, until the
// store is under its low-water mark or nothing more may go.
func (s *Store) evict(ctx context.Context) {
	cutoff := s.now().Add(-s.cfg.Recent).UnixNano()
	var cands []candidate
	s.files.Range(func(k, v any) bool {
		f := v.(*file)
		if used := f.used.Load(); f.class.Load()&evictable != 0 && used < cutoff {
			cands = append(cands, candidate{k.(string), f, used})
		}
		return true
	})
	slices.SortFunc(cands, func(a, b candidate) int { return cmp.Compare(a.used, b.used) })
	var n, freed int64
	for _, c := range cands {
		if s.used.Load() <= s.low || ctx.Err() != nil {
			break
		}
		if size, ok := s.evictOne(ctx, c, cutoff); ok {
			n++
			freed += size
		}
	}
	if n > 0 {
		s.log.Info("store budget: evicted least recently used files", "files", n, "bytes", freed, "used", s.Used(), "budget", s.cfg.Bytes)
	}
}

// evictOne removes c's file unless, since it was chosen, it has gone, been
// used or classified as metadata, or is being written or was stored last.
func (s *Store) evictOne(ctx context.Context, c candidate, cutoff int64) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.files.Load(c.name); !ok || v.(*file) != c.f {
		return 0, false
	}
	if last := s.last.Load(); (last != nil && *last == c.name) || s.writing[c.name] > 0 ||
		c.f.size < 0 || c.f.class.Load()&evictable == 0 || c.f.used.Load() >= cutoff {
		return 0, false
	}
	if err := s.st.Delete(ctx, c.name); err != nil {
		if ctx.Err() == nil {
			s.log.Warn("store budget: evicting", "name", c.name, "err", err)
		}
		return 0, false
	}
	size := max(c.f.size, 0)
	s.forgetLocked(c.name, c.f)
	s.evictions.Inc()
	s.log.Debug("store budget: evicted", "name", c.name, "bytes", size)
	return size, true
}
