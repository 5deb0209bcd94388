//go:build !linux

package disk

import "os"

func openDir(string) (*os.File, error) { return nil, nil }

// openBeneath reports that the caller should use the [os.Root].
func (s *Store) openBeneath(string) (*os.File, bool, error) { return nil, false, nil }
