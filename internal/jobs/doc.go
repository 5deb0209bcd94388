// Package jobs keeps gomirror's mirrors warm: sync jobs, declared in the
// configuration, that run on a schedule and request what their mirror
// should hold through the mirror's own HTTP handler.
//
// A job is just another client of the mirror. Its requests go in process
// to the same http.Handler that serves users, so that every file a job
// brings in passes the same verified fill; a job never writes the store.
// Each kind of job (Go modules, Go release archives, the vulnerability
// database, OCI images, PyPI, npm) is one small type implementing
// [Syncer].
//
// A [Runner] schedules the jobs (an interval such as "6h" or a cron
// expression such as "0 */6 * * *"), bounds each run by a timeout, retries
// failed requests with exponential backoff, and keeps each job's state in
// a JSON file that survives restarts. A run ends "success", "partial" or
// "failed": a run that fetched nothing where it expected something, or
// whose requests failed for part of its list, never ends "success". With
// several replicas, a [Locker] (internal/coord's Coordinator) lets one
// replica at a time run a job.
package jobs
