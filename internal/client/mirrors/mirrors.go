// Package mirrors knows the well-known public mirrors for the Go module
// proxy, Docker Hub, PyPI and npm, and turns a preset name or a URL into the
// address that one tool should use.
package mirrors

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Target is a tool whose download source gomirror can switch.
type Target string

// The targets gomirror can switch.
const (
	Go     Target = "go"
	Docker Target = "docker"
	Pip    Target = "pip"
	Uv     Target = "uv"
	Npm    Target = "npm"
	// Pnpm and Yarn read npm registries: they take the npm URL of a preset.
	Pnpm Target = "pnpm"
	Yarn Target = "yarn"
	// Containerd and Podman pull images: they take the docker URL of a
	// preset.
	Containerd Target = "containerd"
	Podman     Target = "podman"
	// Maven takes a mirror's root: its repository is under /maven2/.
	Maven Target = "maven"
	// Cargo reads a sparse index: a gomirror station's /cargo/index/.
	Cargo Target = "cargo"
)

// Targets lists every target in the order the CLI shows them.
var Targets = []Target{Go, Docker, Containerd, Podman, Pip, Uv, Npm, Pnpm, Yarn, Maven, Cargo}

// ParseTarget returns the target called name, or an error naming the valid
// ones.
func ParseTarget(name string) (Target, error) {
	t := Target(strings.ToLower(strings.TrimSpace(name)))
	if slices.Contains(Targets, t) {
		return t, nil
	}
	return "", fmt.Errorf("unknown target %q (want one of go, docker, containerd, podman, pip, uv, npm, pnpm, yarn, maven, cargo)", name)
}

// Preset is a well-known mirror operator and the URL it serves for each
// target it covers.
type Preset struct {
	// Name is what users type: "goproxy.cn", "aliyun", "tuna".
	Name string
	// Aliases are other accepted names for the same preset.
	Aliases []string
	// Description says who runs the mirror.
	Description string
	// URLs maps each served target to its URL.
	URLs map[Target]string
}

// Presets returns the built-in presets, in the order `gomirror use --list`
// shows them. Each call returns a fresh slice the caller may modify.
func Presets() []Preset {
	return []Preset{
		{
			Name:        "official",
			Aliases:     []string{"proxy.golang.org", "golang", "upstream"},
			Description: "the official upstreams (Google's Go module mirror, PyPI, npm)",
			URLs: map[Target]string{
				Go:  "https://proxy.golang.org",
				Pip: "https://pypi.org/simple",
				Npm: "https://registry.npmjs.org/",
			},
		},
		{
			Name:        "goproxy.cn",
			Aliases:     []string{"qiniu"},
			Description: "goproxy.cn, run by Qiniu Cloud",
			URLs:        map[Target]string{Go: "https://goproxy.cn"},
		},
		{
			Name:        "goproxy.io",
			Description: "goproxy.io, the GOPROXY.IO project",
			URLs:        map[Target]string{Go: "https://goproxy.io"},
		},
		{
			Name:        "aliyun",
			Aliases:     []string{"alibaba", "npmmirror"},
			Description: "Alibaba Cloud open source mirrors (npm via npmmirror)",
			URLs: map[Target]string{
				Go:  "https://mirrors.aliyun.com/goproxy",
				Pip: "https://mirrors.aliyun.com/pypi/simple/",
				Npm: "https://registry.npmmirror.com/",
			},
		},
		{
			Name:        "tuna",
			Aliases:     []string{"tsinghua"},
			Description: "Tsinghua University TUNA mirrors",
			URLs: map[Target]string{
				Pip: "https://pypi.tuna.tsinghua.edu.cn/simple",
			},
		},
		{
			Name:        "ustc",
			Description: "University of Science and Technology of China mirrors",
			URLs: map[Target]string{
				Go:     "https://mirrors.ustc.edu.cn/goproxy",
				Pip:    "https://mirrors.ustc.edu.cn/pypi/simple",
				Docker: "https://docker.mirrors.ustc.edu.cn",
			},
		},
		{
			Name:        "huawei",
			Aliases:     []string{"huaweicloud"},
			Description: "Huawei Cloud mirrors",
			URLs: map[Target]string{
				Go:  "https://mirrors.huaweicloud.com/repository/goproxy",
				Pip: "https://repo.huaweicloud.com/repository/pypi/simple",
				Npm: "https://repo.huaweicloud.com/repository/npm/",
			},
		},
		{
			Name:        "tencent",
			Aliases:     []string{"tencentcloud"},
			Description: "Tencent Cloud mirrors (the Docker one is reachable from Tencent Cloud hosts only)",
			URLs: map[Target]string{
				Go:     "https://mirrors.cloud.tencent.com/go",
				Pip:    "https://mirrors.cloud.tencent.com/pypi/simple",
				Npm:    "https://mirrors.cloud.tencent.com/npm/",
				Docker: "https://mirror.ccs.tencentyun.com",
			},
		},
		{
			Name:        "baidu",
			Description: "Baidu Cloud Go module mirror",
			URLs:        map[Target]string{Go: "https://goproxy.bj.bcebos.com"},
		},
		{
			Name:        "daocloud",
			Description: "DaoCloud Docker Hub mirror",
			URLs:        map[Target]string{Docker: "https://docker.m.daocloud.io"},
		},
	}
}

