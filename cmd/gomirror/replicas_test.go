package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/pull/pulltest"
	"github.com/gomirror/gomirror/internal/sumdb/sumdbtest"
)

// These tests run several `gomirror serve` processes as replicas of one
// mirror: they share an S3 bucket (MinIO in CI) and a Redis.

func TestReplicaConcurrentMissesMakeOneUpstreamRequest(t *testing.T) {
	redisURL := needRedis(t)
	mod := uniqueModule(t, "hello", "v1.0.0")
	s := newReplicaSet(t, redisURL, mod)
	replicas := s.startN(t, 3)
	name := zipName(mod)

	// The upstream holds the zip back until every replica is filling it,
	// so that the misses overlap across the replicas.
	release := s.up.holdZips()
	defer release()
	const clients = 60
	missesAcrossReplicas(t, replicas, clients, "/"+name, release, mod.Zip, "zip")
	if got := s.up.count(name); got != 1 {
		t.Errorf("upstream requests for %d concurrent misses over %d replicas: got %d, want 1", clients, len(replicas), got)
	}
	stored, err := s.bucket.get(t.Context(), name)
	if err != nil || !bytes.Equal(stored, mod.Zip) {
		t.Errorf("zip in the bucket: got %d bytes (err %v), want the %d bytes of the zip", len(stored), err, len(mod.Zip))
	}
}

func TestReplicaServesWhatAnotherStored(t *testing.T) {
	redisURL := needRedis(t)
	mod := uniqueModule(t, "hello", "v1.0.0")
	s := newReplicaSet(t, redisURL, mod)
	a, b := s.start(t), s.start(t)

	s.client(t, a.URL).must("mod", "download", mod.Path+"@"+mod.Version.Version)
	before := s.up.count(zipName(mod))

	s.up.setDown(true)
	out := s.client(t, b.URL).must("mod", "download", "-json", mod.Path+"@"+mod.Version.Version)
	var dl struct{ Sum, GoModSum string }
	if err := json.Unmarshal([]byte(out), &dl); err != nil {
		t.Fatalf("go mod download -json: %v\n%s", err, out)
	}
	if dl.Sum != mod.ZipHash || dl.GoModSum != mod.ModHash {
		t.Errorf("sums through the second replica: got %s %s, want %s %s", dl.Sum, dl.GoModSum, mod.ZipHash, mod.ModHash)
	}
	if got := s.up.count(zipName(mod)); got != before {
		t.Errorf("upstream zip requests while the second replica served: got %d, want %d", got-before, 0)
	}
	if files := storedFiles(t, b.Data); len(files) != 0 {
		t.Errorf("second replica wrote store files to its data directory: %v", files)
	}
}

func TestReplicaWithoutRedis(t *testing.T) {
	rs := startRedis(t)
	hit := uniqueModule(t, "hit", "v1.0.0")
	miss := uniqueModule(t, "miss", "v1.0.0")
	s := newReplicaSet(t, rs.URL(), hit, miss)
	replicas := s.startN(t, 3)
	for _, m := range replicas {
		if got := metric(t, m, "gomirror_coordination_degraded"); got != 0 {
			t.Fatalf("gomirror_coordination_degraded with Redis up: got %v, want 0", got)
		}
	}
	if r := httpGet(t.Context(), replicas[0].URL+"/"+zipName(hit)); r.code != http.StatusOK {
		t.Fatalf("filling %s with Redis up: got %v, want status 200", zipName(hit), r)
	}

	rs.stop()
	for i, m := range replicas {
		r := httpGet(t.Context(), m.URL+"/readyz")
		if r.err != nil || r.code != http.StatusOK || !strings.Contains(string(r.body), "redis: degraded") {
			t.Errorf("replica %d /readyz with Redis stopped: got %v %q, want status 200 and a body saying redis: degraded", i, r, r.body)
		}
		eventually(t, "gomirror_coordination_degraded 1", func() bool {
			return metric(t, m, "gomirror_coordination_degraded") == 1
		})
	}
	for i, m := range replicas {
		if r := httpGet(t.Context(), m.URL+"/"+zipName(hit)); r.code != http.StatusOK || !bytes.Equal(r.body, hit.Zip) {
			t.Errorf("replica %d, hit with Redis stopped: got %v, want status 200 and the zip", i, r)
		}
	}
	// A miss, filled by the replicas on their own.
	var wg sync.WaitGroup
	for i, m := range replicas {
		wg.Go(func() {
			if r := httpGet(t.Context(), m.URL+"/"+zipName(miss)); r.code != http.StatusOK || !bytes.Equal(r.body, miss.Zip) {
				t.Errorf("replica %d, miss with Redis stopped: got %v, want status 200 and the zip", i, r)
			}
		})
	}
	wg.Wait()
	if got := s.up.count(zipName(miss)); got < 1 || got > len(replicas) {
		t.Errorf("upstream requests for a miss on %d uncoordinated replicas: got %d, want 1 to %d", len(replicas), got, len(replicas))
	}
	g := s.client(t, replicas[2].URL)
	g.must("mod", "download", miss.Path+"@"+miss.Version.Version)

	// Redis comes back on the same address: the replicas notice by
	// themselves.
	rs.start()
	for i, m := range replicas {
		eventually(t, "gomirror_coordination_degraded 0 after Redis restarted", func() bool {
			return metric(t, m, "gomirror_coordination_degraded") == 0
		})
		r := httpGet(t.Context(), m.URL+"/readyz")
		if r.code != http.StatusOK || !strings.Contains(string(r.body), "redis: ok") {
			t.Errorf("replica %d /readyz after Redis restarted: got %v %q, want status 200 and redis: ok", i, r, r.body)
		}
	}
}

