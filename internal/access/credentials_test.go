package access

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func bcryptLine(t testing.TB, user, pass string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return user + ":" + string(h) + "\n"
}

func TestParseHtpasswd(t *testing.T) {
	good := bcryptLine(t, "alice", "pw")
	users, err := ParseHtpasswd([]byte("# users\n\n" + good + strings.Replace(bcryptLine(t, "bob", "pw2"), "$2a$", "$2y$", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 || users["alice"] == nil || users["bob"] == nil {
		t.Errorf("got users %v", users)
	}
	tests := []struct{ name, file, want string }{
		{"apr1", good + "carol:$apr1$abcdefgh$0123456789abcdefghijk.\n", "line 2: user \"carol\": hash is MD5 ($apr1$), not bcrypt: make it with htpasswd -B"},
		{"sha", "dave:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=\n", "line 1: user \"dave\": hash is SHA-1 ({SHA}), not bcrypt"},
		{"crypt", "erin:abJnggxhB/yWI\n", "line 1: user \"erin\": hash is crypt or plain text, not bcrypt"},
		{"sha512 crypt", "f:$6$salt$hash\n", "line 1: user \"f\": hash is crypt ($6$), not bcrypt"},
		{"empty hash", "g:\n", "line 1: user \"g\": hash is empty"},
		{"broken bcrypt", "h:$2y$10$short\n", "line 1: user \"h\": bad bcrypt hash"},
		{"no colon", "justaname\n", "line 1: want user:hash"},
		{"empty user", ":" + strings.SplitN(good, ":", 2)[1], "line 1: bad user name"},
		{"twice", good + good, "line 2: user \"alice\" given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseHtpasswd([]byte(tt.file))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("got %v, want an error starting %q", err, tt.want)
			}
		})
	}
}

func TestParseTokens(t *testing.T) {
	file := "# tokens\nci " + HashToken("tok1") + " ci,readers\n\nbob " + HashToken("tok2") + "\n"
	toks, err := ParseTokens([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) != 2 {
		t.Fatalf("got %d tokens, want 2", len(toks))
	}
	for _, tk := range toks {
		if tk.User == "ci" && strings.Join(tk.Groups, ",") != "ci,readers" {
			t.Errorf("ci's groups: got %v", tk.Groups)
		}
	}
	tests := []struct{ name, file, want string }{
		{"plain token", "ci gm_plaintext\n", "line 1: user \"ci\": want sha256:HEX, the sha256 of the token, not the token itself"},
		{"short hash", "ci sha256:abcd\n", "line 1: user \"ci\": sha256 is not 64 hex digits"},
		{"no hash", "ci\n", "line 1: want USER sha256:HEX"},
		{"too many fields", "ci " + HashToken("x") + " a b\n", "line 1: want USER"},
		{"bad groups", "ci " + HashToken("x") + " a,,b\n", "line 1: user \"ci\": bad group list"},
		{"twice", "a " + HashToken("x") + "\nb " + HashToken("x") + "\n", "line 2: user \"b\": token listed twice"},
		{"colon in user", "a:b " + HashToken("x") + "\n", "line 1: bad user name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTokens([]byte(tt.file))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("got %v, want an error starting %q", err, tt.want)
			}
		})
	}
}

func FuzzParseHtpasswd(f *testing.F) {
	f.Add([]byte(bcryptLine(f, "alice", "pw")))
	f.Add([]byte("a:$apr1$x$y\n"))
	f.Add([]byte("# c\n\r\n:x\n"))
	f.Add([]byte("a:$2y$04$aaaaaaaaaaaaaaaaaaaaaa\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		users, err := ParseHtpasswd(data)
		if err != nil {
			return
		}
		for u, h := range users {
			if u == "" || strings.ContainsAny(u, ":\n") || hashKind(string(h)) != "bcrypt" {
				t.Errorf("accepted user %q with hash %q", u, h)
			}
		}
	})
}

func FuzzParseTokens(f *testing.F) {
	f.Add([]byte("ci " + HashToken("t") + " a,b\n"))
	f.Add([]byte("ci sha256:zz\n"))
	f.Add([]byte("#\n\n x y z w\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		toks, err := ParseTokens(data)
		if err != nil {
			return
		}
		for sum, tk := range toks {
			if sum != tk.Sum || tk.User == "" || strings.ContainsAny(tk.User, ": \n") {
				t.Errorf("accepted %+v", tk)
			}
		}
	})
}

