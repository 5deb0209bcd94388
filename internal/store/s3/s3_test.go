package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/gomirror/gomirror/internal/store"
	"github.com/gomirror/gomirror/internal/store/storetest"
)

// endpointVar names the S3 server the tests run against, such as the MinIO
// that .ci/minio.sh starts.
const endpointVar = "GOMIRROR_TEST_S3_ENDPOINT"

// testEndpoint returns the S3 server to test against. Without one the test
// is skipped, except in CI, which always starts one.
func testEndpoint(t *testing.T) string {
	t.Helper()
	ep := os.Getenv(endpointVar)
	if ep == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set, but CI=true: CI must start MinIO with .ci/minio.sh", endpointVar)
		}
		t.Skipf("%s is not set: no S3 server to test against (source .ci/minio.sh to start MinIO)", endpointVar)
	}
	return ep
}

func randomName(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// newTestStore opens a store in a bucket of its own, which New creates and
// the test's cleanup empties and removes. A non-empty prefix puts the
// store's objects under it.
func newTestStore(t *testing.T, prefix string, logger *slog.Logger) *Store {
	t.Helper()
	ep := testEndpoint(t)
	bucket := randomName("gomirror-test-")
	rawURL := "s3://" + bucket + "/" + prefix + "?endpoint=" + ep
	s, err := New(t.Context(), rawURL, os.Getenv, logger)
	if err != nil {
		t.Fatalf("New(%q): %v", rawURL, err)
	}
	t.Cleanup(func() { removeBucket(t, s) })
	return s
}

// removeBucket removes the store's bucket with everything in it.
func removeBucket(t *testing.T, s *Store) {
	ctx := context.WithoutCancel(t.Context())
	c := s.core.Client
	for obj := range c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Errorf("cleaning bucket %s: %v", s.bucket, obj.Err)
			return
		}
		if err := c.RemoveObject(ctx, s.bucket, obj.Key, minio.RemoveObjectOptions{}); err != nil {
			t.Errorf("cleaning bucket %s: %v", s.bucket, err)
		}
	}
	for up := range c.ListIncompleteUploads(ctx, s.bucket, "", true) {
		if up.Err == nil {
			c.RemoveIncompleteUpload(ctx, s.bucket, up.Key)
		}
	}
	if err := c.RemoveBucket(ctx, s.bucket); err != nil {
		t.Errorf("removing bucket %s: %v", s.bucket, err)
	}
}

func TestConformance(t *testing.T) {
	testEndpoint(t)
	t.Run("bucket", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			return newTestStore(t, "", nil)
		})
	})
	t.Run("prefix", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			return newTestStore(t, "mirror/replica-1", nil)
		})
	})
}

