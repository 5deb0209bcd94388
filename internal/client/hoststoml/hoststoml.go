// Package hoststoml edits containerd's registry host configuration,
// certs.d/<registry>/hosts.toml, to put a mirror first, keeping every other
// line of the file as it was.
//
// A hosts.toml names the registry's own server and the hosts containerd
// tries before it, in order:
//
//	server = "https://registry-1.docker.io"
//
//	[host."https://mirror.example"]
//	  capabilities = ["pull", "resolve"]
//
// containerd adds ?ns=<registry> to its requests to a mirror host, which is
// how one gomirror serves many registries from the root of its domain.
package hoststoml

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/gomirror/gomirror/internal/client/textlines"
)

// DockerHubServer is the server containerd uses for docker.io.
const DockerHubServer = "https://registry-1.docker.io"

// ServerFor returns the upstream server of registry, as containerd's
// documentation writes it: Docker Hub's API host for docker.io, else
// https://<registry>.
func ServerFor(registry string) string {
	if registry == "docker.io" {
		return DockerHubServer
	}
	return "https://" + registry
}

var registryRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?$`)

// CheckRegistry reports whether registry is a registry host as containerd
// names its directories: lower-case, with an optional port, no scheme.
func CheckRegistry(registry string) error {
	if !registryRE.MatchString(registry) {
		return fmt.Errorf("invalid registry %q: want a host name such as docker.io or registry.example:5000", registry)
	}
	return nil
}

// HostFor returns the [host."..."] key and override_path for a mirror
// URL: the URL itself for a mirror at the root of its host, or the URL
// with /v2 and override_path for one under a path (behind a proxy that
// strips the path).
func HostFor(mirror string) (host string, overridePath bool, err error) {
	u, err := url.Parse(mirror)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", false, fmt.Errorf("invalid mirror URL %q: want http(s)://host[:port][/path]", mirror)
	}
	p := strings.TrimRight(u.Path, "/")
	if p == "" {
		return u.Scheme + "://" + u.Host, false, nil
	}
	return u.Scheme + "://" + u.Host + p + "/v2", true, nil
}

// Host is one [host."..."] table of a hosts.toml.
type Host struct {
	// URL is the table's key.
	URL string
	// Capabilities lists the table's capabilities; nil means the key is
	// absent, which containerd takes as all of them.
	Capabilities []string
	// OverridePath is the table's override_path.
	OverridePath bool
}

// File is a parsed hosts.toml. It keeps the file's lines, so that a change
// leaves every other line as it was.
type File struct {
	textlines.Text
}

var (
	hostHeaderRE = regexp.MustCompile(`^\s*\[\s*host\.(?:"((?:[^"\\]|\\.)*)"|'([^']*)')\s*\]\s*(#.*)?$`)
	hostPrefixRE = regexp.MustCompile(`^\s*\[\s*host\.(?:"(?:[^"\\]|\\.)*"|'[^']*')`)
	tableRE      = regexp.MustCompile(`^\s*\[`)
	kvRE         = regexp.MustCompile(`^\s*([A-Za-z0-9_-]+)\s*=\s*(.*?)\s*(#[^"']*)?$`)
	quotedRE     = regexp.MustCompile(`"((?:[^"\\]|\\.)*)"|'([^']*)'`)
)

// Parse splits data, a hosts.toml (or nothing), into lines. It returns an
// error for a table header it cannot read.
func Parse(data []byte) (*File, error) {
	f := &File{Text: textlines.Split(data)}
	for i, l := range f.Lines {
		if strings.HasPrefix(strings.TrimSpace(l), "[host") && !hostPrefixRE.MatchString(l) {
			return nil, fmt.Errorf("hosts.toml line %d: cannot read table header %q", i+1, strings.TrimSpace(l))
		}
	}
	return f, nil
}

// Server returns the file's top-level server, or "".
func (f *File) Server() string {
	for _, l := range f.Lines {
		if tableRE.MatchString(l) {
			break
		}
		if m := kvRE.FindStringSubmatch(l); m != nil && m[1] == "server" {
			return unquote(m[2])
		}
	}
	return ""
}

// Hosts returns the file's host tables in order: the order containerd
// tries them in.
func (f *File) Hosts() []Host {
	var hosts []Host
	var cur *Host
	for _, l := range f.Lines {
		if m := hostHeaderRE.FindStringSubmatch(l); m != nil {
			hosts = append(hosts, Host{URL: m[1] + m[2]})
			cur = &hosts[len(hosts)-1]
			continue
		}
		if tableRE.MatchString(l) {
			cur = nil // Another table, such as [host."x".header].
			continue
		}
		m := kvRE.FindStringSubmatch(l)
		if cur == nil || m == nil {
			continue
		}
		switch m[1] {
		case "capabilities":
			cur.Capabilities = []string{}
			for _, q := range quotedRE.FindAllStringSubmatch(m[2], -1) {
				cur.Capabilities = append(cur.Capabilities, q[1]+q[2])
			}
		case "override_path":
			cur.OverridePath = strings.TrimSpace(m[2]) == "true"
		}
	}
	return hosts
}

func unquote(v string) string {
	if m := quotedRE.FindStringSubmatch(v); m != nil {
		return m[1] + m[2]
	}
	return strings.TrimSpace(v)
}

// UseMirror makes mirror the first host of the file, for registry, with
// the pull and resolve capabilities, adding the registry's server when the
// file has none. It reports whether the file changed. A mirror already
// first with those capabilities changes nothing; one listed later is an
// error, since moving a table would drop what the user wrote in it.
func (f *File) UseMirror(registry, mirror string) (bool, error) {
	if err := CheckRegistry(registry); err != nil {
		return false, err
	}
	host, override, err := HostFor(mirror)
	if err != nil {
		return false, err
	}
	hosts := f.Hosts()
	for i, h := range hosts {
		if strings.TrimRight(h.URL, "/") != host {
			continue
		}
		if i == 0 {
			return false, nil
		}
		return false, fmt.Errorf("%s is already listed as host %d of %d; remove its [host.%q] table to make gomirror put it first", mirror, i+1, len(hosts), h.URL)
	}
	block := []string{fmt.Sprintf("[host.%q]", host), `  capabilities = ["pull", "resolve"]`}
	if override {
		block = append(block, "  override_path = true")
	}
	// The first table header, if any: the new host goes before it.
	at := len(f.Lines)
	for i, l := range f.Lines {
		if tableRE.MatchString(l) {
			at = i
			break
		}
	}
	var out []string
	head := f.Lines[:at]
	if f.Server() == "" {
		out = append(out, fmt.Sprintf("server = %q", ServerFor(registry)))
		if len(head) > 0 && strings.TrimSpace(head[0]) != "" {
			out = append(out, "")
		}
	}
	out = append(out, head...)
	if len(out) > 0 && strings.TrimSpace(out[len(out)-1]) != "" {
		out = append(out, "")
	}
	out = append(out, block...)
	if at < len(f.Lines) {
		out = append(out, "")
		out = append(out, f.Lines[at:]...)
	}
	f.Lines = out
	f.Final = true
	return true, nil
}
