package config

import "fmt"

// GolangConfig configures the Go release archive mirror under /golang/.
type GolangConfig struct {
	Enabled bool   // serve the Go release archives under /golang/
	Index   string // the release index, in go.dev's JSON format with every release
	Base    string // where release archives are fetched from, by file name
}

func defaultGolang() GolangConfig {
	return GolangConfig{
		Enabled: true,
		Index:   "https://go.dev/dl/?mode=json&include=all",
		Base:    "https://dl.google.com/go/",
	}
}

func (c *Config) golangSettings() []setting {
	g := &c.Golang
	return []setting{
		{name: "golang", usage: "serve the Go release archives under /golang/", flag: &g.Enabled},
		{name: "golang-index", usage: "Go release index, in go.dev's JSON format with every release (golang.google.cn: https://golang.google.cn/dl/?mode=json&include=all)", str: &g.Index},
		{name: "golang-base", usage: "URL that Go release archives are fetched from, by file name", str: &g.Base},
	}
}

func (g *GolangConfig) validate() error {
	for _, u := range []struct{ name, val string }{{"golang-index", g.Index}, {"golang-base", g.Base}} {
		if err := checkHTTPURL(u.val); err != nil {
			return fmt.Errorf("%s: %w", u.name, err)
		}
	}
	return nil
}
