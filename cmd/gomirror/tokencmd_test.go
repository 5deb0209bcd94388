package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/access"
	"github.com/gomirror/gomirror/internal/client/switcher"
)

func TestTokenCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "alice.token")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"token", "alice", "dev,ci", "--out", out}, nil, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	user, token, err := switcher.ReadToken(out)
	if err != nil || user != "alice" || !strings.HasPrefix(token, "gm_") {
		t.Fatalf("token file: %q %q %v", user, token, err)
	}
	if want := "alice " + access.HashToken(token) + " dev,ci\n"; stdout.String() != want {
		t.Errorf("printed %q, want %q", stdout.String(), want)
	}
	if strings.Contains(stdout.String()+stderr.String(), token) {
		t.Error("the token was printed")
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode: %v %v", fi.Mode(), err)
	}
	toks, err := access.ParseTokens(stdout.Bytes())
	if err != nil || len(toks) != 1 {
		t.Errorf("the printed line does not parse as a tokens file: %v", err)
	}
	// Never overwritten; a user name with a colon is refused.
	if code := run(context.Background(), []string{"token", "alice", "--out", out}, nil, nil, &stdout, &stderr); code == 0 {
		t.Error("overwrote an existing token file")
	}
	if code := run(context.Background(), []string{"token", "a:b", "--out", out + "2"}, nil, nil, &stdout, &stderr); code == 0 {
		t.Error("accepted a user name with a colon")
	}
}
