package jobs

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// MavenArtifacts says what a maven job syncs: the pom and the main file
// of the newest versions of each artifact, or of exact versions.
type MavenArtifacts struct {
	// Artifacts are "groupId:artifactId" (its newest versions, as its
	// maven-metadata.xml lists them) or "groupId:artifactId:version"
	// (that version).
	Artifacts []string `yaml:"artifacts" json:"artifacts"`
	// Newest is how many of each artifact's newest versions to fetch:
	// the last ones its maven-metadata.xml lists, which is the order
	// they were deployed in, SNAPSHOTs left out. Zero means 1.
	Newest int `yaml:"newest" json:"newest,omitempty"`
}

// mavenIDRE is a groupId, artifactId or version segment as the Maven
// mirror accepts them.
var mavenIDRE = regexp.MustCompile(`^[A-Za-z0-9_+~-][A-Za-z0-9._+~-]*$`)

func (m *MavenArtifacts) check() error {
	if len(m.Artifacts) == 0 {
		return errors.New("artifacts: empty")
	}
	if m.Newest < 0 {
		return errors.New("newest: negative")
	}
	for _, a := range m.Artifacts {
		parts := strings.Split(a, ":")
		if len(parts) < 2 || len(parts) > 3 {
			return fmt.Errorf("artifacts: %q is not groupId:artifactId[:version]", a)
		}
		for i, p := range parts {
			elems := []string{p}
			if i == 0 {
				elems = strings.Split(p, ".")
			}
			for _, e := range elems {
				if !mavenIDRE.MatchString(e) {
					return fmt.Errorf("artifacts: %q is not groupId:artifactId[:version]", a)
				}
			}
		}
	}
	return nil
}

// Sync fetches each artifact's maven-metadata.xml when no version is
// given, then the pom of each version, and the file its packaging names
// (a jar, unless the packaging is pom).
func (m *MavenArtifacts) Sync(ctx context.Context, s *Session) error {
	newest := max(m.Newest, 1)
	errs := make([]error, len(m.Artifacts))
	s.Each(ctx, len(m.Artifacts), func(ctx context.Context, i int) {
		errs[i] = m.syncArtifact(ctx, s, m.Artifacts[i], newest)
	})
	for _, err := range errs {
		if err == nil {
			return nil
		}
	}
	return fmt.Errorf("no artifact synced: %w", errors.Join(errs...))
}

func (m *MavenArtifacts) syncArtifact(ctx context.Context, s *Session, coords string, newest int) error {
	parts := strings.Split(coords, ":")
	dir := "/maven2/" + strings.ReplaceAll(parts[0], ".", "/") + "/" + parts[1] + "/"
	versions := parts[2:]
	if len(versions) == 0 {
		page := dir + "maven-metadata.xml"
		resp, err := s.Get(ctx, page, "")
		if err != nil {
			return err
		}
		var doc struct {
			Versions []string `xml:"versioning>versions>version"`
		}
		if err := xml.Unmarshal(resp.Body, &doc); err != nil {
			err = fmt.Errorf("GET %s: %w", page, err)
			s.fail(err)
			return err
		}
		for _, v := range doc.Versions {
			if v = strings.TrimSpace(v); mavenIDRE.MatchString(v) && !strings.HasSuffix(v, "-SNAPSHOT") {
				versions = append(versions, v)
			}
		}
		if len(versions) == 0 {
			err := fmt.Errorf("%s: no release", coords)
			s.fail(err)
			return err
		}
		versions = versions[max(0, len(versions)-newest):]
	}
	for _, v := range versions {
		key := "maven:" + dir + v
		if s.Seen(key) {
			continue
		}
		base := dir + v + "/" + parts[1] + "-" + v
		resp, err := s.Get(ctx, base+".pom", "")
		if err != nil {
			continue
		}
		var pom struct {
			Packaging string `xml:"packaging"`
		}
		xml.Unmarshal(resp.Body, &pom) // A pom that does not parse has the default packaging.
		if p := strings.TrimSpace(pom.Packaging); p != "pom" {
			if s.Fetch(ctx, base+"."+mavenExtension(p), "") != nil {
				continue
			}
		}
		s.MarkSeen(key)
	}
	return nil
}

// mavenExtension returns the extension of the main file of a packaging.
func mavenExtension(packaging string) string {
	switch packaging {
	case "war", "ear", "aar", "rar":
		return packaging
	}
	return "jar" // jar, bundle, maven-plugin and most others
}
