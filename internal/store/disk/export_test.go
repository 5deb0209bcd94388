package disk

// UseRootOnly makes s resolve every name with its [os.Root], as it does
// where openat2 is missing, so that tests cover that path too.
func UseRootOnly(s *Store) { s.noOpenat2.Store(true) }

// SetFault makes s call fault before each write to a file ("write") and
// before renaming a file into place ("rename"), taking an error it returns
// as that operation's. Nil removes the hook. Call it while s is not in use.
func SetFault(s *Store, fault func(op string) error) { s.fault = fault }
