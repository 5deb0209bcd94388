package access

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultReloadInterval is how often a watched file is checked for
// changes.
const DefaultReloadInterval = 2 * time.Second

// watched is the parsed content of a file, read again when its size or
// modification time changes, checked at most once per interval. A change
// that does not parse keeps the last good content, and is logged once.
type watched[T any] struct {
	file     string
	what     string // "htpasswd file", for messages
	parse    func([]byte) (T, error)
	interval time.Duration
	log      *slog.Logger
	now      func() time.Time

	// revoke, when set, is the content in force once the file is
	// removed: a removed credentials file revokes what it held. Nil
	// keeps the last good copy.
	revoke func() T

	cur     atomic.Pointer[T]
	mu      sync.Mutex // held while checking
	checked time.Time
	stat    fileStat // of the content last tried, good or bad
}

type fileStat struct {
	size int64
	mod  time.Time
}

// newWatched reads file for the first time; an error there is fatal to
// the caller, unlike later ones.
func newWatched[T any](file, what string, parse func([]byte) (T, error), interval time.Duration, log *slog.Logger, now func() time.Time) (*watched[T], error) {
	w := &watched[T]{file: file, what: what, parse: parse, interval: interval, log: log, now: now}
	fi, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	v, err := w.read()
	if err != nil {
		return nil, err
	}
	w.cur.Store(&v)
	w.stat = fileStat{fi.Size(), fi.ModTime()}
	w.checked = now()
	return w, nil
}

func (w *watched[T]) read() (T, error) {
	var zero T
	data, err := os.ReadFile(w.file)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", w.what, err)
	}
	v, err := w.parse(data)
	if err != nil {
		return zero, fmt.Errorf("%s %s: %w", w.what, w.file, err)
	}
	return v, nil
}

// get returns the current content, reloading it first when the file
// changed. It is safe for concurrent use; a caller that finds another
// checking gets the content as it was.
func (w *watched[T]) get() T {
	if w.mu.TryLock() {
		now := w.now()
		if now.Sub(w.checked) >= w.interval {
			w.checked = now
			w.reload()
		}
		w.mu.Unlock()
	}
	return *w.cur.Load()
}

// reload reads the file again if it changed. w.mu is held.
func (w *watched[T]) reload() {
	fi, err := os.Stat(w.file)
	if err != nil {
		if w.stat != (fileStat{}) {
			if w.revoke != nil && errors.Is(err, fs.ErrNotExist) {
				v := w.revoke()
				w.cur.Store(&v)
				w.log.Warn("removed: every credential it held is revoked", "file", w.file, "what", w.what)
			} else {
				w.log.Error("cannot read, keeping the last good copy", "file", w.file, "what", w.what, "err", err)
			}
			w.stat = fileStat{}
		}
		return
	}
	st := fileStat{fi.Size(), fi.ModTime()}
	if st == w.stat {
		return
	}
	w.stat = st
	v, err := w.read()
	if err != nil {
		w.log.Error("bad new version, keeping the last good copy", "file", w.file, "what", w.what, "err", err)
		return
	}
	w.cur.Store(&v)
	w.log.Info("reloaded", "file", w.file, "what", w.what)
}

// WatchRules reads an access rules file (see ParseRules) and returns the
// rules in force, read again when the file changes (checked at most once
// per interval; zero means DefaultReloadInterval). A change that does not
// parse keeps the rules in force and is logged. The first read's error is
// returned, naming the file.
func WatchRules(file string, interval time.Duration, log *slog.Logger) (RulesSource, error) {
	if interval <= 0 {
		interval = DefaultReloadInterval
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w, err := newWatched(file, "access rules file", ParseRules, interval, log, time.Now)
	if err != nil {
		return nil, err
	}
	return w.get, nil
}
