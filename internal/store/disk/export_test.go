package disk

// UseRootOnly makes s resolve every name with its [os.Root], as it does
// where openat2 is missing, so that tests cover that path too.
func UseRootOnly(s *Store) { s.noOpenat2.Store(true) }
