package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/gomirror/gomirror/internal/config"
	"github.com/gomirror/gomirror/internal/redact"
)

// logFlushInterval bounds how long a buffered log line waits.
const logFlushInterval = 100 * time.Millisecond

// newLogger makes the process's logger in the configured format and level.
// Lines are buffered, so that the access log costs a copy rather than a
// system call per request: they reach w within logFlushInterval, and at
// once for warnings and errors. Call the returned function to flush and
// stop before exiting.
func newLogger(w io.Writer, cfg config.Config) (*slog.Logger, func()) {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel)) // Validated by config.
	bw := newBufferedWriter(w)
	// No credential of an upstream's URL reaches the log.
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: redact.Attr}
	var h slog.Handler
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(bw, opts)
	} else {
		h = slog.NewTextHandler(bw, opts)
	}
	return slog.New(flushingHandler{Handler: h, w: bw, text: cfg.LogFormat != "json"}), bw.close
}

// bufferedWriter is a bufio.Writer that is safe for concurrent use and
// flushes itself every logFlushInterval.
type bufferedWriter struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

func newBufferedWriter(w io.Writer) *bufferedWriter {
	b := &bufferedWriter{w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go b.loop()
	return b
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

func (b *bufferedWriter) flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.w.Flush()
}

func (b *bufferedWriter) loop() {
	defer close(b.done)
	t := time.NewTicker(logFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.flush()
		case <-b.stop:
			b.flush()
			return
		}
	}
}

// close flushes what is buffered and stops the flushing goroutine.
func (b *bufferedWriter) close() {
	close(b.stop)
	<-b.done
}

// flushingHandler flushes the buffer after each warning or error, so that
// those are never held back.
type flushingHandler struct {
	slog.Handler
	w    *bufferedWriter
	text bool // log/slog's text format, with no attributes or groups added
}

// TextLineWriter lets the access log write its lines, formatted as the text
// handler would, straight into the buffer (server.TextLineWriter).
func (h flushingHandler) TextLineWriter() io.Writer {
	if !h.text {
		return nil
	}
	return h.w
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.w.flush()
	}
	return err
}

func (h flushingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushingHandler{Handler: h.Handler.WithAttrs(attrs), w: h.w}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{Handler: h.Handler.WithGroup(name), w: h.w}
}
