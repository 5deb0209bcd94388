package sumdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	xsumdb "golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// The verifier's state is one file under StateDir, NAME/latest: the latest
// signed tree head it has checked, which every later tree head must be
// consistent with. It is written durably (temporary file, fsync, rename,
// fsync of the directory). A file that cannot be read or does not hold a
// tree head signed by the database (torn by a crash, damaged on disk) is
// moved aside to NAME/latest.damaged and rebuilt from the database's
// current signed tree head, instead of failing every lookup.

// stateError reports a state file that is damaged.
type stateError struct {
	file string
	err  error
}

func (e *stateError) Error() string {
	return fmt.Sprintf("checksum database state %s is damaged: %v", e.file, e.err)
}

func (e *stateError) Unwrap() error { return e.err }

// statePath returns the state file.
func (s *SumDB) statePath() string {
	return filepath.Join(s.stateDir, filepath.FromSlash(s.name), "latest")
}

// readState returns the content of the state file: nil when there is
// none yet (the verifier starts from the empty tree), or a *stateError
// when it is damaged. The caller holds stateMu.
func (s *SumDB) readState() ([]byte, error) {
	file := s.statePath()
	data, err := os.ReadFile(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, &stateError{file: file, err: err}
	}
	if err := s.checkTreeHead(data); err != nil {
		return nil, &stateError{file: file, err: err}
	}
	return data, nil
}

// checkTreeHead checks that data is a tree head signed by the database.
func (s *SumDB) checkTreeHead(data []byte) error {
	if len(data) == 0 {
		// The verifier never writes an empty tree head.
		return errors.New("empty file")
	}
	n, err := note.Open(data, s.verifiers)
	if err != nil {
		return err
	}
	if _, err := tlog.ParseTree([]byte(n.Text)); err != nil {
		return err
	}
	return nil
}

// loadState returns the verifier's state for a lookup, repairing it first
// when it is damaged. It fails only when a damaged file cannot be moved
// out of the way; when the database cannot give its latest tree head,
// the verifier starts from the empty tree and the next verified lookup
// stores its tree head.
func (s *SumDB) loadState(ctx context.Context) ([]byte, error) {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	data, err := s.readState()
	if err == nil {
		return data, nil
	}
	data, _, err = s.repairState(ctx, err)
	return data, err
}

// repairState handles damage found in the state file: it logs it and
// remembers it for Check, moves the file aside, and fetches, checks and
// saves the database's latest signed tree head. It returns that tree head,
// or nil and the reason it could not be had (fetchErr), in which case the
// verifier starts from the empty tree. err is set when the damaged file
// cannot be moved aside. The caller holds stateMu.
func (s *SumDB) repairState(ctx context.Context, damage error) (data []byte, fetchErr, err error) {
	s.log.Error("checksum database state damaged; rebuilding it from the database's latest tree head", "sumdb", s.name, "err", damage)
	s.damage = damage
	file := s.statePath()
	if err := os.Rename(file, file+".damaged"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		if rerr := os.Remove(file); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("%w; cannot replace it: %v", damage, err)
		}
	}
	data, err = s.fetch(ctx, "latest", "/latest")
	if err == nil {
		if cerr := s.checkTreeHead(data); cerr != nil {
			err = fmt.Errorf("checksum database %s sent a bad /latest: %w", s.name, cerr)
		}
	}
	if err == nil {
		err = s.writeState(data)
	}
	if err != nil {
		s.log.Warn("rebuilding checksum database state; the next verified lookup will", "sumdb", s.name, "err", err)
		return nil, err, nil
	}
	s.damage = nil
	s.log.Info("checksum database state rebuilt", "sumdb", s.name, "file", file)
	return data, nil, nil
}

// writeState replaces the state file with data durably: once it returns,
// a crash leaves either the old file or the new one, whole. The caller
// holds stateMu.
func (s *SumDB) writeState(data []byte) (err error) {
	file := s.statePath()
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("saving checksum database tree head: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".latest-*")
	if err != nil {
		return fmt.Errorf("saving checksum database tree head: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("saving checksum database tree head: %w", err)
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir flushes the entries of directory dir to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// compareAndWriteState replaces the state old with new, as
// golang.org/x/mod/sumdb's ClientOps.WriteConfig asks. A damaged file
// counts as empty: the verifier read it as such after repairing it.
func (s *SumDB) compareAndWriteState(old, new []byte) error {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	cur, err := s.readState()
	if err != nil {
		var se *stateError
		if !errors.As(err, &se) {
			return err
		}
		cur = nil
	}
	if !bytes.Equal(cur, old) {
		return xsumdb.ErrWriteConflict
	}
	if err := s.writeState(new); err != nil {
		return err
	}
	if s.damage != nil {
		s.log.Info("checksum database state rebuilt", "sumdb", s.name, "file", s.statePath())
		s.damage = nil
	}
	return nil
}

// Check reports whether the checksum database verifier can work, for
// readiness checks: nil when its state under StateDir is sound or the
// database is off. A damaged state file found here, when the SumDB was
// made or by a lookup is rebuilt at once from the database's latest signed
// tree head; Check returns nil once that is done (the damage is logged,
// at error level) and an error naming the file and the damage while it is
// not, for instance because the database cannot be reached.
func (s *SumDB) Check(ctx context.Context) error {
	if s.name == "" {
		return nil
	}
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	damage := s.damage
	if _, err := s.readState(); err != nil {
		damage = err
	}
	if damage == nil {
		return nil
	}
	_, fetchErr, err := s.repairState(ctx, damage)
	if err != nil {
		return err
	}
	if fetchErr != nil {
		return fmt.Errorf("%w; rebuilding it: %v", damage, fetchErr)
	}
	return nil
}
