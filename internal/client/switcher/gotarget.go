package switcher

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// SumDBName returns the checksum database named by a GOSUMDB value and the
// first field to keep when rewriting it: the name, or name+key. "off" and
// "" mean the default, sum.golang.org, since gomirror never turns checksum
// verification off.
func SumDBName(gosumdb string) (name, first string) {
	f := strings.Fields(gosumdb)
	if len(f) == 0 || f[0] == "off" {
		return "sum.golang.org", "sum.golang.org"
	}
	if f[0] == "sum.golang.google.cn" {
		return "sum.golang.org", "sum.golang.org"
	}
	name, _, _ = strings.Cut(f[0], "+")
	return name, f[0]
}

// ServesSumDB reports whether the Go module mirror at base proxies the
// checksum database called name: GET base/sumdb/name/supported answers 200.
func ServesSumDB(ctx context.Context, hc *http.Client, base, name string) (bool, error) {
	u, err := url.Parse(base)
	if err != nil {
		return false, err
	}
	if u.Scheme == "file" {
		_, err := os.Stat(filepath.Join(filepath.FromSlash(u.Path), "sumdb", name, "supported"))
		return err == nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/sumdb/"+name+"/supported", nil)
	if err != nil {
		return false, err
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false, fmt.Errorf("check %s/sumdb/%s/supported: %w", base, name, err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

func (s *Switcher) useGo(ctx context.Context, opts UseOptions) error {
	envFile, err := s.Go.File(ctx)
	if err != nil {
		return fmt.Errorf("use go: %w", err)
	}
	if envFile, err = resolvePath(envFile); err != nil {
		return err
	}
	cur, err := s.Go.Get(ctx, "GOPROXY", "GOSUMDB", "GOPRIVATE")
	if err != nil {
		return fmt.Errorf("use go: %w", err)
	}
	want := map[string]string{"GOPROXY": opts.Mirror + ",direct"}
	name, first := SumDBName(cur["GOSUMDB"])
	serves, err := ServesSumDB(ctx, s.HTTP, opts.Mirror, name)
	switch {
	case err != nil:
		fmt.Fprintf(s.Out, "go: could not tell whether %s serves the checksum database (%v); the go command will reach %s directly\n", opts.Mirror, err, name)
		want["GOSUMDB"] = first
	case serves:
		want["GOSUMDB"] = first + " " + opts.Mirror + "/sumdb/" + name
	default:
		fmt.Fprintf(s.Out, "go: %s does not serve /sumdb/%s; the go command will reach %s directly\n", opts.Mirror, name, name)
		want["GOSUMDB"] = first
	}
	if opts.Private != nil {
		want["GOPRIVATE"] = *opts.Private
	}
	set := map[string]string{}
	var keys []string
	for k, v := range want {
		if cur[k] != v {
			set[k] = v
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if len(set) == 0 {
		fmt.Fprintf(s.Out, "go: already uses %s; nothing to change\n", opts.Mirror)
		return nil
	}
	if opts.DryRun {
		fmt.Fprintf(s.Out, "go: would run (dry run, nothing written):\n")
		for _, k := range keys {
			fmt.Fprintf(s.Out, "  go env -w %s=%s    (now %q)\n", k, shellQuote(set[k]), cur[k])
		}
		return nil
	}
	old, err := os.ReadFile(envFile)
	existed := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("use go: %w", err)
	}
	if err := s.saveOriginal("go", envFile, old, existed); err != nil {
		return err
	}
	if err := s.Go.Set(ctx, set); err != nil {
		return fmt.Errorf("use go: %w", err)
	}
	updated, err := os.ReadFile(envFile)
	if err != nil {
		return fmt.Errorf("use go: %w", err)
	}
	if err := s.recordWritten("go", envFile, updated, opts.Mirror); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "go: now uses %s (%s)\n", opts.Mirror, envFile)
	for _, k := range keys {
		fmt.Fprintf(s.Out, "  %s=%s\n", k, set[k])
	}
	if v := s.Getenv("GOPROXY"); v != "" && v != set["GOPROXY"] {
		fmt.Fprintf(s.Out, "warning: GOPROXY=%s is set in the environment and overrides %s\n", v, envFile)
	}
	return nil
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`*?[]{}()<>|&;#~!") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