func TestPrefixIsolation(t *testing.T) {
	ep := testEndpoint(t)
	a := newTestStore(t, "a", nil)
	b, err := New(t.Context(), "s3://"+a.bucket+"/b?endpoint="+ep, os.Getenv, nil)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Put(t, a, "golang.org/x/text/@v/list", strings.NewReader("a"))
	storetest.Put(t, b, "golang.org/x/text/@v/list", strings.NewReader("b"))
	storetest.CheckContent(t, a, "golang.org/x/text/@v/list", []byte("a"))
	storetest.CheckContent(t, b, "golang.org/x/text/@v/list", []byte("b"))
	if err := a.Delete(t.Context(), "golang.org/x/text/@v/list"); err != nil {
		t.Fatal(err)
	}
	storetest.CheckContent(t, b, "golang.org/x/text/@v/list", []byte("b"))
	if got := storetest.WalkAll(t, a, ""); len(got) != 0 {
		t.Errorf("Walk of the emptied prefix: got %q, want nothing", got)
	}

	// Keys that are not store names, written by other tools, are skipped.
	if _, err := a.core.Client.PutObject(t.Context(), a.bucket, "a/dir/", bytes.NewReader(nil), 0, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := storetest.WalkAll(t, a, ""); len(got) != 0 {
		t.Errorf("Walk with a directory marker: got %q, want nothing", got)
	}
}

func TestNewCreatesBucket(t *testing.T) {
	var logs bytes.Buffer
	s := newTestStore(t, "", slog.New(slog.NewTextHandler(&logs, nil)))
	if !strings.Contains(logs.String(), "created S3 bucket") || !strings.Contains(logs.String(), s.bucket) {
		t.Errorf("log: got %q, want a line saying bucket %s was created", logs.String(), s.bucket)
	}
	if err := s.Check(t.Context()); err != nil {
		t.Errorf("Check: %v", err)
	}

	// A second store on the existing bucket neither fails nor logs.
	logs.Reset()
	ep := testEndpoint(t)
	if _, err := New(t.Context(), "s3://"+s.bucket+"?endpoint="+ep, os.Getenv, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatal(err)
	}
	if logs.Len() != 0 {
		t.Errorf("log for an existing bucket: got %q, want nothing", logs.String())
	}

	if err := s.core.Client.RemoveBucket(t.Context(), s.bucket); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(t.Context()); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Check after the bucket was removed: got %v, want an error saying it does not exist", err)
	}
	if err := s.core.Client.MakeBucket(t.Context(), s.bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestWrongCredentials(t *testing.T) {
	ep := testEndpoint(t)
	env := map[string]string{"AWS_ACCESS_KEY_ID": "nobody", "AWS_SECRET_ACCESS_KEY": "wrong-secret"}
	_, err := New(t.Context(), "s3://"+randomName("gomirror-test-")+"?endpoint="+ep, mapEnv(env), nil)
	if err == nil {
		t.Fatal("New with wrong credentials: got no error, want one")
	}
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("error %q reveals the secret", err)
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		t.Errorf("error %v carries a minio.ErrorResponse, want no SDK types", err)
	}
}

func TestSharedCredentialsFile(t *testing.T) {
	ep := testEndpoint(t)
	file := filepath.Join(t.TempDir(), "credentials")
	content := "[mirror]\naws_access_key_id = " + os.Getenv("AWS_ACCESS_KEY_ID") +
		"\naws_secret_access_key = " + os.Getenv("AWS_SECRET_ACCESS_KEY") + "\n"
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": "mirror"}
	s, err := New(t.Context(), "s3://"+randomName("gomirror-test-")+"?endpoint="+ep, mapEnv(env), nil)
	if err != nil {
		t.Fatalf("New with a shared credentials file: %v", err)
	}
	t.Cleanup(func() { removeBucket(t, s) })
	storetest.Put(t, s, "a/b", strings.NewReader("x"))
	storetest.CheckContent(t, s, "a/b", []byte("x"))
}

// TestGetIsOneRequest checks that a hit costs one GET, and that seeking as
// http.ServeContent does costs nothing more.
func TestGetIsOneRequest(t *testing.T) {
	s := newTestStore(t, "", nil)
	data := storetest.Content(1, 1000)
	storetest.Put(t, s, "a/b", bytes.NewReader(data))

	tr, err := minio.DefaultTransport(false)
	if err != nil {
		t.Fatal(err)
	}
	counter := &countingTransport{next: tr}
	ep := testEndpoint(t)
	loc, err := parseURL("s3://" + s.bucket + "?endpoint=" + ep)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := resolveCredentials(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	client, err := minio.New(loc.endpoint.Host, &minio.Options{Creds: creds, Transport: counter, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	counted := &Store{core: minio.Core{Client: client}, bucket: s.bucket, logger: slog.New(slog.DiscardHandler)}

	rc, err := counted.Get(t.Context(), "a/b")
	if err != nil {
		t.Fatal(err)
	}
	rs := rc.(io.ReadSeeker)
	size, err := rs.Seek(0, io.SeekEnd)
	if err != nil || size != int64(len(data)) {
		t.Fatalf("Seek to the end: got %d, %v, want %d", size, err, len(data))
	}
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rs)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadAll: got %d bytes, %v, want %d bytes", len(got), err, len(data))
	}
	if got := counter.requests(); len(got) != 1 || got[0] != "GET" {
		t.Errorf("requests for one hit: got %q, want one GET", got)
	}

	_, err = counted.Get(t.Context(), "a/missing")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Get of a missing object: got %v, want fs.ErrNotExist", err)
	}
	if got := counter.requests(); len(got) != 2 {
		t.Errorf("requests for a hit and a miss: got %q, want two", got)
	}
}

func mapEnv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// countingTransport records the method of each request it sends.
type countingTransport struct {
	next http.RoundTripper

	mu      sync.Mutex
	methods []string
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.methods = append(c.methods, req.Method)
	c.mu.Unlock()
	return c.next.RoundTrip(req)
}

func (c *countingTransport) requests() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.methods)
}

// TestPutLargeFile uploads a file larger than one part from an offset, as
// the server does with a downloaded module zip.
func TestPutLargeFile(t *testing.T) {
	s := newTestStore(t, "", nil)
	data := storetest.Content(3, 2*partSize+12345)
	f, err := os.CreateTemp(t.TempDir(), "zip")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(1000, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	storetest.Put(t, s, "example.com/big/@v/v1.0.0.zip", f)
	storetest.CheckContent(t, s, "example.com/big/@v/v1.0.0.zip", data[1000:])
}

func TestReaderAfterChangeOrClose(t *testing.T) {
	s := newTestStore(t, "", nil)
	const name = "example.com/m/@v/list"
	storetest.Put(t, s, name, bytes.NewReader(storetest.Content(1, 1000)))
	rc, err := s.Get(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	storetest.Put(t, s, name, bytes.NewReader(storetest.Content(2, 1000)))
	if _, err := rc.(io.Seeker).Seek(500, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Read(make([]byte, 10)); err == nil || !strings.Contains(err.Error(), "changed") {
		t.Errorf("Read after Seek of a replaced object: got %v, want an error saying it changed", err)
	}

	rc2, err := s.Get(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	rc2.Close()
	if _, err := rc2.Read(make([]byte, 10)); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("Read after Close: got %v, want fs.ErrClosed", err)
	}
}
