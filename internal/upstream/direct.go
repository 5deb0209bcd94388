package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gomirror/gomirror/internal/proxypath"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// waitDelay is how long a cancelled go command gets to exit after being
// interrupted before it is killed.
const waitDelay = 5 * time.Second

// maxStderr bounds how much of the go command's stderr is kept.
const maxStderr = 64 << 10

// direct fetches modules from their version control systems by running the
// go command with GOPROXY=direct in an isolated GOPATH and module cache.
// Concurrent fetches share the module cache; the go command locks it.
type direct struct {
	goCmd    string
	workDir  string
	modCache string
	tmpDir   string
	env      []string
	logger   *slog.Logger
	sem      chan struct{} // bounds concurrent go commands
}

// newDirect prepares the isolated GOPATH under cfg.WorkDir.
func newDirect(cfg Config, logger *slog.Logger) (*direct, error) {
	if cfg.WorkDir == "" {
		return nil, errors.New("WorkDir is required when the chain contains direct or Private is set")
	}
	workDir, err := filepath.Abs(cfg.WorkDir)
	if err != nil {
		return nil, fmt.Errorf("WorkDir: %w", err)
	}
	if gomod := enclosingGoMod(workDir); gomod != "" {
		return nil, fmt.Errorf("WorkDir %s is inside the Go module of %s; direct fetches would use that go.mod: choose a WorkDir outside any module", workDir, gomod)
	}
	goCmd := cfg.GoCommand
	if goCmd == "" {
		goCmd = "go"
	}
	if _, err := exec.LookPath(goCmd); err != nil {
		return nil, fmt.Errorf("GoCommand: %w", err)
	}
	d := &direct{
		goCmd:    goCmd,
		workDir:  workDir,
		modCache: filepath.Join(workDir, "modcache"),
		tmpDir:   filepath.Join(workDir, "tmp"),
		logger:   logger,
		sem:      make(chan struct{}, max(4, 2*runtime.GOMAXPROCS(0))),
	}
	for _, dir := range []string{d.modCache, d.tmpDir, filepath.Join(workDir, "gopath")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("WorkDir: %w", err)
		}
	}
	base := cfg.Env
	if base == nil {
		base = os.Environ()
	}
	// exec.Cmd uses the last value of a repeated key, so these override.
	d.env = append(slices.Clip(base),
		"GOPATH="+filepath.Join(workDir, "gopath"),
		"GOMODCACHE="+d.modCache,
		"GOCACHE="+filepath.Join(workDir, "gocache"),
		"GOPROXY=direct",
		"GONOPROXY=",
		"GOSUMDB=off",
		"GONOSUMDB=",
		"GOFLAGS=-modcacherw",
		"GOTOOLCHAIN=local",
		"GO111MODULE=on",
		"GOWORK=off",
		"GOPRIVATE="+cfg.Private,
	)
	return d, nil
}