// Lookup returns the preset called name (or one of its aliases), matching
// case-insensitively. ok is false when there is none.
func Lookup(name string) (p Preset, ok bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	for _, p := range Presets() {
		if p.Name == name || slices.Contains(p.Aliases, name) {
			return p, true
		}
	}
	return Preset{}, false
}

// Resolve turns mirror, a preset name or a URL, into the URL target should
// use. A preset that does not serve target is an error that names the
// presets which do. URLs must be absolute http or https URLs with a host (go
// also accepts file:// URLs, as GOPROXY does). For go, a trailing slash is
// dropped, as the go command does.
func Resolve(target Target, mirror string) (string, error) {
	if p, ok := Lookup(mirror); ok {
		u, ok := p.URLs[presetTarget(target)]
		if !ok && len(Names(target)) == 0 {
			return "", fmt.Errorf("preset %s has no %s mirror (no preset serves %s: give the mirror's URL)", p.Name, target, target)
		}
		if !ok {
			return "", fmt.Errorf("preset %s has no %s mirror (presets for %s: %s)", p.Name, target, target, strings.Join(Names(target), ", "))
		}
		return u, nil
	}
	if !strings.Contains(mirror, "://") {
		return "", fmt.Errorf("unknown mirror %q: not a URL and not a preset (presets for %s: %s)", mirror, target, strings.Join(Names(target), ", "))
	}
	u, err := CheckURL(target, mirror)
	if err != nil {
		return "", err
	}
	return u, nil
}

// CheckURL validates raw as a mirror URL for target and returns it in the
// form gomirror writes: for go, without a trailing slash.
func CheckURL(target Target, raw string) (string, error) {
	if strings.TrimSpace(raw) != raw || strings.ContainsAny(raw, " \t\r\n,|") {
		return "", fmt.Errorf("invalid mirror URL %q: contains spaces, commas or bars", raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("invalid mirror URL %q: %w", raw, err)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return "", fmt.Errorf("invalid mirror URL %q: no host", raw)
		}
	case "file":
		if target != Go {
			return "", fmt.Errorf("invalid mirror URL %q: %s needs an http or https URL", raw, target)
		}
	default:
		return "", fmt.Errorf("invalid mirror URL %q: scheme must be https or http", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("invalid mirror URL %q: no query or fragment allowed", raw)
	}
	if target == Go {
		raw = strings.TrimRight(raw, "/")
	}
	return raw, nil
}

// presetTarget is the target whose preset URLs target uses: uv reads the
// same simple indexes as pip, pnpm and yarn use npm registries, and
// containerd and podman pull what docker pulls.
func presetTarget(target Target) Target {
	switch target {
	case Uv:
		return Pip
	case Pnpm, Yarn:
		return Npm
	case Containerd, Podman:
		return Docker
	}
	return target
}

// Names returns the names of the presets that serve target.
func Names(target Target) []string {
	var names []string
	for _, p := range Presets() {
		if _, ok := p.URLs[presetTarget(target)]; ok {
			names = append(names, p.Name)
		}
	}
	return names
}