func TestReplicaKilledMidFetch(t *testing.T) {
	redisURL := needRedis(t)
	mod := uniqueModule(t, "big", "v1.0.0")
	s := newReplicaSet(t, redisURL, mod)
	// A short lock TTL, so that the others take over from the dead holder
	// soon.
	replicas := s.startN(t, 3, "--lock-ttl", "1s")
	a, b, c := replicas[0], replicas[1], replicas[2]
	name := zipName(mod)
	hung := s.up.hangFirst(name)

	go httpGet(t.Context(), a.URL+"/"+name)
	<-hung // Half the zip is on its way into a, which holds the fill lock.

	// b asks for the same file: it waits for a's lock.
	resB := make(chan fetchResult, 1)
	go func() { resB <- httpGet(t.Context(), b.URL+"/"+name) }()
	eventually(t, "b to wait for the fill", func() bool { return metric(t, b, "gomirror_upstream_fetches_in_flight") == 1 })

	// Watch the bucket for the whole time: the zip is either absent or
	// whole, never partial.
	watchDone := make(chan struct{})
	var watch sync.WaitGroup
	watch.Go(func() {
		for {
			data, err := s.bucket.get(t.Context(), name)
			switch {
			case errors.Is(err, errNoObject):
			case err != nil:
				t.Errorf("reading %s from the bucket: %v", name, err)
				return
			case !bytes.Equal(data, mod.Zip):
				t.Errorf("bucket holds a %d-byte %s, want absent or the whole %d bytes", len(data), name, len(mod.Zip))
				return
			}
			select {
			case <-watchDone:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	})
	if _, err := s.bucket.get(t.Context(), name); !errors.Is(err, errNoObject) {
		t.Errorf("%s in the bucket while its only fetch hangs: got err %v, want it absent", name, err)
	}
	select {
	case r := <-resB:
		t.Errorf("b answered while a held the fill lock and was alive: %v", r)
	default:
	}

	a.kill()
	// c asks too, while the dead holder's lock has yet to expire or
	// b has taken over.
	resC := httpGet(t.Context(), c.URL+"/"+name)
	r := <-resB
	close(watchDone)
	watch.Wait()
	for who, r := range map[string]fetchResult{"b": r, "c": resC} {
		if r.err != nil || r.code != http.StatusOK || !bytes.Equal(r.body, mod.Zip) {
			t.Errorf("GET through %s after the holder died: got %v, want status 200 with the whole %d-byte zip", who, r, len(mod.Zip))
		}
	}
	if got := s.up.count(name); got != 2 {
		t.Errorf("upstream zip requests: got %d, want 2 (the one that hung, one takeover)", got)
	}
	stored, err := s.bucket.get(t.Context(), name)
	if err != nil || !bytes.Equal(stored, mod.Zip) {
		t.Errorf("zip in the bucket after the takeover: got %d bytes (err %v), want the whole %d", len(stored), err, len(mod.Zip))
	}
}

func TestReplicaEdgeAndOriginVerifyAtEveryTier(t *testing.T) {
	mod := uniqueModule(t, "tiered", "v1.0.0")
	up := newReplicaUpstream(t, mod)
	db := sumdbtest.NewDB(t, "sum.example.test", mod)
	env := guardEnv(t)
	// The origin keeps nothing in memory: the test corrupts its store
	// behind its back, and must see the corrupt file served.
	origin := startMirror(t, t.TempDir(), env, "--upstream", up.URL, "--sumdb", db.Key+" "+db.URL, "--memory-cache", "0")
	// The edge knows only the database's name and key: it finds the
	// database through the origin's /sumdb/, as the go command does.
	edge := startMirror(t, t.TempDir(), env, "--upstream", origin.URL, "--sumdb", db.Key)

	g := newGoClient(t, edge.URL, db.Key, env...)
	out := g.must("mod", "download", "-json", mod.Path+"@"+mod.Version.Version)
	var dl struct{ Sum, GoModSum string }
	if err := json.Unmarshal([]byte(out), &dl); err != nil {
		t.Fatalf("go mod download -json: %v\n%s", err, out)
	}
	if dl.Sum != mod.ZipHash || dl.GoModSum != mod.ModHash {
		t.Errorf("sums through the edge: got %s %s, want %s %s", dl.Sum, dl.GoModSum, mod.ZipHash, mod.ModHash)
	}
	name := zipName(mod)
	for _, m := range []*mirror{origin, edge} {
		if data, err := os.ReadFile(filepath.Join(m.Data, name)); err != nil || !bytes.Equal(data, mod.Zip) {
			t.Errorf("zip stored at %s: got %d bytes (err %v), want the zip", m.URL, len(data), err)
		}
	}
	if db.LookupRequests() == 0 {
		t.Errorf("checksum database lookups: got 0, want the origin to have looked the module up")
	}

	// The origin's disk goes bad: a fresh edge must refuse what the
	// origin now serves.
	corrupt := bytes.Clone(mod.Zip)
	corrupt[len(corrupt)/2] ^= 0x01
	if err := os.WriteFile(filepath.Join(origin.Data, name), corrupt, 0o644); err != nil {
		t.Fatal(err)
	}
	edge2 := startMirror(t, t.TempDir(), env, "--upstream", origin.URL, "--sumdb", db.Key)
	r := httpGet(t.Context(), edge2.URL+"/"+name)
	want := mod.Path + "@" + mod.Version.Version
	if r.code != http.StatusBadGateway || !strings.Contains(string(r.body), want) {
		t.Errorf("GET through a fresh edge of a zip corrupted at the origin: got %v %q, want status 502 naming %s", r, r.body, want)
	}
	modDir := strings.TrimSuffix(name, "/@v/"+mod.Version.Version+".zip")
	if fileExists(filepath.Join(edge2.Data, modDir)) {
		t.Errorf("the fresh edge stored files of the refused module; stored: %v", storedFiles(t, edge2.Data))
	}
	out, err := newGoClient(t, edge2.URL, db.Key, env...).run("mod", "download", want)
	if err == nil || !strings.Contains(out, want) {
		t.Errorf("go mod download through the fresh edge: got err %v and %q, want a failure naming %s", err, out, want)
	}
}

func TestReplicaS3ColdFillWithTheGoCommand(t *testing.T) {
	mod := uniqueModule(t, "cold", "v1.0.0")
	// No Redis: the shared store alone makes what one replica stored
	// visible to the others.
	s := newReplicaSet(t, "", mod)
	a, b := s.start(t), s.start(t)
	g := s.client(t, a.URL)
	g.must("get", mod.Path+"@"+mod.Version.Version)

	esc := strings.TrimSuffix(zipName(mod), ".zip")
	files := map[string][]byte{esc + ".info": mod.Info, esc + ".mod": mod.Mod, esc + ".zip": mod.Zip}
	keys, err := s.bucket.keys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		if !slices.Contains(keys, name) {
			t.Errorf("%s not in the bucket after the cold fill; bucket: %v", name, keys)
		}
		resp, err := http.Head(b.URL + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Length") != strconv.Itoa(len(want)) {
			t.Errorf("HEAD %s through the other replica: got status %d, Content-Length %q; want 200, %d", name, resp.StatusCode, resp.Header.Get("Content-Length"), len(want))
		}
		if r := httpGet(t.Context(), b.URL+"/"+name); r.code != http.StatusOK || !bytes.Equal(r.body, want) {
			t.Errorf("GET %s through the other replica: got %v, want status 200 and the file", name, r)
		}
	}
	if got := s.up.count(zipName(mod)); got != 1 {
		t.Errorf("upstream zip requests: got %d, want 1", got)
	}
	// Ranges go through to the bucket.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, b.URL+"/"+zipName(mod), nil)
	req.Header.Set("Range", "bytes=10-19")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var part bytes.Buffer
	part.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(part.Bytes(), mod.Zip[10:20]) {
		t.Errorf("ranged GET of the zip: got status %d and %q, want 206 and %q", resp.StatusCode, part.Bytes(), mod.Zip[10:20])
	}
}

// TestReplicaBehindNginx runs the shipped example deployment: three
// replicas started from deploy/replicas/replica-N.yaml (with the test's
// addresses as flags) behind nginx with deploy/replicas/nginx.conf, and the
// go command through nginx, also after one replica stopped.
func TestReplicaBehindNginx(t *testing.T) {
	redisURL := needRedis(t)
	nginxBin, err := exec.LookPath("nginx")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("nginx is not installed, but CI=true: %v", err)
		}
		t.Skipf("nginx is not installed: %v", err)
	}
	first := uniqueModule(t, "first", "v1.0.0")
	second := uniqueModule(t, "second", "v1.0.0")
	s := newReplicaSet(t, redisURL, first, second)
	var replicas []*mirror
	for i := 1; i <= 3; i++ {
		replicas = append(replicas, s.start(t, "--config", filepath.Join("..", "..", "deploy", "replicas", fmt.Sprintf("replica-%d.yaml", i))))
	}
	lb := startNginx(t, nginxBin, replicas)

	g := s.client(t, lb)
	g.must("get", first.Path+"@"+first.Version.Version)
	if got := s.up.count(zipName(first)); got != 1 {
		t.Errorf("upstream zip requests through nginx: got %d, want 1", got)
	}

	// One replica goes away; nginx sends its share to the others.
	replicas[0].stop(t)
	for _, m := range []*sumdbtest.Module{first, second} {
		out := s.client(t, lb).must("mod", "download", "-json", m.Path+"@"+m.Version.Version)
		var dl struct{ Sum string }
		if err := json.Unmarshal([]byte(out), &dl); err != nil || dl.Sum != m.ZipHash {
			t.Errorf("go mod download %s through nginx with a replica stopped: got sum %q (err %v), want %s", m.Path, dl.Sum, err, m.ZipHash)
		}
	}
}

