package redact

import (
	"bytes"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "https://proxy.golang.org", "https://proxy.golang.org"},
		{"password", "https://user:s3cret@pypi.corp/simple/", "https://user:xxxxx@pypi.corp/simple/"},
		{"token as user", "https://s3cret@npm.corp/", "https://xxxxx@npm.corp/"},
		{"query token", "https://r.corp/simple/?token=s3cret&x=1", "https://r.corp/simple/?token=xxxxx&x=1"},
		{"query case", "https://r.corp/?Access_Token=s3cret", "https://r.corp/?Access_Token=xxxxx"},
		{"goproxy list", "https://a:s3cret@p.corp,https://proxy.golang.org|direct", "https://a:xxxxx@p.corp,https://proxy.golang.org|direct"},
		{"pairs", "ghcr.io=https://u:s3cret@ghcr.io,quay.io=https://quay.io", "ghcr.io=https://u:xxxxx@ghcr.io,quay.io=https://quay.io"},
		{"error text", `upstream: GET http://user:s3cret@127.0.0.1:1/simple/x/: refused`, `upstream: GET http://user:xxxxx@127.0.0.1:1/simple/x/: refused`},
		{"unparsable", "http://u:s3cret@[::1/x?token=s3cret", "http://xxxxx@[::1/x?token=xxxxx"},
		{"goproxy list with a token", "https://proxy.example/?token=s3cret|off", "https://proxy.example/?token=xxxxx|off"},
		{"no url", "direct", "direct"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := String(tt.in)
			if got != tt.want {
				t.Errorf("String(%q): got %q, want %q", tt.in, got, tt.want)
			}
			if strings.Contains(got, "s3cret") {
				t.Errorf("String(%q) = %q still holds the secret", tt.in, got)
			}
		})
	}
}

func TestURL(t *testing.T) {
	u, _ := url.Parse("https://user:pw@host/p?sig=abc&a=b")
	if got, want := URL(u), "https://user:xxxxx@host/p?sig=xxxxx&a=b"; got != want {
		t.Errorf("URL: got %q, want %q", got, want)
	}
	if got := URL(nil); got != "" {
		t.Errorf("URL(nil): got %q, want empty", got)
	}
}

// FuzzString checks that no password of a URL with a scheme survives
// redaction, wherever it stands in the text.
func FuzzString(f *testing.F) {
	for _, s := range []string{"https://u:p@h/", "x http://a:b@c,d://e:f@g|h", "s://:@", "://@@", "http://u:pw@h?token=t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := String(s)
		for _, field := range strings.FieldsFunc(got, func(r rune) bool { return r < 0x80 && urlEnd(byte(r)) }) {
			u, err := url.Parse(field)
			if err != nil || u.Scheme == "" || u.User == nil {
				continue
			}
			if pw, ok := u.User.Password(); ok && pw != "" && pw != "xxxxx" {
				t.Errorf("String(%q) = %q keeps password %q", s, got, pw)
			}
		}
	})
}

func TestAttr(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: Attr}))
	u, _ := url.Parse("https://u:s3cret@host/")
	log.Info("serving https://u:s3cret@host/", "upstream", "https://u:s3cret@host/", "err", errors.New("GET https://u:s3cret@host/: refused"), "url", u, "n", 1)
	if got := buf.String(); strings.Contains(got, "s3cret") || !strings.Contains(got, "u:xxxxx@host") {
		t.Errorf("log line: got %q, want every password redacted", got)
	}
}

func TestBare(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://user:secret@example.com/simple/", "https://example.com/simple/"},
		{"https://token@example.com/simple/", "https://example.com/simple/"},
		{"https://example.com/x?token=abc&n=1", "https://example.com/x?token=xxxxx&n=1"},
		{"https://s3.example/b?X-Amz-Signature=abc&X-Amz-Credential=k", "https://s3.example/b?X-Amz-Signature=xxxxx&X-Amz-Credential=xxxxx"},
		{"https://example.com/x?access_token=abc", "https://example.com/x?access_token=xxxxx"},
		{"https://example.com/x?a=1;client_secret=abc", "https://example.com/x?a=1;client_secret=xxxxx"},
		{"https://example.com/x?last=abc", "https://example.com/x?last=abc"},
		{"http://%zz", "(bad URL)"},
	}
	for _, tt := range tests {
		if got := BareString(tt.in); got != tt.want {
			t.Errorf("BareString(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := Bare(nil); got != "" {
		t.Errorf("Bare(nil): got %q, want empty", got)
	}
}

// FuzzBare: whatever the URL, what Bare returns shows no user
// information and no value of a credential parameter.
func FuzzBare(f *testing.F) {
	for _, s := range []string{
		"https://user:secret@example.com/simple/", "https://example.com/x?token=abc&n=1",
		"http://a:b@[::1]:80/p?X-Amz-Signature=s", "http://%zz", "https://example.com/?%gg=1", "file:///etc/passwd",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			if got := BareString(raw); got != "(bad URL)" {
				t.Errorf("BareString(%q): got %q, want (bad URL)", raw, got)
			}
			return
		}
		out := Bare(u)
		if pw, ok := u.User.Password(); ok && len(pw) >= 4 && strings.Contains(out, pw) && !strings.Contains(Bare(&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}), pw) {
			t.Errorf("Bare(%q) = %q shows the password", raw, out)
		}
		r, err := url.Parse(out)
		if err != nil {
			return
		}
		if r.User != nil {
			t.Errorf("Bare(%q) = %q keeps user information", raw, out)
		}
		for k, vs := range r.Query() {
			for _, v := range vs {
				if CredentialKey(k) && v != "xxxxx" && v != "" {
					t.Errorf("Bare(%q) = %q shows %s=%s", raw, out, k, v)
				}
			}
		}
	})
}
