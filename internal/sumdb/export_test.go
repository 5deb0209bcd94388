package sumdb

// Waiters returns how many callers wait for the lookup of path@version in
// flight: 0 when there is none.
func Waiters(s *SumDB, path, version string) int {
	s.lookupMu.Lock()
	defer s.lookupMu.Unlock()
	if c := s.lookups[path+"@"+version]; c != nil {
		return c.waiters
	}
	return 0
}
