package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Recorder tells which modules users requested lately. The server
// implements it; the go kind syncs them when RecentDays is set.
type Recorder interface {
	// RecentModules returns the module paths (not escaped) requested
	// since since, each once.
	RecentModules(ctx context.Context, since time.Time) ([]string, error)
}

// Locker lets one replica at a time run a job. internal/coord's
// Coordinator implements it. Lock blocks until the caller should run the
// job (run == true; it then calls release exactly once, with ok reporting
// whether the run did its work), or until another replica reports its run
// done (run == false), or until ctx ends. A holder that dies loses the
// lock when it expires, and a waiting replica then runs the job. An error
// other than ctx's means coordination is unavailable; the runner then runs
// the job by itself.
type Locker interface {
	Lock(ctx context.Context, name string) (run bool, release func(ok bool), err error)
}

// Clock tells the time and waits. The zero Options use the real one.
type Clock interface {
	Now() time.Time
	// After sends the time on the returned channel once d has passed.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Options configure a [Runner]. Handler is required.
type Options struct {
	// Jobs are the jobs to run, as in [Config.Jobs].
	Jobs []Spec
	// Handler is the mirror's own HTTP handler; every request of every
	// job goes to it, in process.
	Handler http.Handler
	// StateDir keeps one JSON file per job. Empty keeps state in memory
	// only, which tests and one-off runs may want.
	StateDir string
	// Locker, when not nil, makes replicas take turns (see [Locker]).
	Locker Locker
	// Recorder, when not nil, feeds go jobs with RecentDays set.
	Recorder Recorder
	// Registerer, when not nil, gets the gomirror_job_* collectors.
	Registerer prometheus.Registerer
	// Logger receives one line per run. Nil discards.
	Logger *slog.Logger
	// Clock is the time source. Nil means the real clock.
	Clock Clock
	// AfterRun, when not nil, is called after each run on this replica,
	// with the job's status; gomirror measures the mirror's size there.
	AfterRun func(ctx context.Context, st Status)
}

// Runner runs sync jobs on their schedules. It is safe for concurrent use.
type Runner struct {
	handler  http.Handler
	files    stateFiles
	locker   Locker
	recorder Recorder
	log      *slog.Logger
	clock    Clock
	after    func(context.Context, Status)
	metrics  *jobMetrics
	sleep    func(ctx context.Context, d time.Duration) error

	entries []*entry
	byName  map[string]*entry
	wake    chan struct{}

	mu   sync.Mutex
	base context.Context // the context of Serve, for runs asked over HTTP
	wg   sync.WaitGroup
}

// entry is one job and its state in memory.
type entry struct {
	job *job

	mu      sync.Mutex
	state   State
	next    time.Time
	running bool
	waiting bool          // waiting for another replica's run of the job
	session *Session      // while running
	done    chan struct{} // closed when the current run ends
}

// Status is a snapshot of one job, for status pages and the sync command.
type Status struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Mirror   string `json:"mirror"`
	Schedule string `json:"schedule"`
	State
	// Running is set while this replica runs the job; Waiting while it
	// waits for another replica's run to end.
	Running bool `json:"running"`
	Waiting bool `json:"waiting,omitempty"`
	// Progress is the tally of the run under way, if any.
	Progress *Progress `json:"progress,omitempty"`
}

// ErrUnknownJob is returned for a job name that is not configured.
var ErrUnknownJob = errors.New("unknown job")

