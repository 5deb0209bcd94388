package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"
)

// textLines is a text handler that takes preformatted lines, as
// gomirror serve's logger does.
type textLines struct {
	slog.Handler
	w io.Writer
}

func (h textLines) TextLineWriter() io.Writer { return h.w }

// slogLine is the line log/slog's text handler writes for r at t.
func slogLine(t *testing.T, at time.Time, r request) string {
	t.Helper()
	var buf bytes.Buffer
	rec := slog.NewRecord(at, slog.LevelInfo, "request", 0)
	rec.AddAttrs(slog.String("method", r.method), slog.String("path", r.path),
		slog.String("ecosystem", r.ecosystem), slog.String("kind", r.kind),
		slog.Int("status", r.status), slog.Int64("bytes", r.bytes),
		slog.Duration("duration", r.duration), slog.String("remote", r.remote))
	if err := slog.NewTextHandler(&buf, nil).Handle(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestAccessLineMatchesSlog(t *testing.T) {
	base := request{method: "GET", path: "/golang.org/x/text/@v/v0.3.0.info", ecosystem: "go", kind: "info",
		status: 200, bytes: 60, duration: 1234567 * time.Nanosecond, remote: "127.0.0.1:40000"}
	times := []time.Time{
		time.Date(2026, 12, 1, 23, 5, 51, 0, time.UTC),
		time.Date(2026, 12, 1, 23, 5, 51, 999_999_999, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 120_000_000, time.FixedZone("X", 5*3600+1800)),
		time.Now(),
	}
	durations := []time.Duration{0, 1, 999, 1000, 1001, 1500 * time.Microsecond, time.Second, 61 * time.Second,
		90*time.Minute + 1, -time.Millisecond, math.MaxInt64, math.MinInt64}
	for _, at := range times {
		for _, d := range durations {
			r := base
			r.duration = d
			got := string(appendRequestLine(nil, at, r))
			if want := slogLine(t, at, r); got != want {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		}
	}
}

func TestAccessLogFallsBackForQuotedValues(t *testing.T) {
	for _, path := range []string{"/a b", "/a=b", `/a"b`, "/a\x00b", "/é", ""} {
		var fast, slow bytes.Buffer
		log := slog.New(textLines{slog.NewTextHandler(&slow, nil), &fast})
		newAccessLog(log).logRequest(context.Background(), request{method: "GET", path: path, ecosystem: "go", kind: "invalid", status: 400, remote: "x"})
		if fast.Len() != 0 {
			t.Errorf("path %q: got a preformatted line %q, want the line through slog", path, fast.String())
		}
		if !strings.Contains(slow.String(), "msg=request") {
			t.Errorf("path %q: got %q through slog, want the request line", path, slow.String())
		}
	}
}

func TestAccessLogUsesTheLineWriter(t *testing.T) {
	var fast, slow bytes.Buffer
	log := slog.New(textLines{slog.NewTextHandler(&slow, nil), &fast})
	r := request{method: "GET", path: "/m/@v/list", ecosystem: "go", kind: "list", status: 200, bytes: 7, duration: time.Millisecond, remote: "1.2.3.4:5"}
	newAccessLog(log).logRequest(context.Background(), r)
	if slow.Len() != 0 || !strings.HasSuffix(fast.String(), " level=INFO msg=request method=GET path=/m/@v/list ecosystem=go kind=list status=200 bytes=7 duration=1ms remote=1.2.3.4:5\n") {
		t.Errorf("got %q through the line writer and %q through slog, want the line through the writer only", fast.String(), slow.String())
	}
	quiet := slog.New(textLines{slog.NewTextHandler(&slow, &slog.HandlerOptions{Level: slog.LevelWarn}), &fast})
	fast.Reset()
	newAccessLog(quiet).logRequest(context.Background(), r)
	if fast.Len() != 0 || slow.Len() != 0 {
		t.Errorf("at level warn: got %q and %q, want no line", fast.String(), slow.String())
	}
}

func FuzzAppendDuration(f *testing.F) {
	for _, d := range []int64{0, 1, -1, 999, 1000, 1e6, 1e9, 3600e9, math.MaxInt64, math.MinInt64} {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, d int64) {
		if got, want := string(appendDuration(nil, time.Duration(d))), time.Duration(d).String(); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}
