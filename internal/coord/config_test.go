package coord

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestOptions(t *testing.T) {
	env := func(m map[string]string) func(string) string {
		return func(k string) string { return m[k] }
	}
	tests := []struct {
		name     string
		cfg      Config
		wantErr  string // substring; "" means success
		addr     string
		password string
		db       int
		dial     time.Duration
	}{
		{name: "plain", cfg: Config{URL: "redis://127.0.0.1:6379/0"},
			addr: "127.0.0.1:6379", dial: netTimeout},
		{name: "default port and db", cfg: Config{URL: "redis://redis.internal"},
			addr: "redis.internal:6379", dial: netTimeout},
		{name: "db and URL timeout", cfg: Config{URL: "redis://127.0.0.1:6380/3?dial_timeout=2s"},
			addr: "127.0.0.1:6380", db: 3, dial: 2 * time.Second},
		{name: "password in URL", cfg: Config{URL: "redis://:hunter2@127.0.0.1:6379/0"},
			addr: "127.0.0.1:6379", password: "hunter2", dial: netTimeout},
		{name: "password from env wins", cfg: Config{URL: "redis://:old@127.0.0.1:6379/0",
			Getenv: env(map[string]string{PasswordEnv: "s3cret"})},
			addr: "127.0.0.1:6379", password: "s3cret", dial: netTimeout},
		{name: "empty env password ignored", cfg: Config{URL: "redis://:old@127.0.0.1:6379/0",
			Getenv: env(nil)},
			addr: "127.0.0.1:6379", password: "old", dial: netTimeout},
		{name: "tls", cfg: Config{URL: "rediss://127.0.0.1:6379/0"},
			addr: "127.0.0.1:6379", dial: netTimeout},
		{name: "empty", cfg: Config{}, wantErr: "empty"},
		{name: "wrong scheme", cfg: Config{URL: "http://127.0.0.1:6379"}, wantErr: "scheme"},
		{name: "no host", cfg: Config{URL: "redis:///0"}, wantErr: "no host"},
		{name: "bad db", cfg: Config{URL: "redis://127.0.0.1:6379/zero"}, wantErr: "database"},
		{name: "malformed", cfg: Config{URL: "redis://u:s3cret@[::1/0"}, wantErr: "invalid redis URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt, err := options(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got err %v, want one mentioning %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("got err %q, which reveals the password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got err %v, want nil", err)
			}
			if opt.Addr != tt.addr {
				t.Errorf("got addr %q, want %q", opt.Addr, tt.addr)
			}
			if opt.Password != tt.password {
				t.Errorf("got password %q, want %q", opt.Password, tt.password)
			}
			if opt.DB != tt.db {
				t.Errorf("got db %d, want %d", opt.DB, tt.db)
			}
			if opt.DialTimeout != tt.dial {
				t.Errorf("got dial timeout %v, want %v", opt.DialTimeout, tt.dial)
			}
			if opt.ReadTimeout != netTimeout {
				t.Errorf("got read timeout %v, want %v", opt.ReadTimeout, netTimeout)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"bad URL", Config{URL: "ftp://x"}, "scheme"},
		{"negative lock TTL", Config{URL: "redis://127.0.0.1:1/0", LockTTL: -time.Second}, "lock TTL"},
		{"tiny lock TTL", Config{URL: "redis://127.0.0.1:1/0", LockTTL: time.Millisecond}, "lock TTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(context.Background(), tt.cfg)
			if err == nil {
				c.Close()
				t.Fatalf("got New success, want an error mentioning %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got err %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestPasswordFromEnv(t *testing.T) {
	url := testRedis(t)
	admin := rawClient(t, url)
	user := "gomirror-test-" + newToken()[:8]
	const password = "correct horse battery staple"
	if err := admin.Do(t.Context(), "ACL", "SETUSER", user, "on", ">"+password, "~*", "&*", "+@all").Err(); err != nil {
		t.Fatalf("ACL SETUSER: %v", err)
	}
	t.Cleanup(func() { admin.Do(context.Background(), "ACL", "DELUSER", user) })
	// The URL's password is wrong: only the environment's is right.
	userURL := strings.Replace(url, "redis://", "redis://"+user+":wrong@", 1)

	tests := []struct {
		name   string
		getenv func(string) string
		wantOK bool
	}{
		{"from env", func(k string) string {
			if k == PasswordEnv {
				return password
			}
			return ""
		}, true},
		{"not set", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(t.Context(), Config{URL: userURL, Getenv: tt.getenv})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer c.Close()
			err = c.Check(t.Context())
			if ok := err == nil; ok != tt.wantOK {
				t.Errorf("got Check err %v, want success=%v", err, tt.wantOK)
			}
		})
	}
}
