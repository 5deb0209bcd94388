package switcher

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Saved is what one file looked like before gomirror first changed it in
// the current run of changes.
type Saved struct {
	// Target is the tool the file configures: go, docker, pip or npm.
	Target string `json:"target"`
	// Path is the absolute path of the file.
	Path string `json:"path"`
	// Existed is false when gomirror created the file.
	Existed bool `json:"existed"`
	// Content is the file's original content (when it existed).
	Content []byte `json:"content,omitempty"`
	// Mode is the file's original permission bits.
	Mode fs.FileMode `json:"mode,omitempty"`
	// CreatedDirs are the directories gomirror created for the file,
	// outermost first.
	CreatedDirs []string `json:"created_dirs,omitempty"`
	// Written is the SHA-256 of what gomirror last wrote, to notice edits
	// made since.
	Written string `json:"written,omitempty"`
	// Mirror is the mirror gomirror last switched the file to.
	Mirror string `json:"mirror,omitempty"`
	// Time is when the original was saved.
	Time time.Time `json:"time"`
	// Credentials marks a file of credentials (.netrc, auth.json), which
	// `restore TARGET` restores with the target's configuration.
	Credentials bool `json:"credentials,omitempty"`
}

// state is the content of the state file.
type state struct {
	Version int     `json:"version"`
	Saved   []Saved `json:"saved"`
}

func loadState(file string) (*state, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return &state{Version: 1}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read gomirror state: %w", err)
	}
	var s state
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("read gomirror state %s: %w", file, err)
	}
	return &s, nil
}

// save writes the state, or removes the file when nothing is saved.
func (s *state) save(file string) error {
	if len(s.Saved) == 0 {
		if err := os.Remove(file); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove gomirror state: %w", err)
		}
		return nil
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return fmt.Errorf("write gomirror state: %w", err)
	}
	return writeAtomic(file, append(data, '\n'), 0o600)
}

func (s *state) find(target, path string) (int, bool) {
	for i, e := range s.Saved {
		if e.Target == target && e.Path == path {
			return i, true
		}
	}
	return -1, false
}

func hashOf(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// writeAtomic replaces file with data through a temporary file in the same
// directory, so readers never see half a file.
func writeAtomic(file string, data []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".gomirror-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", file, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", file, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	return nil
}

// missingDirs returns the directories MkdirAll would create for dir,
// outermost first.
func missingDirs(dir string) []string {
	var out []string
	for {
		if _, err := os.Stat(dir); err == nil {
			break
		}
		out = append([]string{dir}, out...)
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return out
}