// clock is a settable time for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1_800_000_000, 0)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// writeFile writes data to file with a modification time of mod.
func writeFile(t *testing.T, file, data string, mod time.Time) {
	t.Helper()
	if err := os.WriteFile(file, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(file, mod, mod); err != nil {
		t.Fatal(err)
	}
}

func TestAuthenticator(t *testing.T) {
	dir := t.TempDir()
	pw, tk := filepath.Join(dir, "htpasswd"), filepath.Join(dir, "tokens")
	mod := time.Now().Add(-time.Hour)
	writeFile(t, pw, bcryptLine(t, "alice", "wonderland"), mod)
	writeFile(t, tk, "ci "+HashToken("gm_ci")+" builders\n", mod)
	clk := newClock()
	var logs bytes.Buffer
	a, err := NewAuthenticator(AuthenticatorConfig{Htpasswd: pw, Tokens: tk, Interval: time.Second, Now: clk.now,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	check := func(c Credential) string {
		user, groups, method, ok := a.Check(c)
		if !ok {
			return "refused"
		}
		return user + "/" + strings.Join(groups, ",") + "/" + method
	}
	tests := []struct {
		name string
		c    Credential
		want string
	}{
		{"password", Credential{"basic", "alice", "wonderland"}, "alice//password"},
		{"password again, remembered", Credential{"basic", "alice", "wonderland"}, "alice//password"},
		{"wrong password", Credential{"basic", "alice", "wonderlan"}, "refused"},
		{"unknown user", Credential{"basic", "mallory", "wonderland"}, "refused"},
		{"bearer token", Credential{"bearer", "", "gm_ci"}, "ci/builders/token"},
		{"token as the Basic password", Credential{"basic", "anything", "gm_ci"}, "ci/builders/token"},
		{"wrong token", Credential{"bearer", "", "gm_cj"}, "refused"},
		{"hash as token", Credential{"bearer", "", HashToken("gm_ci")}, "refused"},
		{"empty", Credential{"basic", "", ""}, "refused"},
	}
	for _, tt := range tests {
		if got := check(tt.c); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}

	// Changes are picked up after the interval; a bad change keeps the
	// last good file.
	writeFile(t, pw, bcryptLine(t, "alice", "looking-glass"), mod.Add(time.Second))
	writeFile(t, tk, "ci "+HashToken("gm_ci2")+"\n", mod.Add(time.Second))
	if got := check(Credential{"basic", "alice", "looking-glass"}); got != "refused" {
		t.Errorf("new password before the interval: got %s, want refused", got)
	}
	clk.add(2 * time.Second)
	if got := check(Credential{"basic", "alice", "looking-glass"}); got != "alice//password" {
		t.Errorf("new password after the interval: got %s", got)
	}
	if got := check(Credential{"basic", "alice", "wonderland"}); got != "refused" {
		t.Errorf("old, remembered password after a change: got %s, want refused", got)
	}
	if got := check(Credential{"bearer", "", "gm_ci"}); got != "refused" {
		t.Errorf("revoked token: got %s, want refused", got)
	}
	writeFile(t, pw, "alice:$apr1$x$y\n", mod.Add(2*time.Second))
	clk.add(2 * time.Second)
	if got := check(Credential{"basic", "alice", "looking-glass"}); got != "alice//password" {
		t.Errorf("after a bad change: got %s, want the last good file", got)
	}
	if !strings.Contains(logs.String(), "keeping the last good copy") || strings.Contains(logs.String(), "looking-glass") {
		t.Errorf("log of a bad change:\n%s", logs.String())
	}

	if _, err := NewAuthenticator(AuthenticatorConfig{Htpasswd: filepath.Join(dir, "missing")}); err == nil {
		t.Error("a missing htpasswd file: got no error")
	}
	writeFile(t, pw, "bob:plain\n", mod)
	if _, err := NewAuthenticator(AuthenticatorConfig{Htpasswd: pw}); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("a bad htpasswd file: got %v, want an error naming the line", err)
	}
}

// TestTokenAsPasswordCostsNoBcrypt checks that a token sent as a Basic
// password, as `gomirror use --token-file` writes it to .netrc, is
// checked as cheaply as a bearer token: no bcrypt comparison.
func TestTokenAsPasswordCostsNoBcrypt(t *testing.T) {
	dir := t.TempDir()
	pw, tk := filepath.Join(dir, "htpasswd"), filepath.Join(dir, "tokens")
	mod := time.Now().Add(-time.Hour)
	writeFile(t, pw, bcryptLine(t, "alice", "wonderland"), mod)
	writeFile(t, tk, "ci "+HashToken("gm_ci")+"\n", mod)
	a, err := NewAuthenticator(AuthenticatorConfig{Htpasswd: pw, Tokens: tk})
	if err != nil {
		t.Fatal(err)
	}
	var calls int
	a.compare = func(hash, pass []byte) error { calls++; return bcrypt.CompareHashAndPassword(hash, pass) }
	for _, c := range []Credential{{"basic", "ci", "gm_ci"}, {"basic", "alice", "gm_ci"}, {"basic", "x", "gm_ci"}, {"bearer", "", "gm_ci"}} {
		for range 3 {
			if user, _, _, ok := a.Check(c); !ok || user != "ci" {
				t.Errorf("Check(%s %s): got %q, %v; want ci", c.Scheme, c.User, user, ok)
			}
		}
	}
	if calls != 0 {
		t.Errorf("tokens sent as Basic passwords: got %d bcrypt comparisons, want 0", calls)
	}
	// A password is compared once, then remembered.
	for range 3 {
		a.Check(Credential{"basic", "alice", "wonderland"})
	}
	if calls != 1 {
		t.Errorf("a password checked 3 times: got %d bcrypt comparisons, want 1", calls)
	}
}

// TestRemovedFileRevokes checks that removing a tokens or htpasswd file
// revokes every credential it held, and says so in the log.
func TestRemovedFileRevokes(t *testing.T) {
	dir := t.TempDir()
	pw, tk := filepath.Join(dir, "htpasswd"), filepath.Join(dir, "tokens")
	mod := time.Now().Add(-time.Hour)
	writeFile(t, pw, bcryptLine(t, "alice", "wonderland"), mod)
	writeFile(t, tk, "ci "+HashToken("gm_ci")+"\n", mod)
	clk := newClock()
	var logs bytes.Buffer
	a, err := NewAuthenticator(AuthenticatorConfig{Htpasswd: pw, Tokens: tk, Interval: time.Second, Now: clk.now,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	creds := []Credential{{"basic", "alice", "wonderland"}, {"bearer", "", "gm_ci"}, {"basic", "ci", "gm_ci"}}
	for _, c := range creds {
		if _, _, _, ok := a.Check(c); !ok {
			t.Fatalf("Check(%s %s) before the removal: refused", c.Scheme, c.User)
		}
	}
	os.Remove(pw)
	os.Remove(tk)
	clk.add(2 * time.Second)
	for _, c := range creds {
		if user, _, _, ok := a.Check(c); ok {
			t.Errorf("Check(%s %s) after the files were removed: got %q, want refused", c.Scheme, c.User, user)
		}
	}
	if got := strings.Count(logs.String(), "revoked"); got != 2 {
		t.Errorf("log: got %d lines saying what was revoked, want 2:\n%s", got, logs.String())
	}
	// A file put back is read again.
	writeFile(t, tk, "ci "+HashToken("gm_ci")+"\n", mod.Add(time.Minute))
	clk.add(2 * time.Second)
	if _, _, _, ok := a.Check(Credential{"bearer", "", "gm_ci"}); !ok {
		t.Error("a token after its file was put back: refused")
	}
}

// TestEmptyPasswordRefused checks that an htpasswd entry whose hash is
// that of the empty password is refused at load, with a log line, and
// that an empty password never signs in.
func TestEmptyPasswordRefused(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "htpasswd")
	writeFile(t, pw, bcryptLine(t, "alice", "wonderland")+bcryptLine(t, "eve", ""), time.Now().Add(-time.Hour))
	var logs bytes.Buffer
	a, err := NewAuthenticator(AuthenticatorConfig{Htpasswd: pw, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Users(); len(got) != 1 || got[0] != "alice" {
		t.Errorf("users: got %v, want [alice]", got)
	}
	if !strings.Contains(logs.String(), "password is empty") || !strings.Contains(logs.String(), "user=eve") {
		t.Errorf("log: got %q, want a line naming eve", logs.String())
	}
	for _, c := range []Credential{{"basic", "eve", ""}, {"basic", "alice", ""}, {"bearer", "", ""}} {
		if user, _, _, ok := a.Check(c); ok {
			t.Errorf("Check(%s %q, empty password): got %q, want refused", c.Scheme, c.User, user)
		}
	}
	if user, _, _, ok := a.Check(Credential{"basic", "alice", "wonderland"}); !ok || user != "alice" {
		t.Errorf("alice: got %q, %v; want signed in", user, ok)
	}
}