// New returns a Runner for opts, after checking every job and reading the
// state each left. A job that never ran, or whose last run was
// interrupted, is due at once; any other is due at its schedule's next
// time after its last run ended, which may have passed while gomirror was
// down: it then runs once, however many times it was missed. Call Serve
// to run jobs on schedule.
func New(opts Options) (*Runner, error) {
	if opts.Handler == nil {
		return nil, errors.New("jobs: nil handler")
	}
	r := &Runner{
		handler:  opts.Handler,
		files:    stateFiles{dir: opts.StateDir},
		locker:   opts.Locker,
		recorder: opts.Recorder,
		log:      opts.Logger,
		clock:    opts.Clock,
		after:    opts.AfterRun,
		byName:   map[string]*entry{},
		wake:     make(chan struct{}, 1),
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.clock == nil {
		r.clock = realClock{}
	}
	r.sleep = func(ctx context.Context, d time.Duration) error {
		select {
		case <-r.clock.After(d):
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	if err := (Config{Jobs: opts.Jobs}).Validate(); err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	now := r.clock.Now()
	for _, s := range opts.Jobs {
		j, err := s.compile()
		if err != nil {
			return nil, fmt.Errorf("jobs: %w", err)
		}
		st, err := r.files.load(j.Name)
		if err != nil {
			return nil, fmt.Errorf("jobs: %w", err)
		}
		e := &entry{job: j, state: st}
		// The saved next run is for people reading the file; the schedule
		// may have changed since, so it is computed again.
		e.next = r.nextAfter(e, now)
		e.state.NextRun = e.next
		r.entries = append(r.entries, e)
		r.byName[j.Name] = e
	}
	r.metrics = newJobMetrics(opts.Registerer)
	for _, e := range r.entries {
		r.metrics.init(e.job.Name, e.state)
	}
	return r, nil
}

// nextAfter returns when e is next due, given its state; now is the
// answer for a job that never ran or was interrupted.
func (r *Runner) nextAfter(e *entry, now time.Time) time.Time {
	st := e.state
	if st.LastEnd.IsZero() || st.interrupted() {
		return now
	}
	next, err := e.job.schedule.Next(st.LastEnd)
	if err != nil {
		r.log.Error("job has no next run", "job", e.job.Name, "err", err)
		return time.Time{}
	}
	return next
}

// Serve runs jobs when they are due until ctx ends, then waits for the
// runs under way to stop, and returns ctx's cause.
func (r *Runner) Serve(ctx context.Context) error {
	r.mu.Lock()
	r.base = ctx
	r.mu.Unlock()
	defer r.wg.Wait()
	for {
		now := r.clock.Now()
		r.startDue(ctx, now)
		var timer <-chan time.Time
		if next, ok := r.earliest(); ok {
			timer = r.clock.After(max(next.Sub(now), 0))
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-timer:
		case <-r.wake:
		}
	}
}

// earliest returns the earliest next run among the jobs not running.
func (r *Runner) earliest() (time.Time, bool) {
	var t time.Time
	for _, e := range r.entries {
		e.mu.Lock()
		if !e.running && !e.next.IsZero() && (t.IsZero() || e.next.Before(t)) {
			t = e.next
		}
		e.mu.Unlock()
	}
	return t, !t.IsZero()
}

// startDue starts every job due at now that is not running, and returns
// channels closed when each ends.
func (r *Runner) startDue(ctx context.Context, now time.Time) []<-chan struct{} {
	var started []<-chan struct{}
	for _, e := range r.entries {
		e.mu.Lock()
		due := !e.running && !e.next.IsZero() && !e.next.After(now)
		e.mu.Unlock()
		if due {
			done, _ := r.start(ctx, e)
			started = append(started, done)
		}
	}
	return started
}

// RunDue runs every job due now and waits for them to end. Serve does the
// same on its own; RunDue is for one-off runs and tests.
func (r *Runner) RunDue(ctx context.Context) {
	for _, done := range r.startDue(ctx, r.clock.Now()) {
		<-done
	}
}

// Run runs job name now, or waits for its run under way, and returns its
// status when the run has ended. Errors wrap ErrUnknownJob, or are ctx's.
func (r *Runner) Run(ctx context.Context, name string) (Status, error) {
	done, err := r.Trigger(ctx, name)
	if err != nil {
		return Status{}, err
	}
	select {
	case <-done:
	case <-ctx.Done():
		return Status{}, context.Cause(ctx)
	}
	st, _ := r.Job(name)
	return st, nil
}

// Trigger starts job name now under ctx, unless it runs already, and
// returns a channel closed when the run ends. Errors wrap ErrUnknownJob.
func (r *Runner) Trigger(ctx context.Context, name string) (<-chan struct{}, error) {
	e, ok := r.byName[name]
	if !ok {
		return nil, fmt.Errorf("jobs: %w: %q", ErrUnknownJob, name)
	}
	done, _ := r.start(ctx, e)
	return done, nil
}

// start starts a run of e unless one is under way; either way it returns
// the channel closed when that run ends, and whether it started one.
func (r *Runner) start(ctx context.Context, e *entry) (<-chan struct{}, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.running {
		return e.done, false
	}
	e.running = true
	e.done = make(chan struct{})
	done := e.done
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		st, ran := r.execute(ctx, e)
		// AfterRun is done before the run is: a caller of Run sees the
		// mirror's size measured after it.
		if ran && r.after != nil {
			r.after(context.WithoutCancel(ctx), st)
		}
		e.mu.Lock()
		e.running, e.waiting, e.session = false, false, nil
		close(done)
		e.mu.Unlock()
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}()
	return done, true
}

// execute runs e once, under the Locker when there is one, and records
// the outcome. It reports whether the job ran here.
func (r *Runner) execute(ctx context.Context, e *entry) (Status, bool) {
	name := e.job.Name
	release := func(bool) {}
	if r.locker != nil {
		e.mu.Lock()
		e.waiting = true
		e.mu.Unlock()
		run, rel, err := r.locker.Lock(ctx, "job/"+name)
		e.mu.Lock()
		e.waiting = false
		e.mu.Unlock()
		switch {
		case err != nil && ctx.Err() != nil:
			return Status{}, false
		case err != nil:
			r.log.Warn("job lock unavailable; running without it", "job", name, "err", err)
		case !run:
			r.ranElsewhere(e)
			return Status{}, false
		default:
			release = rel
		}
	}

	start := r.clock.Now()
	s := &Session{
		handler:  r.handler,
		job:      e.job,
		recorder: r.recorder,
		now:      r.clock.Now,
		sleep:    r.sleep,
		seen:     map[string]bool{},
	}
	e.mu.Lock()
	s.prev = e.state
	e.state.LastStart = start
	e.session = s
	st := e.state
	e.mu.Unlock()
	if err := r.files.save(name, st); err != nil {
		r.log.Error("job state not saved", "job", name, "err", err)
	}
	r.metrics.running.WithLabelValues(name).Set(1)
	defer r.metrics.running.WithLabelValues(name).Set(0)

	timeout := e.job.Timeout
	runCtx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("timed out after %v", timeout))
	err := e.job.syncer.Sync(runCtx, s)
	cause := context.Cause(runCtx)
	cancel()
	if ctx.Err() != nil {
		// Shutting down: leave the run recorded as interrupted, so that
		// it runs again first thing after the restart.
		release(false)
		r.log.Info("job interrupted", "job", name)
		return Status{}, false
	}
	end := r.clock.Now()
	result, msg := outcome(s, err, cause)

	e.mu.Lock()
	e.state.LastEnd = end
	e.state.Result = result
	e.state.Error = msg
	e.state.Note = s.note
	e.state.Bytes = s.bytes.Load()
	e.state.Requests = s.ok.Load() + s.failed.Load()
	e.state.Failures = s.failed.Load()
	e.state.Elsewhere = false
	if result == Success {
		e.state.LastSuccess = end
		if s.cursor != "" {
			e.state.Cursor = s.cursor
		}
	}
	e.state.Seen = slices.Sorted(func(yield func(string) bool) {
		for k := range s.seen {
			if !yield(k) {
				return
			}
		}
	})
	e.next = r.nextAfter(e, end)
	e.state.NextRun = e.next
	st = e.state
	e.mu.Unlock()
	if err := r.files.save(name, st); err != nil {
		r.log.Error("job state not saved", "job", name, "err", err)
	}
	release(result != Failed)

	r.metrics.observe(name, st, end.Sub(start))
	attrs := []any{"job", name, "result", result, "requests", st.Requests, "failures", st.Failures,
		"bytes", st.Bytes, "duration", end.Sub(start).Round(time.Millisecond)}
	if result == Success {
		r.log.Info("job ran", attrs...)
	} else {
		r.log.Warn("job ran", append(attrs, "err", msg)...)
	}
	status, _ := r.Job(name)
	return status, true
}

// ranElsewhere records that another replica ran e while this one waited.
func (r *Runner) ranElsewhere(e *entry) {
	now := r.clock.Now()
	e.mu.Lock()
	e.state.LastEnd = now
	if e.state.LastStart.After(now) {
		e.state.LastStart = now
	}
	e.state.Elsewhere = true
	e.next = r.nextAfter(e, now)
	e.state.NextRun = e.next
	st := e.state
	e.mu.Unlock()
	if err := r.files.save(e.job.Name, st); err != nil {
		r.log.Error("job state not saved", "job", e.job.Name, "err", err)
	}
	r.log.Info("job ran on another replica", "job", e.job.Name)
}

// outcome judges a run from its tally, the error Sync returned and the
// cause of the run's context.
func outcome(s *Session, err, cause error) (Result, string) {
	ok, failed := s.ok.Load(), s.failed.Load()
	s.mu.Lock()
	first := slices.Clone(s.firstErrs)
	note := s.note
	s.mu.Unlock()
	tally := fmt.Sprintf("%d of %d requests failed", failed, ok+failed)
	if len(first) > 0 {
		tally += "; first: " + strings.Join(first, "; ")
	}
	switch {
	case cause != nil:
		return Failed, fmt.Sprintf("%v; %s", cause, tally)
	case err != nil:
		if failed > 0 {
			return Failed, fmt.Sprintf("%v (%d of %d requests failed)", err, failed, ok+failed)
		}
		return Failed, err.Error()
	case failed > 0 && ok > 0:
		return Partial, tally
	case failed > 0:
		return Failed, tally
	case ok == 0 && note == "":
		return Failed, "fetched nothing"
	}
	return Success, ""
}

// Job returns the status of job name.
func (r *Runner) Job(name string) (Status, bool) {
	e, ok := r.byName[name]
	if !ok {
		return Status{}, false
	}
	return e.status(), true
}

// Jobs returns the status of every job, in configuration order.
func (r *Runner) Jobs() []Status {
	out := make([]Status, 0, len(r.entries))
	for _, e := range r.entries {
		out = append(out, e.status())
	}
	return out
}

func (e *entry) status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.state
	st.Seen = nil // internal memory, possibly long
	out := Status{
		Name:     e.job.Name,
		Kind:     e.job.Kind,
		Mirror:   e.job.Mirror(),
		Schedule: e.job.schedule.String(),
		State:    st,
		Running:  e.running && !e.waiting,
		Waiting:  e.waiting,
	}
	if e.session != nil {
		p := e.session.progress()
		out.Progress = &p
	}
	return out
}

// baseContext returns the context runs asked for over HTTP run under.
func (r *Runner) baseContext() context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.base != nil {
		return r.base
	}
	return context.Background()
}
