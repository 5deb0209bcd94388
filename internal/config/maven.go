package config

import (
	"fmt"
	"strings"
	"time"
)

// MavenConfig configures the Maven mirror under /maven2/. Credentials for
// private repositories come from the environment or a file, never from a
// flag: GOMIRROR_MAVEN_REPO_<N>_USERNAME and
// GOMIRROR_MAVEN_REPO_<N>_PASSWORD(_FILE) for the Nth repository.
type MavenConfig struct {
	Enabled        bool          // serve the Maven mirror under /maven2/
	Repos          string        // upstream repositories, comma-separated, in order
	PrivateGroups  string        // groupIds served only by the repositories with credentials, comma-separated
	AllowUnchecked bool          // store files whose repository publishes no sha512, sha256 or sha1
	TTL            time.Duration // how long a maven-metadata.xml stays fresh
	MaxFileSize    int64         // largest file accepted from upstream
}

func defaultMaven() MavenConfig {
	return MavenConfig{Enabled: true, Repos: "https://repo.maven.apache.org/maven2/", TTL: 5 * time.Minute, MaxFileSize: 2 << 30}
}

func (c *Config) mavenSettings() []setting {
	m := &c.Maven
	return []setting{
		{name: "maven", usage: "serve the Maven mirror under /maven2/", flag: &m.Enabled},
		{name: "maven-repos", usage: "upstream Maven repositories, comma-separated, private first; a file comes from the first that has it (credentials from GOMIRROR_MAVEN_REPO_<N>_USERNAME and GOMIRROR_MAVEN_REPO_<N>_PASSWORD or _PASSWORD_FILE)", str: &m.Repos},
		{name: "maven-private-groups", usage: "groupIds (with the groups below them; * for all) served only by the Maven repositories with credentials, and private to access rules", str: &m.PrivateGroups},
		{name: "maven-allow-unchecked", usage: "store Maven files whose repository publishes no sha512, sha256 or sha1 checksum (default: refuse them)", flag: &m.AllowUnchecked},
		{name: "maven-ttl", usage: "how long a maven-metadata.xml stays fresh", dur: &m.TTL},
		{name: "maven-max-file-size", usage: "largest file accepted from a Maven repository", size: &m.MaxFileSize},
	}
}

func (m *MavenConfig) validate() error {
	n := 0
	for u := range strings.SplitSeq(m.Repos, ",") {
		if u = strings.TrimSpace(u); u == "" {
			continue
		}
		n++
		if err := checkHTTPURL(u); err != nil {
			return fmt.Errorf("maven-repos: %w", err)
		}
	}
	if n == 0 {
		return fmt.Errorf("maven-repos: empty")
	}
	if m.TTL <= 0 {
		return fmt.Errorf("maven-ttl: must be positive, got %v", m.TTL)
	}
	if m.MaxFileSize <= 0 {
		return fmt.Errorf("maven-max-file-size: must be positive")
	}
	return nil
}
