package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"golang.org/x/mod/module"

	"github.com/gomirror/gomirror/internal/pull/pulltest"
	"github.com/gomirror/gomirror/internal/sumdb/sumdbtest"
)

// Environment variables naming the shared services of the replica tests,
// as .ci/minio.sh and .ci/redis.sh export them.
const (
	s3EndpointEnv = "GOMIRROR_TEST_S3_ENDPOINT"
	redisEnv      = "GOMIRROR_TEST_REDIS"
)

// needService returns the value of the environment variable env, which
// names a service a replica test needs. Without it the test is skipped,
// except under CI, which always provides the service.
func needService(t *testing.T, env, how string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set, but CI=true: CI must provide it (%s)", env, how)
		}
		t.Skipf("%s is not set: no server to test against (%s)", env, how)
	}
	return v
}

func needS3(t *testing.T) string {
	t.Helper()
	return needService(t, s3EndpointEnv, "source .ci/minio.sh to start MinIO")
}

func needRedis(t *testing.T) string {
	t.Helper()
	return needService(t, redisEnv, "source .ci/redis.sh to start Redis")
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// testBucket is an S3 bucket of one test on the shared S3 server. It is
// emptied and removed when the test ends.
type testBucket struct {
	t      *testing.T
	URL    string // gomirror's --storage
	name   string
	client *minio.Client
}

// newTestBucket makes a bucket of the test's own on the S3 server at
// GOMIRROR_TEST_S3_ENDPOINT, with the credentials of the environment.
func newTestBucket(t *testing.T) *testBucket {
	t.Helper()
	ep := needS3(t)
	u, err := url.Parse(ep)
	if err != nil {
		t.Fatalf("%s=%q: %v", s3EndpointEnv, ep, err)
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:  credentials.NewStaticV4(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), ""),
		Secure: u.Scheme == "https",
	})
	if err != nil {
		t.Fatal(err)
	}
	b := &testBucket{t: t, name: "gomirror-test-" + randomHex(6), client: c}
	b.URL = "s3://" + b.name + "?endpoint=" + url.QueryEscape(ep)
	if err := c.MakeBucket(t.Context(), b.name, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("making bucket %s: %v", b.name, err)
	}
	t.Cleanup(b.remove)
	return b
}

func (b *testBucket) remove() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for obj := range b.client.ListObjects(ctx, b.name, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			b.t.Errorf("emptying bucket %s: %v", b.name, obj.Err)
			return
		}
		b.client.RemoveObject(ctx, b.name, obj.Key, minio.RemoveObjectOptions{})
	}
	for up := range b.client.ListIncompleteUploads(ctx, b.name, "", true) {
		if up.Err == nil {
			b.client.RemoveIncompleteUpload(ctx, b.name, up.Key)
		}
	}
	if err := b.client.RemoveBucket(ctx, b.name); err != nil {
		b.t.Errorf("removing bucket %s: %v", b.name, err)
	}
}

// get returns the content of the object name, or errNoObject when the
// bucket has none.
func (b *testBucket) get(ctx context.Context, name string) ([]byte, error) {
	obj, err := b.client.GetObject(ctx, b.name, name, minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	data, err := io.ReadAll(obj)
	if minio.ToErrorResponse(err).Code == "NoSuchKey" {
		return nil, errNoObject
	}
	return data, err
}

var errNoObject = errors.New("no such object")

// keys lists every object in the bucket.
func (b *testBucket) keys(ctx context.Context) ([]string, error) {
	var keys []string
	for obj := range b.client.ListObjects(ctx, b.name, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			return nil, obj.Err
		}
		keys = append(keys, obj.Key)
	}
	return keys, nil
}

// uniqueModule generates a module version whose path no other test uses:
// replicas of different tests share one Redis, where locks and negative
// answers are keyed by module path.
func uniqueModule(t *testing.T, name, version string) *sumdbtest.Module {
	t.Helper()
	path := "example.com/r" + randomHex(4) + "/" + name
	return sumdbtest.NewModule(t, path, version, map[string]string{
		name + ".go": "package " + name + "\n\nconst Version = " + strconv.Quote(version) + "\n",
	})
}

// zipName is the store name of m's zip.
func zipName(m *sumdbtest.Module) string {
	esc, _ := module.EscapePath(m.Path)
	return esc + "/@v/" + m.Version.Version + ".zip"
}

