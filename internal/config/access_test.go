package config

import (
	"strings"
	"testing"
)

func TestAccessSettings(t *testing.T) {
	cfg, err := load(t, []string{"--tls-cert", "c.pem", "--tls-key", "k.pem", "--rate-limit", "50/s", "--fills-per-client", "8"},
		envFunc("HOME", "/home/u", "GOMIRROR_HTPASSWD", "/etc/gomirror/htpasswd", "GOMIRROR_OPS_LISTEN", "127.0.0.1:9090"))
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Access
	if a.TLSCert != "c.pem" || a.TLSKey != "k.pem" || a.RateLimit != "50/s" || a.FillsPerClient != "8" ||
		a.Htpasswd != "/etc/gomirror/htpasswd" || a.OpsListen != "127.0.0.1:9090" {
		t.Errorf("got %+v", a)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"cert without key", []string{"--tls-cert", "c.pem"}, "tls-cert, tls-key: give both"},
		{"key without cert", []string{"--tls-key", "k.pem"}, "tls-cert, tls-key: give both"},
		{"ops listen", []string{"--ops-listen", "nonsense"}, "ops-listen"},
		{"rate", []string{"--rate-limit", "fast"}, "rate-limit: invalid rate"},
		{"rate unit", []string{"--rate-limit", "10/d"}, "rate-limit: invalid rate"},
		{"auth failures off", []string{"--auth-failure-limit", "0"}, "auth-failure-limit: must be a positive rate"},
		{"fills", []string{"--fills-per-client", "-1"}, "fills-per-client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.args, envFunc("HOME", "/home/u"))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("got %v, want an error starting %q", err, tt.want)
			}
		})
	}
}
