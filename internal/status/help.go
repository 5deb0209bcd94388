package status

import (
	"net/url"
	"strings"
)

// snippet is one copy-paste block of a help page.
type snippet struct {
	Title string
	File  string // where it goes, when it is a file
	Intro string
	Code  string
	Note  string
}

// helpPage is the setup guide of one mirror.
type helpPage struct {
	ID       string
	Name     string
	Intro    string
	Snippets []snippet
}

// help returns the setup guide of mirror id with this station's URL base
// (scheme://host[:port], no trailing slash), and whether there is one.
func help(id, base string) (helpPage, bool) {
	u, err := url.Parse(base)
	if err != nil {
		return helpPage{}, false
	}
	host := u.Host
	insecure := u.Scheme == "http"
	switch id {
	case "go":
		return helpPage{ID: id, Name: "Go modules", Intro: "Point the go command at this mirror. Checksum verification stays on: the go command reaches the checksum database through the mirror.",
			Snippets: []snippet{
				{Title: "go command", Code: "go env -w GOPROXY=" + base + ",direct"},
				{Title: "One command only", Code: "GOPROXY=" + base + " go mod download"},
				{Title: "With gomirror's client", Intro: "Saves the previous settings; gomirror restore go puts them back.", Code: "gomirror use go " + base},
			}}, true
	case "sumdb":
		return helpPage{ID: id, Name: "Checksum database", Intro: "The go command finds the checksum database through the module mirror (" + base + "/sumdb/sum.golang.org/supported), so with GOPROXY set as on the Go modules page there is nothing more to do. To name it explicitly:",
			Snippets: []snippet{
				{Title: "GOSUMDB", Code: `go env -w GOSUMDB="sum.golang.org ` + base + `/sumdb/sum.golang.org"`},
			}}, true
	case "golang":
		return helpPage{ID: id, Name: "Go archives", Intro: "Go releases as listed on go.dev/dl, served from this mirror.",
			Snippets: []snippet{
				{Title: "Download a release", Code: "curl -fLO " + base + "/golang/go1.22.0.linux-amd64.tar.gz"},
				{Title: "The release index", Intro: "In go.dev's JSON format:", Code: "curl -fsS '" + base + "/golang/?mode=json&include=all'"},
			}}, true
	case "vuln":
		return helpPage{ID: id, Name: "Vulnerability database", Intro: "Run govulncheck against this mirror of vuln.go.dev.",
			Snippets: []snippet{
				{Title: "govulncheck", Code: "GOVULNDB=" + base + "/vuln govulncheck ./..."},
				{Title: "For every command of this shell", Code: "export GOVULNDB=" + base + "/vuln"},
			}}, true
	case "oci":
		dockerNote := ""
		if insecure {
			dockerNote = "This mirror is served over plain HTTP: Docker also needs it in insecure-registries, as above."
		}
		daemon := "{\n  \"registry-mirrors\": [\"" + base + "\"]\n}"
		if insecure {
			daemon = "{\n  \"registry-mirrors\": [\"" + base + "\"],\n  \"insecure-registries\": [\"" + host + "\"]\n}"
		}
		hosts := "server = \"https://registry-1.docker.io\"\n\n[host.\"" + base + "\"]\n  capabilities = [\"pull\", \"resolve\"]"
		if insecure {
			hosts += "\n  skip_verify = true"
		}
		podman := "[[registry]]\nprefix = \"docker.io\"\nlocation = \"docker.io\"\n\n[[registry.mirror]]\nlocation = \"" + host + "\""
		if insecure {
			podman += "\ninsecure = true"
		}
		return helpPage{ID: id, Name: "OCI images", Intro: "A pull-through mirror of Docker Hub. Other registries are reached as " + host + "/HOST/REPOSITORY, for example " + host + "/ghcr.io/OWNER/IMAGE.",
			Snippets: []snippet{
				{Title: "Docker", File: "/etc/docker/daemon.json", Intro: "Then restart the daemon: sudo systemctl restart docker", Code: daemon, Note: dockerNote},
				{Title: "containerd", File: "/etc/containerd/certs.d/docker.io/hosts.toml", Code: hosts},
				{Title: "Podman", File: "/etc/containers/registries.conf", Code: podman},
				{Title: "Pull from another registry through the mirror", Code: "docker pull " + host + "/ghcr.io/OWNER/IMAGE:TAG"},
			}}, true
	case "pypi":
		index := base + "/pypi/simple/"
		pip := "[global]\nindex-url = " + index
		if insecure {
			pip += "\ntrusted-host = " + u.Hostname()
		}
		return helpPage{ID: id, Name: "PyPI", Intro: "Install Python packages through this mirror.",
			Snippets: []snippet{
				{Title: "pip, once", Code: "pip install -i " + index + " requests"},
				{Title: "pip", File: "~/.config/pip/pip.conf (Windows: %APPDATA%\\pip\\pip.ini)", Code: pip},
				{Title: "uv", File: "~/.config/uv/uv.toml", Code: "[[index]]\nurl = \"" + index + "\"\ndefault = true"},
			}}, true
	case "npm":
		return helpPage{ID: id, Name: "npm", Intro: "Install npm packages through this mirror.",
			Snippets: []snippet{
				{Title: "npm", File: "~/.npmrc", Code: "registry=" + base + "/npm/"},
				{Title: "npm, once", Code: "npm install --registry=" + base + "/npm/ react"},
			}}, true
	case "maven":
		return mavenHelp(id, base), true
	case "cargo":
		return cargoHelp(base), true
	}
	return helpPage{}, false
}

// helpLines returns every line of code of a help page, for tests.
func (h helpPage) helpLines() []string {
	var out []string
	for _, s := range h.Snippets {
		out = append(out, strings.Split(s.Code, "\n")...)
	}
	return out
}
