package server

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/gomirror/gomirror/internal/config"
	"github.com/gomirror/gomirror/internal/npm"
	"github.com/gomirror/gomirror/internal/pull"
)

// newNPM builds the npm mirror. Tokens come from the environment or files
// it names: GOMIRROR_NPM_UPSTREAM_TOKEN or GOMIRROR_NPM_UPSTREAM_TOKEN_FILE
// for the upstream, and per routed scope as npm.ParseScopes reads them.
// It also returns the mirror's rule of privacy (see npmPrivate).
func newNPM(cfg config.Config, cache *pull.Cache, httpUp *pull.HTTPUpstream, mem *pull.Memory, log *slog.Logger, getenv func(string) string) (*npm.Handler, func(string) bool, error) {
	token := getenv("GOMIRROR_NPM_UPSTREAM_TOKEN")
	if f := getenv("GOMIRROR_NPM_UPSTREAM_TOKEN_FILE"); f != "" && token == "" {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, fmt.Errorf("GOMIRROR_NPM_UPSTREAM_TOKEN_FILE: %w", err)
		}
		token = strings.TrimSpace(string(data))
	}
	scopes, err := npm.ParseScopes(cfg.NPM.Scopes, getenv)
	if err != nil {
		return nil, nil, fmt.Errorf("npm-scopes: %w", err)
	}
	h, err := npm.New(npm.Config{
		Cache:        cache,
		Upstream:     npm.Upstream{URL: cfg.NPM.Upstream, Token: token},
		Scopes:       scopes,
		PublicURL:    cfg.NPM.PublicURL,
		TTL:          cfg.NPM.TTL,
		HTTPUpstream: httpUp,
		Memory:       mem,
		Logger:       log,
	})
	if err != nil {
		return nil, nil, err
	}
	up := npm.Upstream{URL: cfg.NPM.Upstream, Token: token}
	return h, npmPrivate(scopes, up, parsePublic(cfg.Access.PublicUpstreams)), nil
}