// enclosingGoMod returns the go.mod file in dir or its nearest ancestor
// that has one, or "".
func enclosingGoMod(dir string) string {
	for {
		gomod := filepath.Join(dir, "go.mod")
		if fi, err := os.Stat(gomod); err == nil && !fi.IsDir() {
			return gomod
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// goModule is the part of the go command's -json output that direct uses.
// Error is a string from "go mod download" and {"Err": ...} from "go list".
type goModule struct {
	Path     string
	Version  string
	Versions []string
	Time     json.RawMessage
	Origin   json.RawMessage
	GoMod    string
	Zip      string
	Error    json.RawMessage
}

// info is a module proxy's .info answer.
type info struct {
	Version string
	Time    json.RawMessage `json:",omitempty"`
	Origin  json.RawMessage `json:",omitempty"`
}

// fetch answers req from the version control system.
func (d *direct) fetch(ctx context.Context, req proxypath.Name) (io.ReadCloser, error) {
	switch req.Kind {
	case proxypath.List:
		// -retracted keeps retracted versions in the list, as proxies do;
		// the go command filters them on the client.
		m, err := d.goJSON(ctx, req, "list", "-m", "-json", "-versions", "-retracted", req.Path)
		if err != nil {
			return nil, err
		}
		var b strings.Builder
		for _, v := range m.Versions {
			b.WriteString(v + "\n")
		}
		return io.NopCloser(strings.NewReader(b.String())), nil
	case proxypath.Latest, proxypath.Query:
		query := "latest"
		if req.Kind == proxypath.Query {
			query = req.Version
		}
		m, err := d.goJSON(ctx, req, "list", "-m", "-json", req.Path+"@"+query)
		if err != nil {
			return nil, err
		}
		return infoBody(m)
	case proxypath.Info, proxypath.Mod:
		// "go list -m" resolves the version and writes its .info and .mod
		// to the module cache without downloading the zip.
		m, err := d.goJSON(ctx, req, "list", "-m", "-json", req.Path+"@"+req.Version)
		if err != nil {
			return nil, err
		}
		if m.Version != req.Version {
			return nil, &notFoundError{reason: fmt.Sprintf("not found: %s resolves to %s", req.Subject(), m.Version)}
		}
		f, err := os.Open(filepath.Join(d.modCache, "cache", "download", filepath.FromSlash(req.Escaped)))
		if err == nil {
			return f, nil
		}
		if req.Kind == proxypath.Info {
			return infoBody(m)
		}
		m, err = d.goJSON(ctx, req, "mod", "download", "-json", req.Path+"@"+req.Version)
		if err != nil {
			return nil, err
		}
		return d.open(req, m.GoMod)
	default: // proxypath.Zip
		m, err := d.goJSON(ctx, req, "mod", "download", "-json", req.Path+"@"+req.Version)
		if err != nil {
			return nil, err
		}
		return d.open(req, m.Zip)
	}
}

// open opens a file the go command reported.
func (d *direct) open(req proxypath.Name, file string) (io.ReadCloser, error) {
	if file == "" {
		return nil, fmt.Errorf("direct: %s: the go command reported no %s file", req.Subject(), req.Ext)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("direct: %s: %s", req.Subject(), d.scrub(err.Error()))
	}
	return f, nil
}

// infoBody encodes m's version, time and origin as a .info answer.
func infoBody(m *goModule) (io.ReadCloser, error) {
	b, err := json.Marshal(info{Version: m.Version, Time: m.Time, Origin: m.Origin})
	if err != nil {
		return nil, fmt.Errorf("direct: encoding info for %s@%s: %w", m.Path, m.Version, err)
	}
	return io.NopCloser(bytes.NewReader(append(b, '\n'))), nil
}

// goJSON runs the go command and decodes its -json output. Failures the go
// command describes as "not found" give a notFoundError with its one-line
// reason; others a plain error naming direct and the cause.
func (d *direct) goJSON(ctx context.Context, req proxypath.Name, args ...string) (*goModule, error) {
	stdout, stderr, runErr := d.run(ctx, args...)
	var m goModule
	decodeErr := json.NewDecoder(bytes.NewReader(stdout)).Decode(&m)
	msg := ""
	if decodeErr == nil {
		msg = errorText(m.Error)
	}
	if msg == "" && runErr != nil {
		msg = goErrorLine(stderr)
		if msg == "" {
			msg = runErr.Error()
		}
	}
	if msg == "" && decodeErr != nil {
		msg = "reading go command output: " + decodeErr.Error()
	}
	if msg == "" {
		return &m, nil
	}
	if cause := context.Cause(ctx); cause != nil {
		return nil, fmt.Errorf("direct: %s: %w", req.Subject(), cause)
	}
	msg = cleanReason(d.scrub(msg))
	if isNotFound(msg) {
		if !strings.HasPrefix(msg, "not found") {
			msg = "not found: " + msg
		}
		return nil, &notFoundError{reason: msg}
	}
	d.logger.DebugContext(ctx, "direct fetch failed", "name", req.Escaped, "args", args, "stderr", d.scrub(stderr))
	return nil, fmt.Errorf("direct: %s", msg)
}

// errorText returns the message of the go command's JSON Error field.
func errorText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return oneLine(s)
	}
	var e struct{ Err string }
	if json.Unmarshal(raw, &e) == nil {
		return oneLine(e.Err)
	}
	return string(raw)
}

// goErrorLine picks the go command's error out of its stderr: the first
// "go: " line that is not progress, with its indented continuation lines.
func goErrorLine(stderr string) string {
	lines := strings.Split(stderr, "\n")
	for i, line := range lines {
		msg, ok := strings.CutPrefix(line, "go: ")
		if !ok || strings.HasPrefix(msg, "downloading ") || strings.HasPrefix(msg, "finding ") || strings.HasPrefix(msg, "extracting ") {
			continue
		}
		for _, next := range lines[i+1:] {
			if next == "" || (next[0] != '\t' && next[0] != ' ') {
				break
			}
			msg += " " + strings.TrimSpace(next)
		}
		return msg
	}
	return oneLine(stderr)
}

// oneLine joins the lines of s with spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// isNotFound reports whether a go command error means that the module or
// version does not exist.
func isNotFound(msg string) bool {
	msg = strings.ToLower(msg)
	if strings.Contains(msg, "executable file not found") || strings.Contains(msg, "command not found") {
		return false // a broken installation, not a missing module
	}
	for _, p := range [...]string{
		"not found",
		"unknown revision",
		"no matching versions",
		"invalid version",
		"no secure protocol found",
		"404 ",
		"410 gone",
	} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// scrub replaces the isolated directories' paths in a message, so that
// users see no paths of the server.
func (d *direct) scrub(msg string) string {
	msg = strings.ReplaceAll(msg, d.modCache, "$GOMODCACHE")
	return strings.ReplaceAll(msg, d.workDir, "$WORKDIR")
}

// run runs the go command with args in an empty directory and returns its
// stdout and (bounded) stderr.
func (d *direct) run(ctx context.Context, args ...string) (stdout []byte, stderr string, err error) {
	select {
	case d.sem <- struct{}{}:
		defer func() { <-d.sem }()
	case <-ctx.Done():
		return nil, "", context.Cause(ctx)
	}
	dir, err := os.MkdirTemp(d.tmpDir, "run-")
	if err != nil {
		return nil, "", err
	}
	defer os.RemoveAll(dir)

	var out bytes.Buffer
	errBuf := &limitedBuffer{max: maxStderr}
	cmd := exec.CommandContext(ctx, d.goCmd, args...)
	cmd.Dir = dir
	cmd.Env = d.env
	cmd.Stdout = &out
	cmd.Stderr = errBuf
	cmd.Cancel = func() error {
		// Let the go command stop its git subprocesses and release locks.
		if runtime.GOOS == "windows" {
			return cmd.Process.Kill()
		}
		return cmd.Process.Signal(os.Interrupt)
	}
	cmd.WaitDelay = waitDelay
	start := time.Now()
	err = cmd.Run()
	d.logger.DebugContext(ctx, "direct: ran go", "args", args, "duration", time.Since(start), "err", err)
	return out.Bytes(), errBuf.String(), err
}

// limitedBuffer keeps the first max bytes written to it and discards the
// rest.
type limitedBuffer struct {
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string { return b.buf.String() }

var _ io.Writer = (*limitedBuffer)(nil)
