package jobs

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/adhocore/gronx"
)

// Schedule says when a job runs again after a run ended. Its zero value
// is not valid; use [ParseSchedule].
type Schedule struct {
	every time.Duration // > 0 for an interval
	cron  string        // a cron expression otherwise
}

// MinInterval is the shortest interval ParseSchedule accepts.
const MinInterval = time.Minute

// ParseSchedule parses s, either a Go duration ("6h", "90m") meaning that
// long after the previous run ended, or a cron expression of five fields
// ("0 */6 * * *", minute hour day-of-month month day-of-week) or a macro
// such as "@daily", evaluated in UTC.
func ParseSchedule(s string) (Schedule, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Schedule{}, errors.New("empty schedule")
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < MinInterval {
			return Schedule{}, fmt.Errorf("schedule %q: interval below the minimum of %v", s, MinInterval)
		}
		return Schedule{every: d}, nil
	}
	// Cron: five fields only (gronx also takes a sixth for seconds and a
	// seventh for years, which a mirror has no use for), or a macro.
	if !strings.HasPrefix(s, "@") && len(strings.Fields(s)) != 5 {
		return Schedule{}, fmt.Errorf("schedule %q: neither a duration such as 6h nor a cron expression of five fields", s)
	}
	if !gronx.IsValid(s) {
		return Schedule{}, fmt.Errorf("schedule %q: invalid cron expression", s)
	}
	sched := Schedule{cron: s}
	// An expression can be valid yet never due (February 30th).
	if _, err := sched.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		return Schedule{}, fmt.Errorf("schedule %q: %w", s, err)
	}
	return sched, nil
}

// Next returns the first time strictly after t at which the job is due.
// It fails only for a cron expression with no time in the next few years.
func (s Schedule) Next(t time.Time) (time.Time, error) {
	if s.every > 0 {
		return t.Add(s.every), nil
	}
	if s.cron == "" {
		return time.Time{}, errors.New("zero schedule")
	}
	// gronx works in whole seconds: from 06:00:00.5 it may answer
	// 06:00:00, which is not after t; ask again from there.
	from := t.UTC()
	for range 3 {
		next, err := gronx.NextTickAfter(s.cron, from, false)
		if err != nil {
			return time.Time{}, fmt.Errorf("no time when %q is due: %w", s.cron, err)
		}
		if next.After(t) {
			return next, nil
		}
		from = next.Add(time.Second)
	}
	return time.Time{}, fmt.Errorf("no time after %v when %q is due", t, s.cron)
}

// String returns the schedule as written in the configuration.
func (s Schedule) String() string {
	if s.every > 0 {
		return s.every.String()
	}
	return s.cron
}
