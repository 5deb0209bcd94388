package vulndb

import "sync/atomic"

// Latest holds the database in use, which a server replaces when a new
// version of the database arrives. The zero value holds none. It is safe for
// concurrent use.
type Latest struct {
	db atomic.Pointer[DB]
}

// Set makes db the database in use.
func (l *Latest) Set(db *DB) { l.db.Store(db) }

// DB returns the database in use, or nil when there is none yet.
func (l *Latest) DB() *DB { return l.db.Load() }

// Affected is [DB.Affected] of the database in use; it returns nil while
// there is none.
func (l *Latest) Affected(modulePath, version string) []Finding {
	return l.DB().Affected(modulePath, version)
}
