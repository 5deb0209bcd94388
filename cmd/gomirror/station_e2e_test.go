package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSyncJobKeepsMirrorFresh runs gomirror serve with a sync job declared
// in its configuration file, and finds the job's run in every place the
// station reports it: /jobs, /mirrorz.json, /metrics and the status page.
func TestSyncJobKeepsMirrorFresh(t *testing.T) {
	h := newHermeticSetup(t)
	conf := filepath.Join(t.TempDir(), "gomirror.yaml")
	os.WriteFile(conf, []byte(`sync:
  jobs:
    - name: go-hello
      kind: go
      schedule: "0 * * * *"
      go: {modules: [example.com/hello]}
`), 0o644)
	data := t.TempDir()
	m := h.start(t, data, "--config", conf)

	// A job never run is due at once.
	var jobs []map[string]any
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, body := get(t, m.URL+"/jobs")
		jobs = nil
		json.Unmarshal(body, &jobs)
		if j := findJob(jobs, "go"); j != nil && j["status"] == "success" {
			if j["last_update_ts"].(float64) <= 0 || j["next_schedule_ts"].(float64) <= j["last_update_ts"].(float64) {
				t.Errorf("/jobs: times of the go mirror's job: %v", j)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job never succeeded; /jobs: %s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, f := range []string{"example.com/hello/@v/v1.1.0.zip", "example.com/hello/@v/v1.1.0.mod", "example.com/hello/@v/v1.1.0.info"} {
		if _, err := os.Stat(filepath.Join(data, f)); err != nil {
			t.Errorf("the job did not store %s: %v", f, err)
		}
	}
	_, mz := get(t, m.URL+"/mirrorz.json")
	if !strings.Contains(string(mz), `"status":"S`) && !strings.Contains(string(mz), `"status": "S`) {
		t.Errorf("/mirrorz.json shows no successful sync: %s", mz)
	}
	_, metrics := get(t, m.URL+"/metrics")
	if !strings.Contains(string(metrics), `gomirror_job_last_success_timestamp_seconds{job="go-hello"}`) {
		t.Error("/metrics lacks the job's last success time")
	}
	_, page := get(t, m.URL+"/")
	if !strings.Contains(string(page), "Go modules") || !strings.Contains(strings.ToLower(string(page)), "success") {
		t.Errorf("the status page does not show the go mirror's successful sync")
	}
}

func findJob(jobs []map[string]any, name string) map[string]any {
	for _, j := range jobs {
		if j["name"] == name {
			return j
		}
	}
	return nil
}