// startNginx runs nginx with deploy/replicas/nginx.conf, its upstream
// servers replaced by replicas, on a free loopback port, and returns its
// URL. It is stopped when the test ends.
func startNginx(t *testing.T, bin string, replicas []*mirror) string {
	t.Helper()
	site, err := os.ReadFile(filepath.Join("..", "..", "deploy", "replicas", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	conf := string(site)
	for i, m := range replicas {
		old := fmt.Sprintf("server 10.0.0.1%d:8080", i+1)
		if !strings.Contains(conf, old) {
			t.Fatalf("deploy/replicas/nginx.conf has no %q line to point at the test's replica", old)
		}
		conf = strings.Replace(conf, old, "server "+strings.TrimPrefix(m.URL, "http://"), 1)
	}
	if !strings.Contains(conf, "listen 80;") {
		t.Fatalf("deploy/replicas/nginx.conf has no %q line to point at the test's address", "listen 80;")
	}
	conf = strings.Replace(conf, "listen 80;", "listen "+addr+";", 1)

	dir := t.TempDir()
	writeFile(t, dir, "gomirror.conf", conf)
	writeFile(t, dir, "nginx.conf", fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 256; }
http {
	access_log %[1]s/access.log;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	include %[1]s/gomirror.conf;
}
`, dir))
	cmd := exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"))
	out := &pulltest.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting nginx: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			access, _ := os.ReadFile(filepath.Join(dir, "access.log"))
			t.Logf("nginx output:\n%s\nerror.log:\n%s\naccess.log:\n%s", out, log, access)
		}
	})
	url := "http://" + addr
	eventually(t, "nginx to answer", func() bool {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("nginx exited: %v\n%s", err, out)
		default:
		}
		r := httpGet(t.Context(), url+"/healthz")
		return r.err == nil && r.code == http.StatusOK
	})
	return url
}

// TestReplicaEdgeAndOriginShareRedis runs an edge and its origin on one
// Redis: their keys are named after their own stores, so the edge's fill
// lock on a file does not hold up the origin's fill of the same file.
func TestReplicaEdgeAndOriginShareRedis(t *testing.T) {
	redisURL := needRedis(t)
	mod := uniqueModule(t, "sharedredis", "v1.0.0")
	up := newReplicaUpstream(t, mod)
	db := sumdbtest.NewDB(t, "sum.example.test", mod)
	env := guardEnv(t)
	// A short fetch timeout turns a lock the two tiers wait on into a
	// failure rather than a ten-minute hang.
	origin := startMirror(t, t.TempDir(), env, "--upstream", up.URL, "--sumdb", db.Key+" "+db.URL,
		"--redis", redisURL, "--fetch-timeout", "20s")
	edge := startMirror(t, t.TempDir(), env, "--upstream", origin.URL, "--sumdb", db.Key,
		"--redis", redisURL, "--fetch-timeout", "20s")
	out := newGoClient(t, edge.URL, db.Key, env...).must("mod", "download", "-json", mod.Path+"@"+mod.Version.Version)
	if !strings.Contains(out, mod.ZipHash) {
		t.Errorf("go mod download through edge and origin on one Redis:\n%s", out)
	}
}