// replicaUpstream is a GOPROXY upstream for the replica tests. It serves
// generated modules and counts requests. Zip responses can be held back
// until the test opens a gate, and the first request for one zip can be
// made to send half the file and then hang.
type replicaUpstream struct {
	URL string

	mu       sync.Mutex
	files    map[string][]byte
	counts   map[string]int
	down     bool
	gate     chan struct{} // when not nil, zips wait until it is closed
	hangName string        // the zip whose first request hangs
	hung     chan struct{} // closed once that request sent its half
}

func newReplicaUpstream(t *testing.T, mods ...*sumdbtest.Module) *replicaUpstream {
	t.Helper()
	u := &replicaUpstream{files: map[string][]byte{}, counts: map[string]int{}, hung: make(chan struct{})}
	for _, m := range mods {
		esc, _ := module.EscapePath(m.Path)
		base := esc + "/@v/" + m.Version.Version
		u.files[base+".info"] = m.Info
		u.files[base+".mod"] = m.Mod
		u.files[base+".zip"] = m.Zip
		u.files[esc+"/@v/list"] = append(u.files[esc+"/@v/list"], m.Version.Version+"\n"...)
		u.files[esc+"/@latest"] = m.Info
	}
	done := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		u.mu.Lock()
		u.counts[name]++
		n := u.counts[name]
		data, ok := u.files[name]
		down, gate, hang := u.down, u.gate, u.hangName == name && n == 1
		u.mu.Unlock()
		switch {
		case down:
			http.Error(w, "upstream down for the test", http.StatusServiceUnavailable)
			return
		case !ok:
			http.Error(w, "not found: "+name+" is not on this test upstream", http.StatusNotFound)
			return
		}
		if strings.HasSuffix(name, ".zip") && gate != nil {
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			case <-done:
				return
			}
		}
		if hang {
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
			w.Write(data[:len(data)/2])
			w.(http.Flusher).Flush()
			close(u.hung)
			select {
			case <-r.Context().Done():
			case <-done:
			}
			return
		}
		w.Write(data)
	}))
	t.Cleanup(func() { close(done); ts.Close() })
	u.URL = ts.URL
	return u
}

func (u *replicaUpstream) count(name string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.counts[name]
}

func (u *replicaUpstream) setDown(down bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.down = down
}

// holdZips makes zip requests wait until the returned function is called.
func (u *replicaUpstream) holdZips() (release func()) {
	gate := make(chan struct{})
	u.mu.Lock()
	u.gate = gate
	u.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(gate) }) }
}

// hangFirst makes the first request for name send half of it and hang
// until the test ends. The returned channel is closed once it has.
func (u *replicaUpstream) hangFirst(name string) <-chan struct{} {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.hangName = name
	return u.hung
}

// fetchResult is the outcome of one GET.
type fetchResult struct {
	code int
	body []byte
	err  error
}

func (r fetchResult) String() string {
	if r.err != nil {
		return "error " + r.err.Error()
	}
	return fmt.Sprintf("status %d with %d bytes", r.code, len(r.body))
}

// httpGet gets url with a generous deadline as a guard against a hang.
func httpGet(ctx context.Context, url string) fetchResult {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fetchResult{err: err}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fetchResult{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return fetchResult{code: resp.StatusCode, body: body, err: err}
}

// missesAcrossReplicas sends clients concurrent GETs of path, spread over
// replicas, while the upstream holds the file back; once every replica is
// filling it, it calls release, and then checks that every client got
// want. what names the file in failures.
func missesAcrossReplicas(t *testing.T, replicas []*mirror, clients int, path string, release func(), want []byte, what string) {
	t.Helper()
	results := make(chan fetchResult, clients)
	var wg sync.WaitGroup
	for i := range clients {
		m := replicas[i%len(replicas)]
		wg.Go(func() { results <- httpGet(t.Context(), m.URL+path) })
	}
	eventually(t, "every replica to be filling the "+what, func() bool {
		for _, m := range replicas {
			if metric(t, m, "gomirror_upstream_fetches_in_flight") < 1 {
				return false
			}
		}
		return true
	})
	release()
	wg.Wait()
	close(results)
	for r := range results {
		if r.err != nil || r.code != http.StatusOK || !bytes.Equal(r.body, want) {
			t.Errorf("GET %s: got %v, want status 200 with the %d bytes of the %s", path, r, len(want), what)
		}
	}
}

// metric returns the value of the unlabelled sample name on m's /metrics,
// or -1 when m does not report it.
func metric(t *testing.T, m *mirror, name string) float64 {
	t.Helper()
	r := httpGet(t.Context(), m.URL+"/metrics")
	if r.err != nil || r.code != http.StatusOK {
		t.Fatalf("GET %s/metrics: %v", m.URL, r)
	}
	sc := bufio.NewScanner(strings.NewReader(string(r.body)))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == name {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s on /metrics: %q is not a number", name, v)
			}
			return f
		}
	}
	return -1
}

