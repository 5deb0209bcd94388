package server

import (
	"log/slog"

	"github.com/gomirror/gomirror/internal/cargo"
	"github.com/gomirror/gomirror/internal/config"
	"github.com/gomirror/gomirror/internal/pull"
)

// newCargo builds the crates.io mirror. Its config.json names the mirror
// by the public-url setting, as the npm mirror's tarball URLs do.
func newCargo(cfg config.Config, cache *pull.Cache, up *pull.HTTPUpstream, log *slog.Logger) (*cargo.Handler, error) {
	return cargo.New(cargo.Config{
		Cache:        cache,
		Index:        cfg.Cargo.Index,
		Download:     cfg.Cargo.Download,
		PublicURL:    cfg.NPM.PublicURL,
		TTL:          cfg.Cargo.TTL,
		MaxCrateSize: cfg.Cargo.MaxCrate,
		Upstream:     up,
		Logger:       log,
	})
}
