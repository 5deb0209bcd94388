package server

import (
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gomirror/gomirror/internal/cargo"
	"github.com/gomirror/gomirror/internal/config"
	"github.com/gomirror/gomirror/internal/golang"
	"github.com/gomirror/gomirror/internal/goproxy"
	"github.com/gomirror/gomirror/internal/maven"
	"github.com/gomirror/gomirror/internal/npm"
	"github.com/gomirror/gomirror/internal/oci"
	"github.com/gomirror/gomirror/internal/pypi"
	"github.com/gomirror/gomirror/internal/store"
	"github.com/gomirror/gomirror/internal/store/budget"
	"github.com/gomirror/gomirror/internal/store/disk"
)

// withBudget returns st kept within cfg's store budget, exporting the
// budget's metrics to reg, or st itself when there is no budget. The
// budget applies to a disk store (config refuses one for S3). On error it
// closes st.
func withBudget(cfg config.Config, st store.Store, reg prometheus.Registerer, log *slog.Logger) (store.Store, error) {
	if cfg.Budget.Bytes == 0 {
		return st, nil
	}
	if _, ok := st.(*disk.Store); !ok {
		closeStore(st)
		return nil, fmt.Errorf("store-budget: applies to a disk store, not %T", st)
	}
	b, err := budget.New(st, budget.Config{
		Bytes:      cfg.Budget.Bytes,
		Recent:     cfg.Budget.Recent,
		Immutable:  immutableName,
		Logger:     log,
		Registerer: reg,
	})
	if err != nil {
		closeStore(st)
		return nil, fmt.Errorf("store-budget: %w", err)
	}
	log.Info("store budget", "bytes", cfg.Budget.Bytes, "recent", cfg.Budget.Recent)
	return b, nil
}

// diskStore returns the disk store that st is, or that st keeps within a
// budget.
func diskStore(st store.Store) (*disk.Store, bool) {
	if b, ok := st.(*budget.Store); ok {
		st = b.Unwrap()
	}
	d, ok := st.(*disk.Store)
	return d, ok
}

// immutableName reports whether name is certainly an immutable artifact
// of one of the ecosystems, which a store budget may evict before the core
// has touched it: Go module .info, .mod and .zip files, Go release
// archives, PyPI files, npm tarballs, OCI blobs and manifests by digest,
// Maven files other than maven-metadata.xml, .crate files.
// Everything else (lists, indexes, pages, packuments, tags, the checksum
// database's cache, the vulnerability database) is kept.
func immutableName(name string) bool {
	return golang.IsImmutable(name) || pypi.IsImmutable(name) || npm.IsImmutable(name) ||
		oci.IsImmutable(name) || goproxy.IsImmutable(name) || maven.IsImmutable(name) ||
		cargo.IsImmutable(name)
}

func closeStore(st store.Store) {
	if c, ok := st.(closer); ok {
		c.Close()
	}
}
