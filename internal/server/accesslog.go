package server

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// TextLineWriter is implemented by a log handler that writes log/slog's
// text format and can take a line already formatted. TextLineWriter
// returns where such lines go, or nil when the handler adds attributes or
// groups of its own (then lines must go through it). The writer must be
// safe for concurrent use and take each line in one Write.
type TextLineWriter interface {
	TextLineWriter() io.Writer
}

// accessLog writes the access log's "request" lines. When the logger's
// handler is a [TextLineWriter], it formats each line itself, as
// log/slog's text handler would, into a pooled buffer: no allocation and
// a fraction of the handler's work. Otherwise it logs through log.
type accessLog struct {
	log *slog.Logger
	w   io.Writer // nil: through log
}

func newAccessLog(log *slog.Logger) *accessLog {
	a := &accessLog{log: log}
	if h, ok := log.Handler().(TextLineWriter); ok {
		a.w = h.TextLineWriter()
	}
	return a
}

// request is one line of the access log.
type request struct {
	method, path, ecosystem, kind string
	status                        int
	bytes                         int64
	duration                      time.Duration
	remote                        string
}

var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// log writes r's line at info level.
func (a *accessLog) logRequest(ctx context.Context, r request) {
	if !a.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	if a.w == nil || !plain(r.method) || !plain(r.path) || !plain(r.ecosystem) || !plain(r.kind) || !plain(r.remote) {
		a.log.LogAttrs(ctx, slog.LevelInfo, "request",
			slog.String("method", r.method), slog.String("path", r.path),
			slog.String("ecosystem", r.ecosystem), slog.String("kind", r.kind),
			slog.Int("status", r.status), slog.Int64("bytes", r.bytes),
			slog.Duration("duration", r.duration), slog.String("remote", r.remote))
		return
	}
	bp := lineBufs.Get().(*[]byte)
	line := appendRequestLine((*bp)[:0], time.Now(), r)
	a.w.Write(line)
	*bp = line
	lineBufs.Put(bp)
}

// appendRequestLine appends r's line in log/slog's text format, logged at
// t, to dst. Its strings must be plain.
func appendRequestLine(dst []byte, t time.Time, r request) []byte {
	dst = append(dst, "time="...)
	dst = appendRFC3339Millis(dst, t)
	dst = append(dst, " level=INFO msg=request method="...)
	dst = append(dst, r.method...)
	dst = append(dst, " path="...)
	dst = append(dst, r.path...)
	dst = append(dst, " ecosystem="...)
	dst = append(dst, r.ecosystem...)
	dst = append(dst, " kind="...)
	dst = append(dst, r.kind...)
	dst = append(dst, " status="...)
	dst = strconv.AppendInt(dst, int64(r.status), 10)
	dst = append(dst, " bytes="...)
	dst = strconv.AppendInt(dst, r.bytes, 10)
	dst = append(dst, " duration="...)
	dst = appendDuration(dst, r.duration)
	dst = append(dst, " remote="...)
	dst = append(dst, r.remote...)
	return append(dst, '\n')
}

// plain reports whether log/slog's text handler writes s as it is,
// unquoted. It answers false for some strings that need no quotes (those
// with bytes past ASCII), which then go through log/slog.
func plain(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == '=' || c == '"' || c >= 0x7f {
			return false
		}
	}
	return true
}

// appendRFC3339Millis appends t as log/slog's text handler writes a
// record's time: RFC 3339 with exactly three digits of milliseconds.
func appendRFC3339Millis(b []byte, t time.Time) []byte {
	const prefixLen = len("2006-01-02T15:04:05.000")
	n := len(b)
	t = t.Round(0).Truncate(time.Millisecond).Add(time.Millisecond / 10)
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b[:n+prefixLen], b[n+prefixLen+1:]...) // drop the fourth digit
}

// appendDuration appends d as time.Duration.String writes it.
func appendDuration(b []byte, d time.Duration) []byte {
	var arr [32]byte
	n := len(arr)
	u := uint64(d)
	neg := d < 0
	if neg {
		u = -u
	}
	if u < uint64(time.Second) {
		// Less than a second: one of ns, µs, ms, with a fraction.
		var prec int
		n--
		arr[n] = 's'
		n--
		switch {
		case u == 0:
			return append(b, "0s"...)
		case u < uint64(time.Microsecond):
			prec = 0
			arr[n] = 'n'
		case u < uint64(time.Millisecond):
			prec = 3
			// U+00B5 'µ' micro sign, in UTF-8.
			n--
			copy(arr[n:], "µ")
		default:
			prec = 6
			arr[n] = 'm'
		}
		n, u = fmtFrac(arr[:n], u, prec)
		n = fmtInt(arr[:n], u)
	} else {
		n--
		arr[n] = 's'
		n, u = fmtFrac(arr[:n], u, 9)
		n = fmtInt(arr[:n], u%60)
		u /= 60
		if u > 0 {
			n--
			arr[n] = 'm'
			n = fmtInt(arr[:n], u%60)
			u /= 60
			if u > 0 {
				n--
				arr[n] = 'h'
				n = fmtInt(arr[:n], u)
			}
		}
	}
	if neg {
		n--
		arr[n] = '-'
	}
	return append(b, arr[n:]...)
}

// fmtFrac formats the fraction of v/10**prec (such as ".12345") into the
// tail of buf, omitting trailing zeros and the point when the fraction is
// zero. It returns the index where the output begins and v/10**prec.
func fmtFrac(buf []byte, v uint64, prec int) (nw int, nv uint64) {
	w := len(buf)
	printed := false
	for range prec {
		digit := v % 10
		printed = printed || digit != 0
		if printed {
			w--
			buf[w] = byte(digit) + '0'
		}
		v /= 10
	}
	if printed {
		w--
		buf[w] = '.'
	}
	return w, v
}

// fmtInt formats v into the tail of buf and returns the index where the
// output begins.
func fmtInt(buf []byte, v uint64) int {
	w := len(buf)
	if v == 0 {
		w--
		buf[w] = '0'
		return w
	}
	for v > 0 {
		w--
		buf[w] = byte(v%10) + '0'
		v /= 10
	}
	return w
}
