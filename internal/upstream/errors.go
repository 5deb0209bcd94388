package upstream

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// notFoundError reports that an upstream does not have what was asked for.
// Its message is the one-line reason the upstream gave, suitable for showing
// to users as is.
type notFoundError struct {
	reason string
}

func (e *notFoundError) Error() string { return e.reason }

// Is reports whether target is fs.ErrNotExist.
func (e *notFoundError) Is(target error) bool { return target == fs.ErrNotExist }

// offError is returned when the chain reaches "off".
type offError struct{}

func (offError) Error() string { return "module lookup disabled by GOPROXY=off" }

// Is reports whether target is fs.ErrPermission.
func (offError) Is(target error) bool { return target == fs.ErrPermission }

// timeoutError reports an upstream that went quiet for longer than a
// configured bound. It matches os.ErrDeadlineExceeded, which callers map to
// 504 Gateway Timeout, and context.DeadlineExceeded; never fs.ErrNotExist.
type timeoutError struct {
	what string // e.g. "no response header"
	d    time.Duration
}

func (e *timeoutError) Error() string { return fmt.Sprintf("%s within %v", e.what, e.d) }

// Is reports whether target is os.ErrDeadlineExceeded or
// context.DeadlineExceeded.
func (e *timeoutError) Is(target error) bool {
	return target == os.ErrDeadlineExceeded || target == context.DeadlineExceeded
}

// Timeout reports true, as net.Error timeouts do.
func (e *timeoutError) Timeout() bool { return true }

// statusError is an HTTP answer from a proxy other than 200, 404 and 410.
type statusError struct {
	status string // e.g. "500 Internal Server Error"
	code   int
	reason string // first line of a text/plain body, cleaned; may be empty
}

func (e *statusError) Error() string {
	if e.reason != "" {
		return e.status + ": " + e.reason
	}
	return e.status
}

// maxReasonLen bounds the length of a reason passed on from an upstream.
const maxReasonLen = 300

// cleanReason returns the first non-blank line of s, trimmed, with control
// and other non-graphic characters removed and its length bounded. It
// returns "" when s is not UTF-8 or has nothing to show.
func cleanReason(s string) string {
	if !utf8.ValidString(s) {
		return ""
	}
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimSpace(strings.Map(func(r rune) rune {
			if r == '\t' {
				return ' '
			}
			if !unicode.IsGraphic(r) {
				return -1
			}
			return r
		}, line))
		if line == "" {
			continue
		}
		if len(line) > maxReasonLen {
			cut := maxReasonLen
			for cut > 0 && !utf8.RuneStart(line[cut]) {
				cut--
			}
			line = line[:cut] + "..."
		}
		return line
	}
	return ""
}
