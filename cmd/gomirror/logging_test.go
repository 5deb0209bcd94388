package main

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/config"
)

// lockedBuilder is a strings.Builder safe for concurrent use.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestLoggerBuffersInfoAndFlushesWarnings(t *testing.T) {
	var out lockedBuilder
	cfg := config.Default(func(string) string { return "" })
	log, flush := newLogger(&out, cfg)
	log.Warn("disk almost full")
	if !strings.Contains(out.String(), "disk almost full") {
		t.Errorf("a warning was held back: got %q", out.String())
	}
	log.Info("request", "path", "/x")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "path=/x") {
		if time.Now().After(deadline) {
			t.Fatalf("an info line never reached the writer: got %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	log.With("component", "test").Info("last words")
	flush()
	if got := out.String(); !strings.Contains(got, `msg="last words" component=test`) {
		t.Errorf("flush at exit lost a line: got %q", out.String())
	}

	cfg.LogFormat = "json"
	var js lockedBuilder
	log, flush = newLogger(&js, cfg)
	log.Error("boom", "err", "x")
	flush()
	if !strings.Contains(js.String(), `"msg":"boom"`) {
		t.Errorf("json logger: got %q", js.String())
	}
}

// TestLoggerRedactsCredentials checks that no upstream credential reaches
// the log, in either format: the startup line names --upstream and
// --sumdb, errors name the URLs they failed on.
func TestLoggerRedactsCredentials(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var out lockedBuilder
		cfg := config.Default(func(string) string { return "" })
		cfg.LogFormat = format
		log, flush := newLogger(&out, cfg)
		log.Warn("serving", "upstream", "https://bot:s3cret@proxy.corp.example,direct", "sumdb", "sum.golang.org https://u:s3cret@sum.corp.example",
			"err", errors.New("GET https://bot:s3cret@pypi.corp.example/simple/x/?token=s3cret: refused"))
		flush()
		if got := out.String(); strings.Contains(got, "s3cret") || !strings.Contains(got, "bot:xxxxx@proxy.corp.example") {
			t.Errorf("%s log: got %q, want every credential redacted", format, got)
		}
	}
}
