package server

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/gomirror/gomirror/internal/access"
	"github.com/gomirror/gomirror/internal/config"
	"github.com/gomirror/gomirror/internal/maven"
	"github.com/gomirror/gomirror/internal/pull"
)

// newMaven builds the Maven mirror. Each repository's credentials come
// from the environment or files it names, as maven.ParseRepositories
// reads them.
func newMaven(cfg config.Config, cache *pull.Cache, httpUp *pull.HTTPUpstream, log *slog.Logger, getenv func(string) string) (*maven.Handler, error) {
	repos, err := maven.ParseRepositories(cfg.Maven.Repos, getenv)
	if err != nil {
		return nil, fmt.Errorf("maven-repos: %w", err)
	}
	h, err := maven.New(maven.Config{
		Cache:          cache,
		Repositories:   repos,
		PrivateGroups:  maven.ParseGroups(cfg.Maven.PrivateGroups),
		AllowUnchecked: cfg.Maven.AllowUnchecked,
		MetadataTTL:    cfg.Maven.TTL,
		MaxFileSize:    cfg.Maven.MaxFileSize,
		Upstream:       httpUp,
		Logger:         log,
	})
	if err != nil {
		return nil, fmt.Errorf("maven-repos: %w", err)
	}
	return h, nil
}

// mavenUpstreams names the Maven mirror's upstreams on the status page
// and in the feeds: the repositories, unless some are private (a
// repository with credentials needs private groups), whose URLs are not
// shown.
func mavenUpstreams(cfg config.Config) string {
	if strings.TrimSpace(cfg.Maven.PrivateGroups) != "" {
		return "private and public repositories"
	}
	return cfg.Maven.Repos
}

// checkMavenPrivateCovered refuses a configuration that would serve the
// private Maven groups to anyone who can reach it, as checkPrivateCovered
// does for modules: on an address other than loopback, every private
// group, with the groups below it, needs a rule of ecosystem maven that
// names it. Subjects are groupId/artifactId.
func checkMavenPrivateCovered(cfg config.Config, rules access.RulesSource) error {
	if !cfg.Maven.Enabled || loopbackOnly(cfg.Listen) {
		return nil
	}
	for _, g := range maven.ParseGroups(cfg.Maven.PrivateGroups) {
		patterns := []string{g, g + ".*"}
		if g == "*" {
			patterns = []string{"*"}
		}
		for _, p := range patterns {
			if rules == nil || !rules().Covers(maven.Ecosystem, p) {
				return fmt.Errorf("maven-private-groups: group %q would be served to anyone who can reach %s: "+
					"name who may read it in an access rules file (--access-rules, a rule with ecosystem: maven and paths: [%q, %q]), "+
					"or listen on loopback only (--listen 127.0.0.1:PORT)", g, cfg.Listen, patterns[0], patterns[len(patterns)-1])
			}
		}
	}
	return nil
}
