package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Result is how a run ended.
type Result string

// Results of a run. The zero Result means the job never ran.
const (
	// Success: every request of the run succeeded and it fetched what
	// it expected.
	Success Result = "success"
	// Partial: some requests succeeded and some failed.
	Partial Result = "partial"
	// Failed: the run could not go on, fetched nothing where it expected
	// something, timed out, or all its requests failed.
	Failed Result = "failed"
)

// State is what a job remembers across runs and restarts.
type State struct {
	LastStart   time.Time `json:"last_start,omitzero"`
	LastEnd     time.Time `json:"last_end,omitzero"`
	LastSuccess time.Time `json:"last_success,omitzero"` // end of the last run that ended Success
	Result      Result    `json:"result,omitempty"`
	Error       string    `json:"error,omitempty"` // why the last run was not a success
	Note        string    `json:"note,omitempty"`
	Bytes       int64     `json:"bytes"` // body bytes of the last run
	Requests    int64     `json:"requests"`
	Failures    int64     `json:"failures"` // failed requests of the last run
	// NextRun is when the job is due next, as computed when the state
	// was written.
	NextRun time.Time `json:"next_run,omitzero"`
	// Elsewhere is set when another replica ran the job while this one
	// waited for it.
	Elsewhere bool `json:"elsewhere,omitempty"`
	// Cursor and Seen are the kind's memory: where to start from, and
	// what was fetched already.
	Cursor string   `json:"cursor,omitempty"`
	Seen   []string `json:"seen,omitempty"`
}

// interrupted reports whether the last run started but never ended (the
// process died during it).
func (s State) interrupted() bool { return s.LastStart.After(s.LastEnd) }

// stateFiles reads and writes job states in a directory, one file per job.
type stateFiles struct{ dir string }

func (f stateFiles) path(name string) string { return filepath.Join(f.dir, name+".json") }

// load returns the state of job name; a job with no file has the zero
// State.
func (f stateFiles) load(name string) (State, error) {
	var st State
	if f.dir == "" {
		return st, nil
	}
	data, err := os.ReadFile(f.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read state of job %s: %w", name, err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return State{}, fmt.Errorf("read state of job %s: %s: %w", name, f.path(name), err)
	}
	return st, nil
}

// save writes the state of job name atomically: a temporary file, synced,
// renamed over the old one, and the directory synced.
func (f stateFiles) save(name string, st State) error {
	if f.dir == "" {
		return nil
	}
	data, err := json.MarshalIndent(st, "", "\t")
	if err != nil {
		return fmt.Errorf("save state of job %s: %w", name, err)
	}
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		return fmt.Errorf("save state of job %s: %w", name, err)
	}
	tmp, err := os.CreateTemp(f.dir, "."+name+".*.tmp")
	if err != nil {
		return fmt.Errorf("save state of job %s: %w", name, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, removes nothing
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("save state of job %s: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save state of job %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save state of job %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), f.path(name)); err != nil {
		return fmt.Errorf("save state of job %s: %w", name, err)
	}
	d, err := os.Open(f.dir)
	if err != nil {
		return fmt.Errorf("save state of job %s: %w", name, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("save state of job %s: sync %s: %w", name, f.dir, err)
	}
	return nil
}
