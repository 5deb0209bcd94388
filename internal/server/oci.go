package server

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/gomirror/gomirror/internal/config"
	"github.com/gomirror/gomirror/internal/oci"
	"github.com/gomirror/gomirror/internal/pull"
)

// newOCI builds the OCI registry mirror. Credentials for the upstream
// registries come from the Docker config file that --oci-auth-file names.
// It also returns the mirror's rule of privacy (see ociPrivate).
func newOCI(cfg config.Config, cache *pull.Cache, httpUp *pull.HTTPUpstream, log *slog.Logger) (*oci.Handler, func(string) bool, error) {
	ocfg := oci.Config{
		Cache:           cache,
		DefaultRegistry: cfg.OCI.DefaultRegistry,
		ManifestTTL:     cfg.OCI.ManifestTTL,
		MaxBlobSize:     cfg.OCI.MaxBlobSize,
		HTTPUpstream:    httpUp,
		Logger:          log,
	}
	for _, r := range cfg.OCI.RegistryList() {
		ocfg.Registries = append(ocfg.Registries, oci.Registry{Host: r[0], URL: r[1]})
	}
	if cfg.OCI.AuthFile != "" {
		data, err := os.ReadFile(cfg.OCI.AuthFile)
		if err != nil {
			return nil, nil, fmt.Errorf("oci-auth-file: %w", err)
		}
		creds, err := oci.ParseDockerConfig(data)
		if err != nil {
			return nil, nil, fmt.Errorf("oci-auth-file: %s: %w", cfg.OCI.AuthFile, err)
		}
		ocfg.ApplyCredentials(creds)
	}
	h, err := oci.New(ocfg)
	if err != nil {
		return nil, nil, fmt.Errorf("oci: %w", err)
	}
	return h, ociPrivate(ocfg.Registries, parsePublic(cfg.Access.PublicUpstreams)), nil
}
