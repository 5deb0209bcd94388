package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

const directModule = "example.com/team/lib.git"

// gitRepo creates a git repository holding module directModule with tags
// v1.0.0, v1.1.0 and v1.2.0 (which retracts itself) on main, and one more
// commit after v1.1.0 on branch "dev". It
// returns a base environment in which the go command finds the repository
// at https://example.com/team/lib without any network. It skips the test
// when git is not installed.
func gitRepo(t *testing.T) []string {
	t.Helper()
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed; direct fetches need it")
	}
	home := t.TempDir()
	repo := filepath.Join(t.TempDir(), "lib")
	gitConfig := filepath.Join(home, "gitconfig")
	config := "[url \"file://" + filepath.ToSlash(repo) + "\"]\n\tinsteadOf = https://example.com/team/lib\n" +
		"[protocol \"file\"]\n\tallow = always\n" +
		"[user]\n\tname = gomirror test\n\temail = test@gomirror.invalid\n" +
		"[init]\n\tdefaultBranch = main\n"
	if err := os.WriteFile(gitConfig, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"GIT_CONFIG_GLOBAL=" + gitConfig,
		"GIT_CONFIG_NOSYSTEM=1",
	}
	date := "2024-01-02T03:04:05Z"
	gitEnv := append(env, "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date)
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command(gitBin, args...)
		cmd.Dir = repo
		cmd.Env = gitEnv
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(repo, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	git("init", "-q")
	write("go.mod", "module "+directModule+"\n\ngo 1.21\n")
	write("lib.go", "package lib\n\nconst X = 1\n")
	git("add", ".")
	git("commit", "-q", "-m", "first")
	git("tag", "v1.0.0")
	write("lib.go", "package lib\n\nconst X = 2\n")
	git("commit", "-q", "-a", "-m", "second")
	git("tag", "v1.1.0")
	git("checkout", "-q", "-b", "dev")
	write("lib.go", "package lib\n\nconst X = 3\n")
	git("commit", "-q", "-a", "-m", "dev")
	git("checkout", "-q", "main")
	write("go.mod", "module "+directModule+"\n\ngo 1.21\n\nretract v1.2.0 // published by mistake\n")
	git("commit", "-q", "-a", "-m", "retract")
	git("tag", "v1.2.0")
	return env
}

func TestDirect(t *testing.T) {
	env := gitRepo(t)
	work := t.TempDir()
	u := newTest(t, Config{Proxy: "direct", WorkDir: work, Env: env, Private: "example.com/team"})
	esc, err := module.EscapePath(directModule)
	if err != nil {
		t.Fatal(err)
	}
	downloads := filepath.Join(work, "modcache", "cache", "download", filepath.FromSlash(esc), "@v")
	zips := func() []string {
		m, _ := filepath.Glob(filepath.Join(downloads, "*.zip"))
		return m
	}
	fetch := func(t *testing.T, name string) []byte {
		t.Helper()
		body, err := u.Fetch(t.Context(), esc+name)
		if err != nil {
			t.Fatalf("Fetch(%q): got error %v, want none", esc+name, err)
		}
		return readAll(t, body)
	}
	info := func(t *testing.T, b []byte) (version string, origin map[string]string) {
		t.Helper()
		var i struct {
			Version string
			Time    string
			Origin  map[string]string
		}
		if err := json.Unmarshal(b, &i); err != nil {
			t.Fatalf("decoding info %q: %v", b, err)
		}
		if i.Time != "2024-01-02T03:04:05Z" {
			t.Errorf("info %q: got Time %q, want %q", b, i.Time, "2024-01-02T03:04:05Z")
		}
		return i.Version, i.Origin
	}

	t.Run("list", func(t *testing.T) {
		// Retracted versions stay listed; the go command filters them.
		if got, want := string(fetch(t, "/@v/list")), "v1.0.0\nv1.1.0\nv1.2.0\n"; got != want {
			t.Errorf("list: got %q, want %q", got, want)
		}
	})
	t.Run("info", func(t *testing.T) {
		if v, _ := info(t, fetch(t, "/@v/v1.0.0.info")); v != "v1.0.0" {
			t.Errorf("info: got version %q, want v1.0.0", v)
		}
	})
	t.Run("mod", func(t *testing.T) {
		if got, want := string(fetch(t, "/@v/v1.1.0.mod")), "module "+directModule+"\n\ngo 1.21\n"; got != want {
			t.Errorf("mod: got %q, want %q", got, want)
		}
	})
	t.Run("info and mod leave no zip", func(t *testing.T) {
		if z := zips(); len(z) != 0 {
			t.Errorf("isolated cache after .info and .mod fetches: got zips %q, want none", z)
		}
	})
	t.Run("latest", func(t *testing.T) {
		v, origin := info(t, fetch(t, "/@latest"))
		if v != "v1.1.0" {
			t.Errorf("@latest: got version %q, want v1.1.0 (v1.2.0 is retracted)", v)
		}
		if origin["VCS"] != "git" || origin["Ref"] != "refs/tags/v1.1.0" {
			t.Errorf("@latest: got Origin %v, want git refs/tags/v1.1.0", origin)
		}
	})
	t.Run("query branch", func(t *testing.T) {
		v, origin := info(t, fetch(t, "/@v/dev.info"))
		if !strings.HasPrefix(v, "v1.1.1-0.20240102030405-") {
			t.Errorf("query dev: got version %q, want a pseudo-version v1.1.1-0.20240102030405-...", v)
		}
		if origin["Ref"] != "refs/heads/dev" {
			t.Errorf("query dev: got Origin %v, want Ref refs/heads/dev", origin)
		}
	})
	t.Run("zip", func(t *testing.T) {
		b := fetch(t, "/@v/v1.0.0.zip")
		file := filepath.Join(t.TempDir(), "m.zip")
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
		cf, err := modzip.CheckZip(module.Version{Path: directModule, Version: "v1.0.0"}, file)
		if err != nil {
			t.Fatalf("zip: CheckZip: %v", err)
		}
		if len(cf.Valid) != 2 {
			t.Errorf("zip: got files %q, want go.mod and lib.go", cf.Valid)
		}
	})
	for _, name := range []string{"/@v/v1.9.9.info", "/@v/v1.9.9.mod", "/@v/v1.9.9.zip", "/@v/v9.9.9.info", "/@v/nosuchbranch.info"} {
		t.Run("not found "+name, func(t *testing.T) {
			_, err := u.Fetch(t.Context(), esc+name)
			if !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("Fetch(%q): got error %v, want one matching fs.ErrNotExist", esc+name, err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "not found: ") || !strings.Contains(msg, "unknown revision") || strings.Contains(msg, "\n") {
				t.Errorf("Fetch(%q): got message %q, want one line starting \"not found: \" and saying \"unknown revision\"", esc+name, msg)
			}
			if strings.Contains(msg, work) {
				t.Errorf("Fetch(%q): message %q shows the server's work directory", esc+name, msg)
			}
		})
	}
}

// TestDirectPrivate checks that modules matching Private are fetched only
// directly, never from a proxy, and that other modules still go to it.
func TestDirectPrivate(t *testing.T) {
	env := gitRepo(t)
	other := newTestModule(t, "example.com/public", "v1.0.0")
	p := newFakeProxy(t, other)
	u := newTest(t, Config{Proxy: p.URL + ",off", WorkDir: t.TempDir(), Env: env, Private: "example.com/team"})

	body, err := u.Fetch(t.Context(), directModule+"/@v/list")
	if err != nil {
		t.Fatalf("Fetch of a private module: got error %v, want none", err)
	}
	if got, want := string(readAll(t, body)), "v1.0.0\nv1.1.0\nv1.2.0\n"; got != want {
		t.Errorf("Fetch of a private module: got %q, want %q", got, want)
	}
	if got := p.requests(); got != 0 {
		t.Errorf("proxy: got %d requests for a private module, want 0", got)
	}
	// Private patterns are matched ignoring case, as access control
	// matches them: a module path in another case never reaches a proxy.
	u2 := newTest(t, Config{Proxy: p.URL + ",off", WorkDir: t.TempDir(), Env: env, Private: "Example.com/TEAM"})
	if body, err := u2.Fetch(t.Context(), directModule+"/@v/list"); err == nil {
		body.Close()
	}
	if body, err := u.Fetch(t.Context(), "example.com/!t!e!a!m/x/@v/list"); err == nil {
		body.Close()
	}
	if got := p.requests(); got != 0 {
		t.Errorf("proxy: got %d requests for a private module given in another case, want 0", got)
	}

	body, err = u.Fetch(t.Context(), "example.com/public/@v/v1.0.0.mod")
	if err != nil {
		t.Fatalf("Fetch of a public module: got error %v, want none", err)
	}
	if got := readAll(t, body); !bytes.Equal(got, other.mod) {
		t.Errorf("Fetch of a public module: got %q, want %q", got, other.mod)
	}
	if got := p.requests(); got != 1 {
		t.Errorf("proxy: got %d requests for a public module, want 1", got)
	}
}

func TestGoErrorLine(t *testing.T) {
	tests := []struct{ stderr, want string }{
		{"go: example.com/m@v9.9.9: invalid version: unknown revision v9.9.9\n",
			"example.com/m@v9.9.9: invalid version: unknown revision v9.9.9"},
		{"go: downloading example.com/m v1.0.0\ngo: example.com/m@v1.0.0: git ls-remote -q origin in /w/x: exit status 128:\n\tfatal: repository not found\n\tmore\nother\n",
			"example.com/m@v1.0.0: git ls-remote -q origin in /w/x: exit status 128: fatal: repository not found more"},
		{"panic: something\n\tgoroutine 1\n", "panic: something goroutine 1"},
	}
	for _, tt := range tests {
		if got := goErrorLine(tt.stderr); got != tt.want {
			t.Errorf("goErrorLine(%q): got %q, want %q", tt.stderr, got, tt.want)
		}
	}
}

func TestIsNotFound(t *testing.T) {
	tests := []struct {
		msg  string
		want bool
	}{
		{"example.com/m@v9.9.9: invalid version: unknown revision v9.9.9", true},
		{"example.com/m@upgrade: no matching versions for query \"upgrade\"", true},
		{"reading https://x/m/@v/list: 404 Not Found", true},
		{"module example.com/m: git ls-remote: fatal: repository 'https://x/' not found", true},
		{"example.com/m@v1.0.0: no secure protocol found for repository", true},
		{"git: exec: \"git\": executable file not found in $PATH", false},
		{"example.com/m@v1.0.0: GOVCS disallows using git for private example.com/m", false},
		{"dial tcp: lookup example.com: no such host", false},
	}
	for _, tt := range tests {
		if got := isNotFound(tt.msg); got != tt.want {
			t.Errorf("isNotFound(%q): got %v, want %v", tt.msg, got, tt.want)
		}
	}
}

// fakeGo writes a shell script standing in for the go command. It skips
// the test where there is no POSIX shell.
func fakeGo(t *testing.T, script string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("fake go command needs a POSIX shell")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("fake go command needs sh, which is not installed")
	}
	file := filepath.Join(t.TempDir(), "go")
	if err := os.WriteFile(file, []byte("#!"+sh+"\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestDirectGoCommand(t *testing.T) {
	tests := []struct {
		name    string
		script  string
		wantIs  error
		wantMsg string // exact message, or substring for plain errors
		timeout time.Duration
	}{
		{
			name:    "unknown revision",
			script:  "echo 'go: example.com/m@v1.0.0: invalid version: unknown revision v1.0.0' >&2; exit 1\n",
			wantIs:  fs.ErrNotExist,
			wantMsg: "not found: example.com/m@v1.0.0: invalid version: unknown revision v1.0.0",
		},
		{
			name: "JSON error",
			script: `printf '%s\n' '{"Path": "example.com/m", "Error": "example.com/m@v1.0.0: reading https://x/@v/v1.0.0.zip: 404 Not Found\n\tserver response: gone"}'` +
				"\nexit 1\n",
			wantIs:  fs.ErrNotExist,
			wantMsg: "not found: example.com/m@v1.0.0: reading https://x/@v/v1.0.0.zip: 404 Not Found server response: gone",
		},
		{
			name: "failure hides paths",
			script: `echo "go: example.com/m@v1.0.0: git fetch in $GOMODCACHE/cache/vcs/abc: exit status 128:" >&2` + "\n" +
				`printf '\tfatal: unable to access: Could not resolve host\n' >&2; exit 1` + "\n",
			wantMsg: "direct: example.com/m@v1.0.0: git fetch in $GOMODCACHE/cache/vcs/abc: exit status 128: fatal: unable to access: Could not resolve host",
		},
		{
			name:    "bad output",
			script:  "echo 'not json'\n",
			wantMsg: "reading go command output",
		},
		{
			name:    "hung",
			script:  "exec sleep 60\n",
			wantIs:  context.DeadlineExceeded,
			wantMsg: "direct: example.com/m@v1.0.0",
			timeout: 100 * time.Millisecond,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			work := t.TempDir()
			u := newTest(t, Config{Proxy: "direct", WorkDir: work, GoCommand: fakeGo(t, tt.script), Timeout: tt.timeout})
			_, err := u.Fetch(t.Context(), "example.com/m/@v/v1.0.0.zip")
			if err == nil {
				t.Fatal("Fetch: got no error, want one")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Fetch: got error %v, want one matching %v", err, tt.wantIs)
			}
			if tt.wantIs == nil && errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Fetch: got error %v matching fs.ErrNotExist, want a plain error", err)
			}
			if errors.Is(tt.wantIs, fs.ErrNotExist) {
				if err.Error() != tt.wantMsg {
					t.Errorf("Fetch: got message %q, want %q", err, tt.wantMsg)
				}
			} else if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Fetch: got error %q, want it to contain %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), work) {
				t.Errorf("Fetch: error %q shows the server's work directory", err)
			}
		})
	}
}

