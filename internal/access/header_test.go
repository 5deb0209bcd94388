package access

import (
	"encoding/base64"
	"strings"
	"testing"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		name, h string
		want    Credential
		bad     bool
	}{
		{"basic", "Basic " + b64("alice:s3cret"), Credential{"basic", "alice", "s3cret"}, false},
		{"basic lower case", "basic " + b64("alice:a:b"), Credential{"basic", "alice", "a:b"}, false},
		{"basic unpadded", "Basic " + strings.TrimRight(b64("al:x"), "="), Credential{"basic", "al", "x"}, false},
		{"basic empty", "Basic " + b64(":"), Credential{"basic", "", ""}, false},
		{"bearer", "Bearer gm_abc.DEF-~+/==", Credential{"bearer", "", "gm_abc.DEF-~+/=="}, false},
		{"two spaces", "Bearer  tok", Credential{"bearer", "", "tok"}, false},
		{"no value", "Basic", Credential{}, true},
		{"empty value", "Basic ", Credential{}, true},
		{"other scheme", "Digest username=x", Credential{}, true},
		{"bad base64", "Basic !!!", Credential{}, true},
		{"no colon", "Basic " + b64("alice"), Credential{}, true},
		{"control character", "Basic " + b64("al\nice:x"), Credential{}, true},
		{"bad utf-8", "Basic " + b64("\xff:x"), Credential{}, true},
		{"bearer with space", "Bearer a b", Credential{}, true},
		{"bearer bad char", "Bearer a,b", Credential{}, true},
		{"bearer only padding", "Bearer ==", Credential{}, true},
		{"bearer padding inside", "Bearer a=b", Credential{}, true},
		{"huge", "Bearer " + strings.Repeat("a", MaxAuthorizationLen), Credential{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAuthorization(tt.h)
			if tt.bad {
				if err == nil {
					t.Fatalf("got %+v, want an error", got)
				}
				if got != (Credential{}) {
					t.Errorf("an error came with %+v", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestParseAuthorizationNeverEchoesSecret(t *testing.T) {
	for _, h := range []string{"Basic " + b64("alice"), "Bearer hunter2,", "Basic hunter2!", "Digest hunter2"} {
		if _, err := ParseAuthorization(h); err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "alice") {
			t.Errorf("ParseAuthorization(%q): error %v repeats the credentials", h, err)
		}
	}
}

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{"Basic " + b64("a:b"), "Bearer tok", "basic", "Bearer ", "Basic " + b64("\x00:\x00"), "Negotiate x", "Basic =", "Bearer a=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		c, err := ParseAuthorization(h)
		if err != nil {
			return
		}
		switch c.Scheme {
		case "basic":
			if !printable(c.User) || !printable(c.Secret) || strings.Contains(c.User, ":") {
				t.Errorf("accepted %q as %+v", h, c)
			}
		case "bearer":
			if c.User != "" || !token68(c.Secret) {
				t.Errorf("accepted %q as %+v", h, c)
			}
		default:
			t.Errorf("accepted %q with scheme %q", h, c.Scheme)
		}
	})
}