// eventually calls cond until it reports true, and fails the test if it
// has not after a generous deadline. It guards against a hang; it does not
// measure anything.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting, after a minute, for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freeAddr returns a loopback address nothing listens on at the moment.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// redisServer is a private redis-server that a test can stop and start.
type redisServer struct {
	t    *testing.T
	addr string
	dir  string
	cmd  *exec.Cmd
	done chan error
}

// startRedis runs a private redis-server on a free loopback port, without
// persistence. It is killed when the test ends.
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server is not installed, but CI=true: %v", err)
		}
		t.Skipf("redis-server is not installed: %v", err)
	}
	r := &redisServer{t: t, addr: freeAddr(t), dir: t.TempDir()}
	r.start()
	t.Cleanup(r.stop)
	return r
}

// URL is the server's redis:// URL.
func (r *redisServer) URL() string { return "redis://" + r.addr + "/0" }

// start runs the server and waits until it accepts connections.
func (r *redisServer) start() {
	t := r.t
	t.Helper()
	_, port, _ := net.SplitHostPort(r.addr)
	r.cmd = exec.Command("redis-server", "--bind", "127.0.0.1", "--port", port, "--dir", r.dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no")
	log := &pulltest.Buffer{}
	r.cmd.Stdout, r.cmd.Stderr = log, log
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	r.done = make(chan error, 1)
	go func() { r.done <- r.cmd.Wait() }()
	eventually(t, "redis-server to answer PING on "+r.addr, func() bool {
		select {
		case err := <-r.done:
			r.done <- err
			t.Fatalf("redis-server exited: %v\n%s", err, log)
		default:
		}
		c, err := net.DialTimeout("tcp", r.addr, time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "PING\r\n")
		line, _ := bufio.NewReader(c).ReadString('\n')
		return strings.HasPrefix(line, "+PONG")
	})
}

// stop kills the server and waits for it to exit.
func (r *redisServer) stop() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
}

// replicaSet is gomirror replicas sharing one S3 bucket and one Redis, in
// front of a fake upstream and a fake checksum database.
type replicaSet struct {
	bucket *testBucket
	up     *replicaUpstream
	db     *sumdbtest.DB
	env    []string // the network guard
	redis  string
}

func newReplicaSet(t *testing.T, redisURL string, mods ...*sumdbtest.Module) *replicaSet {
	t.Helper()
	return &replicaSet{
		bucket: newTestBucket(t),
		up:     newReplicaUpstream(t, mods...),
		db:     sumdbtest.NewDB(t, "sum.example.test", mods...),
		env:    guardEnv(t),
		redis:  redisURL,
	}
}

// start runs one replica with a data directory of its own.
func (s *replicaSet) start(t *testing.T, args ...string) *mirror {
	t.Helper()
	args = append([]string{"--upstream", s.up.URL, "--sumdb", s.db.Key + " " + s.db.URL, "--storage", s.bucket.URL}, args...)
	if s.redis != "" {
		args = append(args, "--redis", s.redis)
	}
	return startMirror(t, t.TempDir(), s.env, args...)
}

// startN runs n replicas.
func (s *replicaSet) startN(t *testing.T, n int, args ...string) []*mirror {
	t.Helper()
	ms := make([]*mirror, n)
	for i := range ms {
		ms[i] = s.start(t, args...)
	}
	return ms
}

// client is a go command using the proxy at proxyURL, verifying through
// its /sumdb/.
func (s *replicaSet) client(t *testing.T, proxyURL string) *goClient {
	return newGoClient(t, proxyURL, s.db.Key, s.env...)
}

// writeFile writes content to dir/name and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