// TestDirectEnv checks the environment the go command runs in.
func TestDirectEnv(t *testing.T) {
	out := filepath.Join(t.TempDir(), "env")
	goCmd := fakeGo(t, "env > '"+out+"'; pwd >> '"+out+"'; ls -A >> '"+out+"'\necho '{\"Path\":\"example.com/m\",\"Versions\":[\"v1.0.0\"]}'\n")
	work := t.TempDir()
	u := newTest(t, Config{
		Proxy:     "direct",
		Private:   "example.com/private",
		WorkDir:   work,
		GoCommand: goCmd,
		Env:       []string{"GOPROXY=https://leak.example", "GOFLAGS=-mod=vendor", "GIT_SSH_COMMAND=ssh -i key", "GOAUTH=netrc", "GOVCS=*:git"},
	})
	body, err := u.Fetch(t.Context(), "example.com/m/@v/list")
	if err != nil {
		t.Fatalf("Fetch: got error %v, want none", err)
	}
	if got := string(readAll(t, body)); got != "v1.0.0\n" {
		t.Errorf("Fetch: got %q, want %q", got, "v1.0.0\n")
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for _, want := range []string{
		"GOPROXY=direct", "GOSUMDB=off", "GOFLAGS=-modcacherw", "GOTOOLCHAIN=local", "GO111MODULE=on",
		"GOPRIVATE=example.com/private", "GOWORK=off",
		"GOPATH=" + filepath.Join(work, "gopath"), "GOMODCACHE=" + filepath.Join(work, "modcache"),
		"GIT_SSH_COMMAND=ssh -i key", "GOAUTH=netrc", "GOVCS=*:git",
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("go command environment: missing %q in %q", want, lines)
		}
	}
	if slices.Contains(lines, "GOPROXY=https://leak.example") {
		t.Errorf("go command environment: the base GOPROXY leaked through")
	}
	dir := lines[len(lines)-1] // pwd, then nothing from ls: the directory is empty
	if !strings.HasPrefix(dir, filepath.Join(work, "tmp")) {
		t.Errorf("go command ran in %q, want an empty directory under %q", dir, filepath.Join(work, "tmp"))
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("go command's working directory %q: got %v after the fetch, want it removed", dir, err)
	}
}
